"""Secrets and trust: tokens, passphrases and passwords never reach a file; host keys as OpenSSH.

Real flows against the real sshd with jtui's log active (setup_logging):
an encrypted key unlocked through the prompter, an unknown host key
accepted, a Jupyter server started, forwarded and opened through its
token URL, a password login; then every file under the XDG config, state
(and log), data and cache dirs is read and must not hold any secret, and
the log and state files must be private (0600 in 0700 directories).

Then the host key paths: unknown (refused, accepted), changed, port-less
entries, and `jtui status` which never accepts a key. OpenSSH is the oracle
where it has an opinion.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from jtui.core import logs, paths
from jtui.core.hostkeys import UNKNOWN
from jtui.core.logs import scrub, setup_logging
from jtui.core.model import HostState
from jtui.core.paths import own_known_hosts
from jtui.core.link import ConnectFailed
from jtui.core.session import HostSession
from jtui.core.settings import HostSettings
from jtui.core.urls import localhost_url
from tests.harness.http import api_status
from tests.harness.sshd import keygen
from tests.test_auth_prompts import password_user  # noqa: F401  (a fixture, shared)
from tests.test_sessions import Recorder

REPO = Path(__file__).resolve().parent.parent



# -- helpers ------------------------------------------------------------------------------


class Prompter:
    """Answers prompts from a list and host keys with `accept`; records what it was asked."""

    def __init__(self, answers=(), accept: bool = False) -> None:
        self.answers = list(answers)
        self.accept = accept
        self.asked: list[tuple[str, bool]] = []
        self.keys: list = []

    async def ask(self, alias, prompt, echo):
        self.asked.append((prompt, echo))
        return self.answers.pop(0) if self.answers else None

    async def confirm_host_key(self, alias, problem):
        self.keys.append(problem)
        return self.accept


def make_session(config, alias="testhost", prompter=None, refresh=0.3, **settings) -> tuple[HostSession, Recorder]:
    rec = Recorder()
    host = HostSettings(**{"jupyter": "jupyter server", "root_dir": "~", "autoconnect": True, **settings})
    return HostSession(alias, [str(config)], host, refresh, rec, prompter), rec


def fingerprint(pub_file: Path) -> str:
    """SHA256:... of a public key, as OpenSSH prints it (the oracle, not jtui's code)."""
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub_file)], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in sorted(root.rglob("*")) if p.is_file()]


def assert_no_secret_in_files(roots: list[Path], secrets: dict[str, str]) -> list[Path]:
    """Read every file under `roots` (bytes, as any reader would) and look for every secret."""
    found = files_under(*roots)
    leaks = []
    for path in found:
        data = path.read_bytes()
        for name, value in secrets.items():
            for form in {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}:
                if form.encode() in data:
                    leaks.append(f"{name} in {path}")
    assert not leaks, leaks
    return found


