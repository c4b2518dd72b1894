"""OpenSSH is the oracle: `jtui hosts --json` must agree with `ssh -G` on every alias.

Each case is a config (plus the files it includes) written into a sandbox
HOME. The real CLI runs in a subprocess; for every alias it lists, `ssh -G -v
-F FILE ALIAS` must give the same hostname, user, port, proxyjump, identity
files, known_hosts files and timeouts, and its debug log must show that the
Host line jtui names (file and line) is one OpenSSH applies to that alias.
The alias list itself is written out in each case, and every Host word jtui
refuses to list must be one `ssh` refuses as a destination.

Configs OpenSSH rejects are checked the other way round: ssh -G fails, and
jtui names the same file and line on stderr while still listing the hosts.

Sandbox notes: OpenSSH resolves `Include` below $HOME, but expands `~` and
`%d` in file options from the passwd database, and asyncssh from $HOME.
They agree whenever HOME is the user's home; here HOME is a temporary
directory on purpose, so `_normal_path` maps the passwd home onto it.
"""

from __future__ import annotations

import getpass
import json
import os
import pwd
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jtui.core.resolve import DEFAULT_KEEPALIVE_INTERVAL

ROOT = Path(__file__).resolve().parents[1]
PW_HOME = pwd.getpwuid(os.getuid()).pw_dir
LOCAL_USER = getpass.getuser()
DEFAULT_IDENTITIES = [
    f"~/.ssh/{name}"
    for name in ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss", "id_dsa")
]


@dataclass
class Case:
    id: str
    config: str
    aliases: list[str]
    # Other files: "~/..." lands in the sandbox HOME, "{tmp}/..." next to it.
    files: dict[str, str] = field(default_factory=dict)
    # Host words jtui must not list, because ssh refuses them as a destination.
    refused: list[str] = field(default_factory=list)
    # jtui must report a problem at CONFIG:line (or "file:line" for another file).
    problems: list[str] = field(default_factory=list)
    ssh_rejects: bool = False  # ssh -G refuses the whole config
    resolve_error: str | None = None  # every alias resolves to an error saying this
    # A construct jtui cannot read as OpenSSH does, at this CONFIG line: reported, and the
    # aliases it applies to are marked broken (never dialled) instead of resolved differently.
    unreadable: int | None = None
    xfail: str | None = None


