"""Every install and command-line example of the README, run as written, where it says to run it.

The commands are read from README.md (the Install table and the Command line
section), not copied here, and run in a fresh copy of the checkout with an
empty HOME, each install in a new environment: a README line that stops
working fails this test. (The first command, `... && .venv/bin/jtui --demo`,
has a test of its own in a real terminal: test_first_run.py.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.http import api_status
from tests.harness.newcomer import fresh_checkout, newcomer_env, pip_config_file
from tests.harness.sshd import stop_pid
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 600


def readme_section(title: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\b.*?(?=^## )", text, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(0)


def install_row(how: str) -> list[str]:
    """The inline commands (`...`) of the Install table row for `how` (its first cell's first words)."""
    for line in readme_section("Install").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and re.split(r"[,(]", cells[0])[0].strip() == how:
            return [c for c in re.findall(r"`([^`]+)`", cells[1] + " " + cells[2]) if not c.startswith("-")]
    raise AssertionError(f"no Install row for {how!r}")


def example_commands() -> list[str]:
    """The ```sh lines of the Command line section."""
    block = re.search(r"^```sh\n(.*?)^```", readme_section("Command line"), re.M | re.S)
    assert block, "the Command line section has no ```sh block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory):
    """A fresh checkout, an empty HOME and a newcomer's environment (pip's config kept)."""
    root = tmp_path_factory.mktemp("newcomer")
    checkout = root / "jtui"
    fresh_checkout(checkout)
    (root / "home").mkdir()
    (root / "tmp").mkdir()
    env = newcomer_env(root / "home", root / "tmp", pip_config_file(root / "pip.conf"))
    return checkout, env


def sh(command: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    done = subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"`{command}` failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def with_path(env: dict[str, str], folder: Path) -> dict[str, str]:
    return dict(env, PATH=f"{folder}{os.pathsep}{env['PATH']}")


def test_pip_row_installs_and_the_command_line_examples_work_on_this_machine(newcomer, tmp_path):
    checkout, env = newcomer
    install, *then = install_row("pip")
    assert install == "pip install '.[demo]'"
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "env")], check=True)
    env = with_path(env, tmp_path / "env" / "bin")  # "the active environment"
    sh(install, checkout, env, INSTALL_TIMEOUT)
    for run in then:
        if run.startswith(("jtui", "python -m jtui")):
            assert sh(f"{run} --version", checkout, env).stdout.startswith("jtui ")

    status, opening = example_commands()
    assert status == "jtui status --demo"
    out = sh(status, checkout, env, 120)
    assert out.stdout.startswith("demo\n") and "cpu" in out.stdout
    assert opening.startswith("jtui open --demo")
    proc = subprocess.Popen(["sh", "-c", f"exec {opening}"], cwd=checkout, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    runtime = Path(env["HOME"]) / ".local/share/jupyter/runtime"
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://localhost:"), proc.stderr.read() if proc.poll() is not None else url
        assert api_status(url) == 200
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for started in runtime.glob("jpserver-*.json"):  # the server `open` started keeps running: ours to stop
            stop_pid(json.loads(started.read_text())["pid"])


def test_pipx_row_installs_and_injects_jupyterlab(newcomer, tmp_path):
    checkout, env = newcomer
    install, run, inject = install_row("pipx")
    assert (install, run, inject) == ("pipx install .", "jtui", "pipx inject jtui jupyterlab")
    tools = tmp_path / "tools"
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
    sh(f"{tools}/bin/pip install -q pipx", checkout, env, INSTALL_TIMEOUT)  # pipx itself, as the user has it
    env = with_path(env, tools / "bin")
    env = dict(env, PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"))
    env = with_path(env, tmp_path / "bin")
    sh(install, checkout, env, INSTALL_TIMEOUT)
    assert sh(f"{run} --version", checkout, env).stdout.startswith("jtui ")
    sh(inject, checkout, env, INSTALL_TIMEOUT)
    wait_until((tmp_path / "pipx" / "venvs" / "jtui" / "bin" / "jupyter-lab").exists, 5, "JupyterLab next to jtui")