def xdg_roots() -> list[Path]:
    return [Path(os.environ[v]) for v in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")]


def write_unknown_key_config(sshd, tmp_path: Path, alias: str = "testhost", identity: Path | None = None) -> tuple[Path, Path]:
    """A client config whose only known_hosts file (empty) does not know the server."""
    user_known = tmp_path / "user_known_hosts"
    user_known.write_text("")
    text = sshd.client_config(alias).replace(f"UserKnownHostsFile {sshd.known_hosts}", f"UserKnownHostsFile {user_known}")
    if identity is not None:
        text = text.replace(f"IdentityFile {sshd.client_key}", f"IdentityFile {identity}")
    config = tmp_path / f"{alias}.conf"
    config.write_text(text)
    return config, user_known


@pytest.fixture
def jtui_log(monkeypatch):
    """jtui's real log, as the app sets it up, rotated often (small files) to test rotation too."""
    monkeypatch.setattr(logs, "MAX_BYTES", 600)
    monkeypatch.setattr(logs, "BACKUPS", 100)  # keep every rotated file: all of them are checked
    saved = {}
    for name in ("jtui", "asyncssh", None):
        logger = logging.getLogger(name)
        saved[name] = (logger.level, list(logger.handlers), logger.propagate)
    hook = sys.unraisablehook
    path = setup_logging(logging.DEBUG)
    yield path
    sys.unraisablehook = hook
    logging.captureWarnings(False)
    for name, (level, handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def log_text(log_path: Path) -> str:
    """The current log and every rotated one."""
    return "".join(f.read_text() for f in sorted(log_path.parent.glob(logs.LOG_NAME + "*")))


def assert_private(log_path: Path) -> None:
    """Log files and jtui's state are 0600, in 0700 directories (every dir jtui made)."""
    log_files = sorted(log_path.parent.glob(logs.LOG_NAME + "*"))
    assert log_files, "the log was never written"
    for f in log_files:
        assert mode(f) == "0o600", f
    for directory in {paths.log_dir(), paths.state_dir()}:
        assert mode(directory) == "0o700", directory
    for f in files_under(paths.state_dir()):
        assert mode(f) == "0o600", f


def test_every_record_is_written_once(jtui_log):
    """jtui's records reach the file through one handler: seen doubled in a real session's log."""
    marker = uuid.uuid4().hex
    logging.getLogger("jtui.core.session").info("info %s", marker)
    logging.getLogger("jtui.core.link").warning("warning %s", marker)
    logging.getLogger("asyncssh").warning("asyncssh %s", marker)
    logging.getLogger("some.library").warning("library %s", marker)
    text = log_text(jtui_log)
    for what in ("info", "warning", "asyncssh", "library"):
        assert text.count(f"{what} {marker}") == 1, (what, text)


# -- real flows, then every file ----------------------------------------------------------



@pytest.mark.integration
async def test_real_flows_leave_no_secret_in_any_file(fresh_sshd, tmp_path, jtui_log):
    passphrase = f"pass phrase {uuid.uuid4().hex[:12]}"
    key = tmp_path / "id_locked"
    with open(fresh_sshd.authorized_keys, "a") as f:
        f.write(keygen(key, "locked", passphrase) + "\n")
    config, user_known = write_unknown_key_config(fresh_sshd, tmp_path, identity=key)
    (fresh_sshd.home / "nb").mkdir()
    prompter = Prompter([passphrase], accept=True)
    session, rec = make_session(config, prompter=prompter, root_dir="~/nb")
    session.start(interactive=True)  # the user pressed enter: passphrase and host key asked
    secrets: dict[str, str] = {"passphrase": passphrase}
    try:
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        assert [p.kind for p in prompter.keys] == [UNKNOWN]
        assert prompter.asked and "Passphrase" in prompter.asked[0][0]

        started = await session.start_jupyter()
        server = started.server
        secrets["token"] = server.token
        assert len(server.token) >= 32
        forward = await session.forward(server)
        url = localhost_url(server, forward.local_port)
        assert await asyncio.to_thread(api_status, url) == 200
        await rec.wait(lambda: any(s.pid == server.pid for x in rec.samples[-1:] for s in x.servers))

        # what a careless line of code, or a library, might log: it must come out scrubbed
        careless = logging.getLogger("jtui.careless")
        careless.info("opened %s", url)
        careless.info("headers %s", {"Authorization": f"token {server.token}"})
        careless.warning("unlock with %r", passphrase)
        careless.debug('runtime {"token": "%s", "port": %d}', server.token, server.port)
        logging.getLogger("asyncssh").error("channel said %s", url)
        try:
            raise RuntimeError(f"request to {url} failed")
        except RuntimeError:
            careless.exception("with a traceback")

        # `jtui status`, its own process with its own log, on the same XDG dirs
        status = subprocess.run(
            [sys.executable, "-m", "jtui", "status", "testhost", "--json", "--config", str(fresh_sshd.config_file)],
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )
        assert status.returncode == 0, status.stderr
        assert str(server.port) in status.stdout
        assert server.token not in status.stdout + status.stderr

        await session.stop_jupyter(server)
    finally:
        await session.close()

    assert user_known.read_text() == "", "the user's known_hosts is never written"
    assert own_known_hosts().is_file()
    text = log_text(jtui_log)
    assert "forward 127.0.0.1" in text and "accepted ED25519 key" in text, "the flows were logged"
    assert "***" in text
    found = assert_no_secret_in_files(xdg_roots(), secrets)
    assert own_known_hosts() in found and jtui_log in found
    assert len(list(jtui_log.parent.glob("jtui.log.*"))) >= 1, "the log rotated (small files in this test)"
    assert_private(jtui_log)


@pytest.mark.integration
async def test_password_login_leaves_no_password_in_any_file(password_user, jtui_log):  # noqa: F811
    config, password = password_user
    prompter = Prompter([password])
    session, rec = make_session(config, "pwhost", prompter=prompter)
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        assert prompter.asked and prompter.asked[0][1] is False
        logging.getLogger("jtui.careless").info("logged in with password %s", password)
        assert (await session.conn.run("echo ok")).stdout.strip() == "ok"
    finally:
        await session.close()
    assert "***" in log_text(jtui_log)
    assert_no_secret_in_files(xdg_roots(), {"password": password})
    assert_private(jtui_log)


# -- scrub on hostile input (no network) -----------------------------------------------------

TOKEN = "3f9c1e0b7a4d2c68e5b1f0a9d8c7b6a5e4d3c2b1a0f9e8d7"


def test_a_server_logs_tail_is_shown_without_its_token():
    """Jupyter prints its URLs, token included, at start: the tail a failed start shows must not."""
    from jtui.core.jupyter import StartError

    tail = f"[I ServerApp] Jupyter Server 2.21 is running at:\n    http://127.0.0.1:8888/?token={TOKEN}\n[C] boom"
    error = StartError("it stopped", tail, log_path="~/.local/state/jtui/jupyter-1.log")
    assert TOKEN not in str(error) and TOKEN not in error.log_tail
    assert "http://127.0.0.1:8888/?token=***" in str(error) and "[C] boom" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        f"http://localhost:8888/lab?token={TOKEN}",
        f"http://localhost:8888/lab/tree/x.ipynb?foo=1&token={TOKEN}&bar=2",
        f"http://127.0.0.1:8888/?TOKEN={TOKEN}#frag",
        f"GET /api/status?token={TOKEN} HTTP/1.1",
        f"'http://localhost:8888/?token={TOKEN}'",
        f"<http://localhost:8888/?token={TOKEN}>",
        f"/login?next=%2Flab%3Ftoken%3D{TOKEN}",
        f"Authorization: token {TOKEN}",
        f"authorization:Token   {TOKEN}",
        f"Authorization: Bearer {TOKEN}",
        f"{{'Authorization': 'token {TOKEN}'}}",
        f'{{"Authorization": "Bearer {TOKEN}"}}',
        f'{{"token": "{TOKEN}"}}',
        f'{{"token":"{TOKEN}","port":8888}}',
        f'{{\n  "base_url": "/",\n  "token": "{TOKEN}",\n  "pid": 1\n}}',
        f"{{'token': '{TOKEN}'}}",
        f"token: {TOKEN}",
        f"JUPYTER_TOKEN={TOKEN}",
        f"export JUPYTER_TOKEN='{TOKEN}'",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.token={TOKEN} --port=0",
        f"line one\nurl=http://localhost:1/?token={TOKEN}\nline three",
    ],
)
def test_scrub_blanks_tokens_in_hostile_text(text):
    out = scrub(text)
    assert TOKEN not in out, out
    assert TOKEN[:12] not in out, out  # no half-scrubbed token either
    assert "***" in out