def cfg(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


CASES = [
    Case(
        "several-aliases-per-line",
        cfg("""
            Host gpu-box gpu gpu.lab
                HostName gpu-box.lab.example
                User alice
                Port 2222
            Host lab
                HostName 10.0.0.12
            """),
        ["gpu-box", "gpu", "gpu.lab", "lab"],
    ),
    Case(
        "equals-syntax",
        cfg("""
            Host=eq1
                HostName=eq1.example.org
            Host = eq2 eq3
                User = bob
                Port= 2201
                HostName =%h.example.net
            Host eq4
                User=carol
                ProxyJump = gw.example.net
            """),
        ["eq1", "eq2", "eq3", "eq4"],
    ),
    Case(
        "quoted-values",
        cfg("""
            Host "q1" 'q2'
                User "carol"
                HostName "q.example.org"
                IdentityFile "~/.ssh/my key"
            Host "q 4" q3
                User 'dave'
                Port "2022"
            """),
        ["q1", "q2", "q3"],
        refused=["q 4"],
        problems=["CONFIG:5"],
    ),
    Case(
        "keywords-in-odd-case",
        cfg("""
            hOsT oc1 OC2
                HOSTNAME Oc.Example.ORG
                uSeR Eve
                pOrT 2022
                PROXYjump Jump.Example
                identityFILE ~/.ssh/Id_Eve
            """),
        ["oc1", "OC2"],
    ),
    Case(
        "first-value-wins-over-host-star",
        cfg("""
            Host fv1
                User first
            Host fv2
                Port 2100
            Host fv3
                HostName fv3.example
            Host *
                User default
                Port 2200
                HostName star.example
            """),
        ["fv1", "fv2", "fv3"],
    ),
    Case(
        "host-star-first-overrides-later",
        cfg("""
            Host *
                User everyone
            Host hs1
                User ignored
                HostName hs1.example
            """),
        ["hs1"],
    ),
    Case(
        "global-options-before-any-host",
        cfg("""
            # options before the first Host apply to every host
            User globaluser
            Port 2022
            Host g1
                User ignored
                HostName g1.example
            """),
        ["g1"],
    ),
    Case(
        "wildcards-add-settings",
        cfg("""
            Host gw.lab
                ProxyJump none
            Host *.lab gpu-?
                ProxyJump gw.lab
                User labber
            Host gpu-1 gpu-22 node.lab gw.lab
                Port 2222
            """),
        ["gw.lab", "gpu-1", "gpu-22", "node.lab"],
    ),
    Case(
        "negated-patterns",
        cfg("""
            Host *.example !gw.example
                ProxyJump gw.example
            Host !skip *
                User most
            Host gw.example app.example db.example skip keep
                ServerAliveInterval 30
            """),
        ["gw.example", "app.example", "db.example", "skip", "keep"],
    ),
    Case(
        "batch-mode",
        cfg("""
            Host script-box
                BatchMode yes  # cron runs this one
            Host person-box
                BatchMode no
            Host truthy-box
                BatchMode True
            Host *
                BatchMode yes
            Host other-box
            """),
        ["script-box", "person-box", "truthy-box", "other-box"],
    ),
    Case(
        "match-host-after-hostname",
        cfg("""
            Host m1
                HostName m1.corp.example
            Host m2
                HostName m2.home.example
            Match host *.corp.example
                User corpuser
                Port 2200
            Host m3.corp.example
            """),
        ["m1", "m2", "m3.corp.example"],
    ),
    Case(
        "match-originalhost-and-negation",
        cfg("""
            Host mo1 mo2 mo3
                HostName shared.example
            Match originalhost mo1,mo2 !originalhost mo2
                User orig
            Match !originalhost mo1
                Port 2300
            """),
        ["mo1", "mo2", "mo3"],
    ),
    Case(
        "match-all",
        cfg("""
            Host ma1
                User first
            Match all
                Port 2022
                User later
            Host ma2
                HostName ma2.example
            """),
        ["ma1", "ma2"],
    ),
    Case(
        "match-user-and-localuser",
        cfg(f"""
            Host mu1
                User alice
            Match user alice
                Port 2100
            Match localuser {LOCAL_USER}
                ServerAliveInterval 30
            Host mu2
            """),
        ["mu1", "mu2"],
    ),
    Case(
        "match-exec",
        cfg("""
            Match exec true
                Port 2300
            Match exec false
                User never
            Host me1 me2
                HostName me.example
            """),
        ["me1", "me2"],
    ),
    Case(
        "proxyjump-forms",
        cfg("""
            Host pj1
                ProxyJump alice@bastion.example:2222
            Host pj2
                ProxyJump hop1,hop2.example
            Host pj3
                ProxyJump none
            Host *
                ProxyJump fallback.example
            """),
        ["pj1", "pj2", "pj3"],
    ),
    Case(
        "hostname-tokens",
        cfg("""
            Host *.short
                HostName %h.example.org
            Host web.short db.short
            Host ht1
                HostName %h.internal.example
            """),
        ["web.short", "db.short", "ht1"],
    ),
    Case(
        "mixed-case-aliases",
        cfg("""
            Host MyBox
                User mixed
            Match host mybox
                Port 2200
            Host Other.Example
                HostName Other.Example
            Match originalhost OTHER.example
                User other
            """),
        ["MyBox", "Other.Example"],
    ),
    Case(
        "identity-files",
        cfg("""
            Host id1
                User ida
                IdentityFile ~/.ssh/id_one
                IdentityFile %d/.ssh/id_two
                IdentityFile /keys/id_%r@%h
                IdentitiesOnly yes
            Host id2
                IdentityFile ~/.ssh/id_two
            Host *
                IdentityFile ~/.ssh/id_common
            """),
        ["id1", "id2"],
    ),
    Case(
        "known-hosts-and-timeouts",
        cfg("""
            Host kt1
                UserKnownHostsFile ~/.ssh/kh_a /etc/ssh/kh_b
                ConnectTimeout 7
                ServerAliveInterval 15
                ServerAliveCountMax 4
            Host kt2
                UserKnownHostsFile /dev/null
            Host kt3
                UserKnownHostsFile none
            """),
        ["kt1", "kt2", "kt3"],
    ),
    Case(
        "trailing-comments",
        cfg("""
            Host tc1 tc2 # two boxes
                HostName tc.example   # the real one
                Port 2222 #old port
                User tc#1
            Host tc3#x
            Host two # two is a comment word above, not a name
                User two
            """),
        ["tc1", "tc2", "tc3#x", "two"],
    ),
    Case(
        "tabs-and-crlf",
        "Host\ttab1 tab2\r\n\tHostName\ttab.example\r\n\tUser\tt\r\n",
        ["tab1", "tab2"],
    ),
    Case(
        "include-relative-glob",
        cfg("""
            Include conf.d/*.conf
            Host main1
                User main
            """),
        ["inc-a", "inc-b", "main1"],
        files={
            "~/.ssh/conf.d/10-a.conf": "Host inc-a\n    HostName a.example\n",
            "~/.ssh/conf.d/20-b.conf": "Host inc-b inc-a\n    User b\n",
            "~/.ssh/conf.d/README": "Host not-a-conf\n",
        },
    ),
    Case(
        "include-glob-sorted",
        # Files written in reverse order: directory order is not sorted order.
        cfg("""
            Host so1 so2
                HostName so.example
            Include order.d/*
            """),
        ["so1", "so2"],
        files={
            f"~/.ssh/order.d/{name}": f"Host *\n    Port {port}\n    User u{name}\n"
            for name, port in reversed(
                [("a", 2201), ("b", 2202), ("c", 2203), ("d", 2204), ("e", 2205), ("f", 2206)]
            )
        },
    ),
    Case(
        "include-nested-tilde-absolute",
        cfg("""
            Include ~/.ssh/nested/top
            Host nt0
            """),
        ["nt2", "nt3", "nt1", "nt0"],
        files={
            "~/.ssh/nested/top": "Include nested/inner*\nHost nt1\n    User top\n",
            "~/.ssh/nested/inner1": "Host nt2\n    User inner\nHost *\nInclude {tmp}/abs/last\n",
            "{tmp}/abs/last": "Host nt3\n    Port 2033\nHost *\n    HostName %h.nested.example\n",
        },
    ),
    Case(
        "include-inside-host-block",
        cfg("""
            Host ib1
                Include ib.conf
                User outer
            Host ib2 ib3
            """),
        ["ib1", "ib2", "ib3"],
        files={"~/.ssh/ib.conf": "User fromfile\nHost ib2\n    Port 2222\nHost ib*\n    Port 2444\n"},
    ),
    Case(
        "missing-include-ignored",
        cfg("""
            Include does-not-exist/*
            Include /nonexistent/jtui-test/file
            Host mi1
                User mi
            """),
        ["mi1"],
    ),
    Case(
        "ignore-unknown-and-deprecated",
        cfg("""
            IgnoreUnknown UseKeychain,AddKeysToAgentX
            Protocol 2
            Host iu1
                UseKeychain yes
                KexAlgorithms curve25519-sha256
                UseRoaming no
                User iu
            """),
        ["iu1"],
    ),
    Case(
        "comma-is-not-a-list-in-host",
        cfg("""
            Host cm1,cm2
                User comma
            Host cm1 cm2
                User plain
            """),
        ["cm1", "cm2"],
        refused=["cm1,cm2"],
        problems=["CONFIG:1"],
    ),
    Case(
        "names-ssh-refuses",
        cfg("""
            Host ok1 "has space" -dash a,b user@host ok2
                User ok
            """),
        ["ok1", "ok2"],
        refused=["has space", "-dash", "a,b", "user@host"],
        problems=["CONFIG:1"],
    ),
    # --- configs OpenSSH rejects: jtui names the same place and lists what it can
    Case(
        "rejected-unknown-keyword",
        cfg("""
            Host rk1
                User x
                Bogus 1
            """),
        ["rk1"],
        ssh_rejects=True,
    ),
    Case(
        "rejected-unbalanced-quote",
        cfg("""
            Host uq1 uq2
                User "x
            """),
        ["uq1", "uq2"],
        ssh_rejects=True,
    ),
    Case(
        "rejected-keyword-without-value",
        cfg("""
            Host na1
                Port #2222
            """),
        ["na1"],
        ssh_rejects=True,
    ),
    Case(
        "rejected-empty-host-name",
        cfg("""
            Host eh1 ""
            """),
        ["eh1"],
        ssh_rejects=True,
    ),
    Case(
        "rejected-bad-match",
        cfg("""
            Host bm1
            Match hots bm1
                User x
            """),
        ["bm1"],
        ssh_rejects=True,
    ),
    Case(
        "rejected-include-loop",
        cfg("""
            Include loop.conf
            Host loop1 loop2
            """),
        ["loop1", "loop2"],
        files={"~/.ssh/loop.conf": "Include loop.conf\n"},
        problems=["~/.ssh/loop.conf:1"],
        ssh_rejects=True,
        resolve_error="Include nested deeper than 16 levels",
    ),
    Case(
        "match-final",
        cfg("""
            Host mf1
                User fin
            Match final
                Port 2022
            Host mf2
                HostName real2.example
            Match final host real2.example
                Port 3033
            Match final originalhost mf2
                User orig
            """),
        ["mf1", "mf2"],
    ),
    # --- what asyncssh reads unlike OpenSSH: jtui says so and refuses those hosts
    Case(
        "equals-inside-host-word",
        cfg("""
            Host a=b
                User eq
            """),
        ["a=b"],
        unreadable=1,
    ),
    Case(
        "equals-inside-match-exec",
        cfg("""
            Match exec "test %n = mx1"
                User execd
            Host mx1
            """),
        ["mx1"],
        unreadable=1,
    ),
    Case(
        "tokens-in-match-exec",
        cfg("""
            Match exec "echo %h | grep -q me3"
                User tokened
            Host me3
            """),
        ["me3"],
        unreadable=1,
    ),
    Case(
        "backslash-in-value",
        cfg(r"""
            Host bs1
                IdentityFile ~/.ssh/a\b
            Host fine1
                User ok
            """),
        ["bs1", "fine1"],
        unreadable=2,
    ),
    Case(
        "quoted-value-starting-with-hash",
        cfg("""
            Host qh1
                User "#hash"
            """),
        ["qh1"],
        unreadable=2,
    ),
]


# --- running both sides -------------------------------------------------------


@dataclass
class Sandbox:
    root: Path
    home: Path
    config: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.home),
            LC_ALL="C",
            USER=LOCAL_USER,
            LOGNAME=LOCAL_USER,
            XDG_CONFIG_HOME=str(self.root / "xdg-config"),
            XDG_STATE_HOME=str(self.root / "xdg-state"),
            XDG_DATA_HOME=str(self.root / "xdg-data"),
            XDG_CACHE_HOME=str(self.root / "xdg-cache"),
        )
        env.pop("SSH_AUTH_SOCK", None)
        return env

    def path(self, name: str) -> Path:
        if name == "CONFIG":
            return self.config
        if name.startswith("~/"):
            return self.home / name[2:]
        return Path(name.replace("{tmp}", str(self.root)))


