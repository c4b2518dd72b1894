"""Real users whose login shells are sh (dash), bash, zsh, fish and tcsh, on a test sshd.

Each user's profile, written in its shell's own language, puts a Python
venv with Jupyter on PATH and sets JUPYTER_RUNTIME_DIR to a dir of its own:
what jtui must honour by starting Jupyter (and asking for the runtime dir)
through the login shell. The venv is made from the system Python
(/usr/bin/python3, Debian's python3-venv), since the users cannot run a
Python below root's 0700 home; it is made once and kept in /var/tmp.

Making users needs root; elsewhere the tests that need them are
unavailable (skipped locally, failed in CI, see require.py).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.harness.require import unavailable
from tests.harness.sshd import SshServer

SHELLS = {"sh": "/bin/sh", "bash": "/bin/bash", "zsh": "/usr/bin/zsh", "fish": "/usr/bin/fish", "tcsh": "/usr/bin/tcsh"}
VENV_PACKAGES = ("jupyter_server", "ipykernel")
BASE = Path("/var/tmp")


@dataclass
class ShellUser:
    name: str
    shell: str
    home: Path

    @property
    def runtime_dir(self) -> Path:
        """Where the user's profile (and only the profile) says Jupyter's runtime files go."""
        return self.home / "rt-from-profile"

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.name).pw_uid


def profile(shell: str, venv_bin: str) -> tuple[str, str]:
    """(file below HOME, text): the login profile of `shell`, in its own language."""
    if shell == "fish":
        return ".config/fish/config.fish", (
            f"if status is-login\n    set -gx PATH {venv_bin} $PATH\n"
            "    set -gx JUPYTER_RUNTIME_DIR $HOME/rt-from-profile\nend\n"
        )
    if shell == "tcsh":
        return ".login", f"setenv PATH {venv_bin}:$PATH\nsetenv JUPYTER_RUNTIME_DIR $HOME/rt-from-profile\n"
    name = {"sh": ".profile", "bash": ".bash_profile", "zsh": ".zprofile"}[shell]
    return name, (f"PATH={venv_bin}:$PATH; export PATH\n"
                  "JUPYTER_RUNTIME_DIR=$HOME/rt-from-profile; export JUPYTER_RUNTIME_DIR\n")


def setup_line(shell: str, value: str) -> str:
    """A `setup` setting that exports JTUI_SETUP_MARK=value, in `shell`'s language."""
    if shell == "fish":
        return f"set -gx JTUI_SETUP_MARK {value}"
    if shell == "tcsh":
        return f"setenv JTUI_SETUP_MARK {value}"
    return f"JTUI_SETUP_MARK={value}; export JTUI_SETUP_MARK"


def shared_venv() -> Path:
    """A venv with Jupyter that every user can run, made once (under a lock) and reused."""
    if not os.path.exists("/usr/bin/python3"):
        unavailable("/usr/bin/python3 is missing (Debian's python3 and python3-venv)")
    version = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.version)"],
                             capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256((version + " ".join(VENV_PACKAGES)).encode()).hexdigest()[:12]
    venv = BASE / f"jtui-test-venv-{key}"
    with open(BASE / "jtui-test-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ready").exists():
            shutil.rmtree(venv, ignore_errors=True)
            made = subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], capture_output=True, text=True)
            if made.returncode != 0:
                unavailable(f"cannot make a venv with /usr/bin/python3 (install python3-venv): {made.stderr[-300:]}")
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *VENV_PACKAGES], check=True,
                           stdout=subprocess.DEVNULL)
            (venv / "ready").write_text("")
    os.chmod(venv, 0o755)
    return venv


class ShellUsers:
    """One user per shell and an sshd that lets them in; a context manager that removes them after."""

    def __init__(self, tag: str) -> None:
        if os.geteuid() != 0:
            unavailable("making users needs root (CI runs as root)")
        missing = [path for path in SHELLS.values() if not os.path.exists(path)]
        if missing:
            unavailable(f"login shells missing: {', '.join(missing)} (.ci/run installs zsh, fish and tcsh)")
        self.root = BASE / f"jtui-test-shells-{tag}"
        self.users: dict[str, ShellUser] = {}
        self.sshd: SshServer | None = None

    def __enter__(self) -> "ShellUsers":
        venv_bin = str(shared_venv() / "bin")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(mode=0o755)
        for shell, path in SHELLS.items():
            user = ShellUser(f"jtui-t-{shell}", path, self.root / shell)
            self._make_user(user, venv_bin)
            self.users[shell] = user
        self.sshd = SshServer(self.root / "sshd", own_environment=False).start()
        # sshd reads authorized_keys as the user: the harness's own copy is in root's private tmp.
        os.chmod(self.sshd.root, 0o755)
        os.chmod(self.sshd.authorized_keys, 0o644)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.sshd is not None:
            self.sshd.stop()
        for user in self.users.values():
            subprocess.run(["pkill", "-KILL", "-u", user.name], capture_output=True)
            subprocess.run(["userdel", user.name], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def _make_user(self, user: ShellUser, venv_bin: str) -> None:
        subprocess.run(["userdel", user.name], capture_output=True)  # one left by a killed run
        # "*": no password, not locked (useradd's "!" locks the account for sshd without PAM)
        subprocess.run(["useradd", "-M", "-d", str(user.home), "-s", user.shell, "-p", "*", user.name], check=True)
        name, text = profile(user.name.removeprefix("jtui-t-"), venv_bin)
        (user.home / name).parent.mkdir(parents=True, exist_ok=True)
        (user.home / name).write_text(text)
        (user.home / "work").mkdir()
        subprocess.run(["chown", "-R", f"{user.name}:", str(user.home)], check=True)

    def config(self, path: Path) -> Path:
        """An ssh_config with one host per shell, named after it (sh, bash, zsh, fish, tcsh)."""
        assert self.sshd is not None
        text = ""
        for shell, user in self.users.items():
            text += self.sshd.client_config(shell).replace(f"User {self.sshd.user}", f"User {user.name}")
        path.write_text(text)
        return path