@pytest.mark.parametrize(
    "token",
    ["short", "p@ss w0rd!", "tok\"en", "a&b=c d", "ünïcødé-tøken"],
    ids=["short", "symbols", "quote", "url-specials", "unicode"],
)
def test_scrub_blanks_any_json_token_value(token):
    """A token set by hand can be anything; in JSON it is the whole string value."""
    import json

    text = json.dumps({"token": token, "port": 8888})
    out = scrub(text)
    assert json.dumps(token)[1:-1] not in out, out
    assert '"port": 8888' in out


def test_scrub_keeps_ordinary_text():
    for text in (
        "forward 127.0.0.1:8888 -> 127.0.0.1:8888",
        "tokens: 3 left",
        "jupyter pid 1234 up on remote port 8890",
        "gpu-box: connection refused",
    ):
        assert scrub(text) == text


def test_scrub_registered_secrets_with_regex_characters():
    secret = f"(a+)*[{uuid.uuid4().hex}]$"
    logs.register_secret(secret)
    assert scrub(f"password was {secret}!") == "password was ***!"
    logs.register_secret("abc")  # too short to scrub safely: ignored, text untouched
    assert scrub("abcdef") == "abcdef"


def test_scrub_huge_input_is_linear_and_complete():
    text = ("token=" + "a" * 10_000 + " ") * 50 + "x" * 1_000_000 + f"?token={TOKEN}"
    out = scrub(text)
    assert TOKEN not in out and "a" * 100 not in out