def make_sandbox(root: Path, case: Case) -> Sandbox:
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    box = Sandbox(root, home, root / "config")
    for name, text in case.files.items():
        path = box.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{tmp}", str(root)))
        path.chmod(0o644)  # OpenSSH refuses included files others can write
    box.config.write_bytes(case.config.encode())
    return box


@pytest.fixture(scope="module")
def jtui_runs(tmp_path_factory):
    """Every case's sandbox and `jtui hosts --json` result, the CLIs run side by side."""
    boxes, procs = {}, {}
    for case in CASES:
        box = make_sandbox(tmp_path_factory.mktemp(case.id), case)
        boxes[case.id] = box
        procs[case.id] = subprocess.Popen(
            [sys.executable, "-m", "jtui", "hosts", "--json", "--config", str(box.config)],
            cwd=ROOT, env=box.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
    results = {}
    for case_id, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[case_id] = (boxes[case_id], proc.returncode, out, err)
    return results


def ssh_g(box: Sandbox, alias: str) -> tuple[int, dict[str, list[str]], str]:
    """`ssh -G -v`: its settings (lower-case keys, repeated keys kept) and its debug log."""
    proc = subprocess.run(
        ["ssh", "-G", "-v", "-F", str(box.config), "--", alias],
        env=box.env(), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30,
    )
    settings: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, []).append(value)
    return proc.returncode, settings, proc.stderr


