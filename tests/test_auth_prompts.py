"""Passphrases, passwords and one-time codes, asked for only when the user is there.

Encrypted key and password login against the real sshd; keyboard-interactive
with several prompts in one round against an asyncssh server (OpenSSH
without PAM cannot offer it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from jtui.core.model import HostState
from tests.harness.require import unavailable
from tests.harness.sshd import keygen
from tests.test_sessions import session_for

pytestmark = pytest.mark.integration


class ScriptedPrompter:
    """Answers prompts from a list, recording what was asked (None = cancel)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.asked: list[tuple[str, bool]] = []
        self.confirmed: list[str] = []  # fingerprints of the host keys it was shown (and refused)

    async def ask(self, alias, prompt, echo):
        self.asked.append((prompt, echo))
        return self.answers.pop(0) if self.answers else None

    async def confirm_host_key(self, alias, problem):
        self.confirmed.append(problem.fingerprint)
        return False


def encrypted_key_config(sshd, tmp_path, passphrase="correct horse") -> str:
    key = tmp_path / "id_locked"
    pub = keygen(key, "locked", passphrase)
    with open(sshd.authorized_keys, "a") as f:
        f.write(pub + "\n")
    config = tmp_path / "locked.conf"
    config.write_text(sshd.client_config("locked").replace(str(sshd.client_key), str(key)))
    return str(config)


async def test_encrypted_key_waits_for_enter_then_asks(fresh_sshd, tmp_path):
    config = encrypted_key_config(fresh_sshd, tmp_path)
    session, rec = session_for(config, "locked")
    prompter = ScriptedPrompter(["wrong one", "correct horse"])
    session.dialer.prompter = prompter
    session.start(interactive=False)  # as on start-up: nobody is asked anything
    try:
        await rec.wait(lambda: rec.state == HostState.NEEDS_INPUT)
        assert "passphrase" in rec.statuses[-1].reason
        assert prompter.asked == []
        session.reconnect_now(interactive=True)  # the user pressed enter
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        assert len(prompter.asked) == 2
        assert all(not echo for _, echo in prompter.asked)
        assert "wrong" in prompter.asked[1][0]
    finally:
        await session.close()


async def test_cancelled_passphrase_leaves_host_needing_input(fresh_sshd, tmp_path):
    config = encrypted_key_config(fresh_sshd, tmp_path)
    session, rec = session_for(config, "locked")
    session.dialer.prompter = ScriptedPrompter([None])
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state == HostState.NEEDS_INPUT)
        assert "cancelled" in rec.statuses[-1].reason
    finally:
        await session.close()


async def test_three_wrong_passphrases_give_up_with_the_reason(fresh_sshd, tmp_path):
    config = encrypted_key_config(fresh_sshd, tmp_path)
    session, rec = session_for(config, "locked")
    session.dialer.prompter = ScriptedPrompter(["a", "b", "c", "d"])
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state == HostState.NEEDS_INPUT)
        assert "wrong passphrase" in rec.statuses[-1].reason
        assert len(session.dialer.prompter.asked) == 3
    finally:
        await session.close()


# -- password login against the real sshd ---------------------------------------------