def test_log_records_are_scrubbed_including_tracebacks(jtui_log):
    log = logging.getLogger("jtui.hostile")
    log.info("url %s", f"http://localhost:8888/?token={TOKEN}")
    log.info({"token": TOKEN})  # a non-string message
    try:
        raise ValueError(f"http://localhost:8888/?token={TOKEN}")
    except ValueError:
        log.exception("failed")
    log.warning("where", stack_info=True)
    logging.getLogger("asyncssh").warning("Authorization: token %s", TOKEN)
    text = log_text(jtui_log)
    assert TOKEN not in text, text
    assert "Traceback" in text and "ValueError" in text
    assert_private(jtui_log)


# -- host keys against the real sshd -----------------------------------------------------------


@pytest.mark.integration
async def test_unknown_key_refused_fails_not_trusted(sshd, tmp_path):
    config, user_known = write_unknown_key_config(sshd, tmp_path)
    prompter = Prompter(accept=False)
    session, rec = make_session(config, prompter=prompter)
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state == HostState.FAILED)
        assert "host key not trusted" in rec.statuses[-1].reason
        [problem] = prompter.keys
        assert problem.kind == UNKNOWN and problem.key_type == "ED25519"
        assert problem.fingerprint == fingerprint(Path(f"{sshd.host_key}.pub"))
        assert problem.name == f"[127.0.0.1]:{sshd.port}"
        assert session.conn is None
    finally:
        await session.close()
    assert not own_known_hosts().exists()
    assert user_known.read_text() == ""


@pytest.mark.integration
async def test_the_screen_names_one_key_for_an_unknown_host_key(sshd, tmp_path):
    """The header says enter reviews the key; the pane below does not add another instruction."""
    from jtui.app import build_app
    from tests.ui_helpers import record, until

    config, _ = write_unknown_key_config(sshd, tmp_path)
    app = build_app([str(config)])
    async with app.run_test(size=(120, 30)):
        await until(lambda: record(app, "testhost").status.state == HostState.NEEDS_INPUT, what="the unknown key")
        detail = app.host_screen.detail
        assert "press enter to review it" in str(detail.query_one("#detail-header").render())
        assert "press" not in str(detail.query_one("#detail-stats").render())