def _expand_tokens(value: str, ssh: dict[str, list[str]], alias: str, home: str) -> str:
    tokens = {
        "%": "%", "d": home, "h": ssh["hostname"][0], "r": ssh["user"][0],
        "u": LOCAL_USER, "n": alias, "p": ssh["port"][0],
    }
    return re.sub(r"%(.)", lambda m: tokens.get(m.group(1), m.group(0)), value)


def _normal_path(path: str, home: str) -> str:
    """One spelling for a path: ~ and the passwd home both mean the sandbox HOME."""
    if path == "~" or path.startswith("~/"):
        return home + path[1:]
    if path == PW_HOME or path.startswith(PW_HOME.rstrip("/") + "/"):
        return home + path[len(PW_HOME.rstrip("/")):]
    return path


def compare(row: dict, ssh: dict[str, list[str]], home: str) -> dict[str, tuple]:
    """Every field where jtui and ssh -G differ: {field: (jtui, ssh)}."""
    alias = row["alias"]
    ours = {
        "hostname": row["hostname"],
        "user": row["user"],
        "port": str(row["port"]),
        "proxyjump": row["proxyjump"],
        "serveralivecountmax": str(row["keepalive_count"]),
        "batchmode": "yes" if row["batch_mode"] else "no",
        "userknownhostsfile": [_normal_path(p, home) for p in row["known_hosts"]],
        "identityfile": [_normal_path(p, home) for p in row["identity_files"]],
    }
    theirs = {
        "hostname": ssh["hostname"][0],
        "user": ssh["user"][0],
        "port": ssh["port"][0],
        "proxyjump": ssh.get("proxyjump", [None])[0],
        "serveralivecountmax": ssh["serveralivecountmax"][0],
        "batchmode": ssh["batchmode"][0],
        "userknownhostsfile": [
            _normal_path(p, home) for p in ssh["userknownhostsfile"][0].split() if p != "none"
        ],
    }
    identities = ssh.get("identityfile", [])
    if identities == DEFAULT_IDENTITIES:  # none configured: jtui lists none
        identities = []
    theirs["identityfile"] = [
        _normal_path(_expand_tokens(p, ssh, alias, home), home) for p in identities
    ]
    if ssh["connecttimeout"][0] != "none":
        ours["connecttimeout"] = row["connect_timeout"]
        theirs["connecttimeout"] = float(ssh["connecttimeout"][0])
    interval = ssh["serveraliveinterval"][0]
    implied = ssh["batchmode"][0] == "yes" and interval == "300"
    if implied and row["keepalive_interval"] == DEFAULT_KEEPALIVE_INTERVAL:
        interval = "0"  # OpenSSH's own default under BatchMode, not one the config set: jtui keeps its own
    if interval != "0":
        ours["serveraliveinterval"] = row["keepalive_interval"]
        theirs["serveraliveinterval"] = float(interval)
    if row["error"]:
        ours["error"], theirs["error"] = row["error"], None
    return {k: (ours[k], theirs.get(k)) for k in ours if ours[k] != theirs.get(k)}


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_jtui_agrees_with_ssh_g(case: Case, jtui_runs):
    box, returncode, out, err = jtui_runs[case.id]
    rows = json.loads(out)
    assert [r["alias"] for r in rows] == case.aliases, err
    home = str(box.home)

    for where in case.problems:
        name, line = where.rsplit(":", 1)
        assert f"{box.path(name)}:{line}:" in err, err
    if case.ssh_rejects:
        check_rejected(case, box, rows, err)
        return
    if case.unreadable:
        check_unreadable(case, box, rows, err)
        return
    if not case.problems:
        assert err == "" and returncode == 0, err

    for row in rows:
        rc, ssh, log = ssh_g(box, row["alias"])
        assert rc == 0, f"ssh -G {row['alias']}: {log[-500:]}"
        applied = f"{row['file']} line {row['line']}: Applying options for "
        assert applied in log, f"OpenSSH does not apply {row['file']}:{row['line']} to {row['alias']}"
        assert compare(row, ssh, home) == {}, row["alias"]

    for word in case.refused:
        rc, _, log = ssh_g(box, word)
        assert rc != 0 or f"Applying options for {word}\n" not in log, word