@pytest.fixture
def password_user(fresh_sshd):
    """A throw-away local user with a password (root only: CI runs as root)."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        unavailable("the password login test needs root and useradd to create a user")
    name = f"jtpw{uuid.uuid4().hex[:6]}"
    password = f"pw-{uuid.uuid4().hex[:10]}"
    home = fresh_sshd.root / name
    subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/sh", name], check=True)
    try:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        home.mkdir()
        os.chown(home, pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid)
        fresh_sshd.extra_config = "PasswordAuthentication yes\n"
        fresh_sshd.stop_listener()
        fresh_sshd.write_configs()
        fresh_sshd.start()
        config = fresh_sshd.root / "pw.conf"
        text = fresh_sshd.client_config("pwhost", batch=False).replace(f"User {fresh_sshd.user}", f"User {name}")
        text = text.replace(f"IdentityFile {fresh_sshd.client_key}", "IdentityFile /nonexistent/key")
        config.write_text(text)
        yield str(config), password
    finally:
        subprocess.run(["pkill", "-u", name], check=False)
        subprocess.run(["userdel", name], check=False)


async def test_password_login_is_asked_with_echo_off(password_user):
    config, password = password_user
    session, rec = session_for(config, "pwhost")
    prompter = ScriptedPrompter([password])
    session.dialer.prompter = prompter
    session.start(interactive=False)
    try:
        await rec.wait(lambda: rec.state == HostState.NEEDS_INPUT)
        assert prompter.asked == []
        session.reconnect_now(interactive=True)
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        assert prompter.asked[0][1] is False and "Password" in prompter.asked[0][0]
        result = await session.conn.run("id -un")
        assert result.stdout.strip().startswith("jtpw")
    finally:
        await session.close()


async def test_connected_once_asking_on_a_terminal_a_reconnect_asks_there_again(password_user, fresh_sshd):
    """`jtui open` on a password (or one-time code) host: when the link drops, the new login is
    asked for where the first was, instead of waiting for an enter key a command does not have."""
    config, password = password_user
    session, rec = session_for(config, "pwhost")
    session.dialer.prompter = ScriptedPrompter([password, password])  # what TerminalPrompter is to jtui open
    try:
        await session.connect_once()
        session.keep_up()
        assert len(session.dialer.prompter.asked) == 1
        victims = fresh_sshd.connection_pids()
        assert victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        await rec.wait(lambda: rec.state == HostState.RECONNECTING, timeout=60)
        await rec.wait(lambda: rec.state == HostState.CONNECTED, timeout=60)
        assert len(session.dialer.prompter.asked) == 2 and "Password" in session.dialer.prompter.asked[1][0]
        assert (await session.conn.run("id -un")).stdout.strip().startswith("jtpw")
    finally:
        await session.close()


async def test_a_reconnect_of_jtui_open_meeting_an_unknown_host_key_waits_and_says_which(fresh_sshd, tmp_path):
    """The command line accepts no key: nobody is asked, nothing says "refused by you", and the link
    waits with the key's fingerprint (the narrator then says the forward stays down)."""
    config = tmp_path / "asks.conf"
    config.write_text(fresh_sshd.client_config("testhost", batch=False))  # a person's: ssh would ask
    session, rec = session_for(str(config), "testhost")
    prompter = ScriptedPrompter([])
    session.dialer.prompter = prompter  # what TerminalPrompter is to jtui open
    try:
        await session.connect_once()
        session.keep_up()
        Path(fresh_sshd.known_hosts).write_text("")  # the host key is unknown from now on
        for pid in fresh_sshd.connection_pids():
            os.kill(pid, signal.SIGKILL)
        await rec.wait(lambda: rec.state == HostState.NEEDS_INPUT, timeout=60)
        reason = rec.statuses[-1].reason
        assert reason.startswith("unknown host key") and "SHA256:" in reason and "refused" not in reason
        assert prompter.confirmed == []
    finally:
        await session.close()


async def test_wrong_passwords_fail_with_permission_denied(password_user):
    config, _ = password_user
    session, rec = session_for(config, "pwhost")
    session.dialer.prompter = ScriptedPrompter(["nope"] * 10)
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state in (HostState.FAILED, HostState.NEEDS_INPUT), timeout=60)
        assert "permission denied" in rec.statuses[-1].reason
        assert len(session.dialer.prompter.asked) >= 2  # retried up to the server's limit
    finally:
        await session.close()


# -- keyboard-interactive with several prompts (asyncssh server) -----------------------


@pytest.fixture
async def kbdint_server(tmp_path):
    import asyncssh

    host_key = asyncssh.generate_private_key("ssh-ed25519")
    seen: list[list[str]] = []

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username):
            return True

        def kbdint_auth_supported(self):
            return True

        def get_kbdint_challenge(self, username, lang, submethods):
            return ("Two-step login", "Enter both", "en-US", [("Password: ", False), ("Verification code: ", True)])

        def validate_kbdint_response(self, username, responses):
            seen.append(list(responses))
            return list(responses) == ["s3cret", "123456"]

    server = await asyncssh.create_server(
        Server, "127.0.0.1", 0, server_host_keys=[host_key],
        process_factory=lambda process: (process.stdout.write("hi\n"), process.exit(0)),
    )
    port = server.sockets[0].getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    config = tmp_path / "kbd.conf"
    config.write_text(
        f"Host otp\n  HostName 127.0.0.1\n  Port {port}\n  User alice\n"
        f"  UserKnownHostsFile {known}\n  IdentityFile /nonexistent\n  PreferredAuthentications keyboard-interactive\n"
    )
    yield str(config), seen
    server.close()
    await server.wait_closed()


async def test_keyboard_interactive_asks_every_prompt_of_a_round(kbdint_server):
    config, seen = kbdint_server
    session, rec = session_for(config, "otp")
    prompter = ScriptedPrompter(["s3cret", "123456"])
    session.dialer.prompter = prompter
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        assert [echo for _, echo in prompter.asked] == [False, True]
        assert "Password" in prompter.asked[0][0] and "Verification code" in prompter.asked[1][0]
        assert "Two-step login" in prompter.asked[0][0]
        assert seen[-1] == ["s3cret", "123456"]
    finally:
        await session.close()