@pytest.mark.integration
async def test_unknown_key_accepted_is_recorded_in_jtuis_own_file(sshd, tmp_path):
    config, user_known = write_unknown_key_config(sshd, tmp_path)
    before = user_known.stat()
    prompter = Prompter(accept=True)
    session, rec = make_session(config, prompter=prompter)
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state == HostState.CONNECTED)
        assert len(prompter.keys) == 1
    finally:
        await session.close()
    own = own_known_hosts()
    assert own == paths.state_dir() / "known_hosts"
    key_type, key_b64 = sshd.host_public_key.split()[:2]
    assert own.read_text() == f"[127.0.0.1]:{sshd.port} {key_type} {key_b64}\n"
    assert mode(own) == "0o600" and mode(own.parent) == "0o700"
    after = user_known.stat()
    assert user_known.read_text() == "" and (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)

    # the recorded key is trusted from now on, without asking, by jtui ...
    again, rec2 = make_session(config, prompter=Prompter(accept=False))
    again.start(interactive=False)
    try:
        await rec2.wait(lambda: rec2.state == HostState.CONNECTED)
        assert again.dialer.prompter.keys == []
    finally:
        await again.close()
    # ... and by OpenSSH reading the same line (the format is OpenSSH's)
    ssh = subprocess.run(
        ["ssh", "-F", str(config), "-o", f"UserKnownHostsFile={own}", "-o", "StrictHostKeyChecking=yes", "testhost", "true"],
        capture_output=True, text=True, timeout=30,
    )
    assert ssh.returncode == 0, ssh.stderr


@pytest.mark.integration
async def test_changed_key_fails_loudly_naming_file_line_and_never_asks(sshd, tmp_path):
    other = tmp_path / "other_host_key"
    other_pub = keygen(other, "impostor")
    known = tmp_path / "known_hosts"
    known.write_text(f"# an old line\nexample.org {other_pub}\n[127.0.0.1]:{sshd.port} {other_pub}\n")
    config = tmp_path / "changed.conf"
    config.write_text(sshd.client_config("testhost").replace(str(sshd.known_hosts), str(known)))
    prompter = Prompter(accept=True)  # would accept anything: it must never be asked
    session, rec = make_session(config, prompter=prompter)
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state == HostState.FAILED)
        reason = rec.statuses[-1].reason
        assert f"{known}:3" in reason and "CHANGED" in reason
        assert fingerprint(Path(f"{sshd.host_key}.pub")) in reason
        explained = "\n".join(rec.notices)
        assert "man-in-the-middle" in explained and f"{known}:3" in explained
        remedy = f"ssh-keygen -f {known} -R '[127.0.0.1]:{sshd.port}'"  # shell-quoted: pasted as it is
        assert remedy in explained and remedy in reason  # the pane keeps it after the notice has gone
        assert prompter.keys == [] and prompter.asked == []
        assert session.conn is None
        await asyncio.sleep(1.5)  # no retry loop that could end up connecting
        assert rec.state == HostState.FAILED and prompter.keys == []
    finally:
        await session.close()
    assert not own_known_hosts().exists()
    assert known.read_text().count(other_pub) == 2

    # connect_once (jtui status/open) gives the same explanation
    once, _ = make_session(config)
    with pytest.raises(ConnectFailed) as failed:
        await once.connect_once()
    await once.close()
    assert f"{known}:3" in str(failed.value) and "ssh-keygen" in str(failed.value) and " -R " in str(failed.value)

    # OpenSSH agrees, on the same line
    ssh = subprocess.run(["ssh", "-F", str(config), "testhost", "true"], capture_output=True, text=True, timeout=30)
    assert ssh.returncode != 0
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in ssh.stderr and f"{known}:3" in ssh.stderr

    # The command jtui shows, run as the user would paste it, forgets exactly that key
    subprocess.run(["sh", "-c", remedy], check=True, capture_output=True, timeout=30)
    assert f"[127.0.0.1]:{sshd.port}" not in known.read_text() and f"example.org {other_pub}" in known.read_text()