def check_rejected(case: Case, box: Sandbox, rows: list[dict], err: str) -> None:
    """ssh -G refuses the config; jtui says where and still lists every host."""
    assert rows, "jtui must still list the hosts it could read"
    for row in rows:
        rc, _, log = ssh_g(box, row["alias"])
        assert rc != 0, f"ssh -G accepted {case.id}"
        # OpenSSH names the line ("FILE line N:" or "FILE: line N:"), except for
        # an Include loop; jtui must name the same one.
        for file, line in re.findall(r"^(/\S+?):? line (\d+):", log, re.M):
            assert f"{file}:{line}:" in err, (log, err)
    assert "jtui: " in err
    if case.resolve_error:
        assert all(case.resolve_error in (row["error"] or "") for row in rows), rows


def check_unreadable(case: Case, box: Sandbox, rows: list[dict], err: str) -> None:
    """The line is named; the aliases it applies to are broken with that reason; the others agree with ssh -G."""
    where = f"{box.config}:{case.unreadable}:"
    assert where in err and "the way OpenSSH does" in err, err
    assert rows[0]["error"], "the first alias of each case is one the line applies to"
    for row in rows:
        if row["error"]:
            assert where in row["error"] and row["hostname"] == "" and row["port"] == 0, row
        else:
            _, ssh, _ = ssh_g(box, row["alias"])
            assert compare(row, ssh, str(box.home)) == {}, row["alias"]


