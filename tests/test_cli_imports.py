"""`jtui hosts`, `jtui status` and `jtui open` never import Textual: they start in a fraction of the time.

Each runs in a fresh interpreter with an import hook that refuses any
`textual` module, against the real test sshd and a real Jupyter server; a
command that reached for Textual would fail with that refusal.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.jupyter import start_jupyter

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]
NO_TEXTUAL = """
import runpy, sys

class NoTextual:
    def find_spec(self, name, path=None, target=None):
        if name == "textual" or name.startswith("textual."):
            raise ImportError(f"jtui's command line imported {name}")
        return None

sys.meta_path.insert(0, NoTextual())
sys.argv = ["jtui", *sys.argv[1:]]
runpy.run_module("jtui", run_name="__main__")
"""


def jtui(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", NO_TEXTUAL, *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_hosts_and_status_import_no_textual(sshd):
    for args in (("hosts", "--config", str(sshd.config_file)),
                 ("status", "testhost", "--json", "--config", str(sshd.config_file))):
        proc = jtui(*args)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "imported textual" not in err and out.strip()


def test_open_imports_no_textual(sshd, tmp_path):
    server = start_jupyter(sshd.runtime_dir, tmp_path / "nb")
    try:
        proc = jtui("open", "testhost", "--no-browser", "--config", str(sshd.config_file), start_new_session=True)
        try:
            url = proc.stdout.readline().strip()
            assert url.startswith("http://localhost:"), proc.stderr.read() if proc.poll() is not None else url
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert "imported textual" not in err
    finally:
        server.stop()