@pytest.mark.integration
async def test_key_recorded_without_port_is_not_trusted_for_another_port(sshd, tmp_path):
    """jtui matches `[host]:port` exactly: a port-less line is a different host.

    OpenSSH itself is looser here (since 2006, "checking without port identifier"):
    for a host it does not know under `[host]:port`, it accepts the same key
    recorded under the bare `host`. jtui asks instead: stricter, never weaker.
    """
    known = tmp_path / "known_hosts"
    known.write_text(f"127.0.0.1 {sshd.host_public_key}\nlocalhost {sshd.host_public_key}\n")
    config = tmp_path / "noport.conf"
    config.write_text(sshd.client_config("testhost").replace(str(sshd.known_hosts), str(known)))

    session, rec = make_session(config, prompter=Prompter(accept=False))
    session.start(interactive=False)  # nobody there: the host waits for the user
    try:
        await rec.wait(lambda: rec.state in (HostState.NEEDS_INPUT, HostState.FAILED, HostState.CONNECTED))
        assert rec.state == HostState.NEEDS_INPUT
        assert "unknown host key" in rec.statuses[-1].reason
        session.reconnect_now(interactive=True)
        await rec.wait(lambda: rec.state == HostState.FAILED)
        [problem] = session.dialer.prompter.keys
        assert problem.kind == UNKNOWN, "a different port is a different host, not a changed key"
        assert problem.name == f"[127.0.0.1]:{sshd.port}"
    finally:
        await session.close()
    assert not own_known_hosts().exists()

    # where OpenSSH falls back to the port-less line, it only ever does so for the very same key
    ssh = subprocess.run(
        ["ssh", "-v", "-F", str(config), "-o", "StrictHostKeyChecking=yes", "testhost", "true"],
        capture_output=True, text=True, timeout=30,
    )
    assert ssh.returncode == 0 and "found matching key w/out port" in ssh.stderr, ssh.stderr[-2000:]

    # a *different* key on the port-less line: unknown for both (neither calls it changed)
    other_pub = keygen(tmp_path / "other", "impostor")
    known.write_text(f"127.0.0.1 {other_pub}\n")
    session, rec = make_session(config, prompter=Prompter(accept=False))
    session.start(interactive=True)
    try:
        await rec.wait(lambda: rec.state == HostState.FAILED)
        [problem] = session.dialer.prompter.keys
        assert problem.kind == UNKNOWN and problem.offending == ()
    finally:
        await session.close()
    ssh = subprocess.run(
        ["ssh", "-F", str(config), "-o", "StrictHostKeyChecking=yes", "testhost", "true"],
        capture_output=True, text=True, timeout=30,
    )
    assert ssh.returncode != 0 and "Host key verification failed" in ssh.stderr
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" not in ssh.stderr


@pytest.mark.integration
@pytest.mark.parametrize("case", ["unknown", "changed"])
def test_jtui_status_never_accepts_a_key(sshd, tmp_path, case):
    if case == "unknown":
        config, _ = write_unknown_key_config(sshd, tmp_path)
    else:
        other_pub = keygen(tmp_path / "other", "impostor")
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{sshd.port} {other_pub}\n")
        config = tmp_path / "changed.conf"
        config.write_text(sshd.client_config("testhost").replace(str(sshd.known_hosts), str(known)))
    result = subprocess.run(
        [sys.executable, "-m", "jtui", "status", "testhost", "--config", str(config)],
        capture_output=True, text=True, timeout=60, cwd=REPO, stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert fingerprint(Path(f"{sshd.host_key}.pub")) in result.stderr
    assert result.stdout.strip() == ""
    if case == "unknown":
        assert "can't be established" in result.stderr and "never accept" in result.stderr
    else:
        assert "ssh-keygen" in result.stderr and f"{known}:1" in result.stderr
    assert not own_known_hosts().exists(), "a key is never recorded without the user"


def test_library_warnings_reach_the_log_and_never_the_terminal(jtui_log, capfd):
    """What printed "Unknown child process pid ..." on the terminal after q now lands in the log."""
    import warnings

    logging.getLogger("asyncio").warning("Unknown child process pid %d, will report returncode 255", 12911)
    warnings.warn("coroutine 'Queue.join' was never awaited", RuntimeWarning, stacklevel=1)
    sys.unraisablehook(type("U", (), {"err_msg": "Exception ignored in", "object": "a transport",
                                      "exc_type": None, "exc_value": None, "exc_traceback": None})())
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    text = log_text(jtui_log)
    assert "Unknown child process pid 12911" in text and "never awaited" in text and "a transport" in text