def test_every_case_is_distinct_and_there_are_enough():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len([c for c in CASES if not c.xfail and not c.ssh_rejects and not c.unreadable]) >= 20


def test_keywords_ssh_g_prints_are_known_to_the_scanner(tmp_path):
    """Every keyword OpenSSH itself prints is one the scanner accepts (no false alarms)."""
    from jtui.core.hostsfile import SSH_KEYWORDS

    empty = tmp_path / "empty"
    empty.write_text("")
    out = subprocess.run(
        ["ssh", "-G", "-F", str(empty), "somehost"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True,
    ).stdout
    printed = {line.split(" ", 1)[0].lower() for line in out.splitlines() if line}
    assert printed - SSH_KEYWORDS == set()


# --- resolution details that ssh -G does not show ----------------------------


def test_openssh_reading_is_installed_once_over_the_stock_class():
    import asyncssh.config
    import asyncssh.connection

    from jtui.core import resolve

    resolve.use_openssh_reading()
    installed = asyncssh.connection.SSHClientConfig
    assert installed is not asyncssh.config.SSHClientConfig
    assert issubclass(installed, asyncssh.config.SSHClientConfig)
    resolve.use_openssh_reading()
    assert asyncssh.connection.SSHClientConfig is installed


def test_non_utf8_included_file_is_an_error_not_a_crash(tmp_path, monkeypatch):
    from jtui.core.resolve import resolve_host

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "latin1").write_bytes("Host *\n  User M\xfcller\n".encode("latin-1"))
    config = tmp_path / "config"
    config.write_text("Include latin1\nHost h\n")
    resolved = resolve_host("h", [str(config)])
    assert resolved.error == "a config file is not UTF-8 text"
    assert (resolved.alias, resolved.hostname, resolved.port) == ("h", "", 0)  # no destination at all
    assert resolved.target == "(config broken)"
