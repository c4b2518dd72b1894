"""Snapshot SVGs of the screen; `screenshots/` is regenerated from these.

Every picture is the real app, built by the CLI's factory and driven with
keys. Live states come from real connections to real SSH servers serving
fixed figures (tests/harness/screen_hosts.py), so the pictures are the
same on every machine: the forward in "forwarded" exists, the prompts are
asked by jtui's own login code. (The forward binds local port 8890, which
must be free on the machine running the test.)
"""

from __future__ import annotations

import shutil

from textual.widgets import Input

from jtui.app import build_app
from tests.harness.screen_hosts import ScreenHosts
from tests.ui_helpers import SCREEN_HOSTS, offline_app, record, until

SIZE = (100, 26)


def live_app(hosts: ScreenHosts):
    return build_app([str(hosts.hosts_file)])


# --- states, each reached with keys (shared with the colour test) ---------------------------


async def live(pilot, hosts: ScreenHosts) -> None:
    await hosts.settle(pilot.app)
    await pilot.pause()


async def palette(pilot, hosts: ScreenHosts) -> None:
    await live(pilot, hosts)
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # the palette gathers its hits in a worker
    pilot.app.screen.query_one(Input).cursor_blink = False  # a blinking cursor is no fixed picture
    await pilot.pause()


async def starting(pilot, hosts: ScreenHosts) -> None:
    """`s` with a `jupyter` that never comes up: the start waiting for its runtime file."""
    await live(pilot, hosts)
    await pilot.press("s")
    await until(lambda: "runtime file" in record(pilot.app, "gpu-box").activity, what="the start waiting")
    await pilot.pause()


async def forwarded(pilot, hosts: ScreenHosts) -> None:
    """`c` on the first server: forwarded for real, the URL copied and shown."""
    await live(pilot, hosts)
    await pilot.press("c")
    await until(lambda: pilot.app.clipboard.startswith("http://localhost:"), what="the URL copied")
    await until(lambda: record(pilot.app, "gpu-box").forwards, what="the forward in the table")
    await pilot.pause()


async def services(pilot, hosts: ScreenHosts) -> None:
    """The cursor on a service listening on all interfaces: the exposure line says what it means."""
    await live(pilot, hosts)
    pilot.app.host_screen.detail.servers.focus()
    await pilot.press("j", "j", "j")
    await until(lambda: record(pilot.app, "gpu-box").selected_port == 8000, what="the cursor on port 8000")
    await pilot.pause()


async def cluster(pilot, hosts: ScreenHosts) -> None:
    """lab is a cluster's login node: its partitions, a running job's server and a pending job."""
    await live(pilot, hosts)
    await pilot.press("j")
    await until(lambda: len(record(pilot.app, "lab").jobs) == 1, what="lab's pending job")
    pilot.app.host_screen.detail.servers.focus()
    await pilot.press("j")
    await until(lambda: record(pilot.app, "lab").selected_port == -4243, what="the cursor on the pending job")
    await pilot.pause()


async def failed(pilot, hosts: ScreenHosts) -> None:
    await live(pilot, hosts)
    await pilot.press("j", "j", "j")
    await until(lambda: record(pilot.app, "old-box").resolved is not None, what="old-box resolved")
    await pilot.pause()


async def unknown_key(pilot, hosts: ScreenHosts) -> None:
    await live(pilot, hosts)  # the figures behind the prompt settled first: else they depend on timing
    await pilot.press("j", "j", "j", "j", "enter")
    await until(lambda: type(pilot.app.screen).__name__ == "ConfirmScreen", what="the host key prompt")
    await pilot.pause()


async def passphrase(pilot, hosts: ScreenHosts) -> None:
    await live(pilot, hosts)
    await pilot.press("j", "j", "j", "j", "j", "enter")
    await until(lambda: type(pilot.app.screen).__name__ == "PromptScreen", what="the passphrase prompt")
    await pilot.press("s", "e", "c")
    await pilot.pause()


async def login_cancelled(pilot, hosts: ScreenHosts) -> None:
    """The passphrase prompt escaped: the host waits for the user (needs input)."""
    await passphrase(pilot, hosts)
    await pilot.press("escape")
    await until(lambda: record(pilot.app, "workstation").status.reason.startswith("login cancelled"),
                what="the login cancelled")
    await pilot.pause()


def snap(snap_compare, hosts, state, size=SIZE) -> bool:
    async def run_before(pilot) -> None:
        await state(pilot, hosts)

    return snap_compare(live_app(hosts), terminal_size=size, run_before=run_before)


# --- the pictures ------------------------------------------------------------------------


def test_host_list(snap_compare):
    assert snap_compare(offline_app(), terminal_size=SIZE, run_before=lambda p: p.app.workers.wait_for_complete())


def test_host_list_filtered(snap_compare):
    assert snap_compare(offline_app(), press=["slash", "b", "o", "x", "enter", "j"], terminal_size=SIZE)


def test_help_screen(snap_compare, home, monkeypatch):
    """Real paths, below a HOME of the test's own so they read the same on every machine."""
    shutil.copy(SCREEN_HOSTS, home / ".ssh" / "config")
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name)
    assert snap_compare(build_app(None, autoconnect=False), press=["question_mark"], terminal_size=(100, 32))


def test_empty_state(snap_compare, monkeypatch):
    monkeypatch.setenv("HOME", "/home/alice")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/alice/.config")
    assert snap_compare(build_app(None, autoconnect=False), terminal_size=SIZE)


def test_live_host(snap_compare, hosts):
    """The README's first picture: figures, a GPU, two servers, the first one's kernels."""
    assert snap(snap_compare, hosts, live, size=(100, 30))


def test_command_palette(snap_compare, hosts):
    assert snap(snap_compare, hosts, palette, size=(100, 32))


def test_starting_server(snap_compare, hosts):
    assert snap(snap_compare, hosts, starting)


def test_forwarded_server(snap_compare, hosts):
    assert snap(snap_compare, hosts, forwarded)


def test_services(snap_compare, hosts):
    """TensorBoard, a Ray dashboard and an http.server on 0.0.0.0 next to the Jupyter servers."""
    assert snap(snap_compare, hosts, services, size=(100, 32))


def test_cluster_jobs(snap_compare, hosts):
    """A Slurm login node: partitions, a job's Jupyter with its node and time left, a pending job."""
    assert snap(snap_compare, hosts, cluster, size=(100, 32))


def test_failed_host(snap_compare, hosts):
    assert snap(snap_compare, hosts, failed)


def test_small_terminal(snap_compare, hosts):
    """48 columns by 14 rows: names only, the selected host's state, one line of keys."""
    assert snap(snap_compare, hosts, live, size=(48, 14))


def test_unknown_host_key(snap_compare, hosts):
    assert snap(snap_compare, hosts, unknown_key)


def test_passphrase_prompt(snap_compare, hosts):
    assert snap(snap_compare, hosts, passphrase)


async def test_an_80_column_terminal_shows_each_servers_forward_and_age_and_whole_columns(hosts):
    """The classic terminal: the host list takes what its names need, the columns that say
    whether a server is forwarded and how old it is come before the one a narrow pane cuts,
    and columns that do not fit make way whole (no table scrolls sideways, no GPU line wraps)."""
    app = live_app(hosts)
    async with app.run_test(size=(80, 24)) as pilot:
        await forwarded(pilot, hosts)
        table = app.host_screen.detail.servers
        await until(lambda: ":8890 ↔" in table.render_line(1).text, what="the forward shown at 80 columns")
        header = table.render_line(0).text.split()
        assert header == ["port", "what", "up", "local", "where"]  # the pid made way for where
        assert "2h" in table.render_line(1).text.split()
        assert app.host_screen.host_list.outer_size.width < 34
        kernels = app.host_screen.query_one("#kernels")
        await until(lambda: kernels.row_count, what="the first server's kernels")
        await pilot.pause()
        for each in (table, kernels):  # whole columns, none cut off at the right edge
            assert each.max_scroll_x == 0, (each.id, [str(label) for label in each.columns])
        assert [str(c.label) for c in kernels.columns.values()][:5] == ["notebook", "state", "cpu", "mem", "gpu"]
        stats = str(app.host_screen.query_one("#detail-stats").content).splitlines()
        gpu = next(line for line in stats if line.startswith("GPU 0 "))
        assert gpu.startswith("GPU 0 A100-SXM4") and gpu.endswith("72%  54.4 / 80.0 GiB  54°C")  # one line, figures whole
        await pilot.resize_terminal(60, 24)
        await pilot.pause()
        stats = app.host_screen.query_one("#detail-stats")
        lines = str(stats.content).splitlines()
        assert lines[0].startswith("CPU ") and lines[1].startswith("MEM ")  # the CPU line did not wrap
        assert all(len(line) <= stats.size.width for line in lines), (stats.size.width, lines)


async def test_after_the_filter_the_footer_offers_s_and_slash_again(hosts):
    """They are letters of the filter while it is typed into. `/` from the server table moves focus
    to the host list, and the hidden footer took in that focus's keys without s and /; enter then
    showed it so, until something else made it look again."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    app = live_app(hosts)
    async with app.run_test(size=SIZE) as pilot:
        await live(pilot, hosts)
        footer = app.host_screen.query_one(Footer)
        await pilot.press("tab")
        assert app.focused is app.host_screen.detail.servers
        await pilot.press("slash", "g", "p", "enter")
        await pilot.pause(0.2)
        assert app.host_screen.host_list.filter_text == "gp" and footer.display
        assert {"start", "filter"} <= {key.action for key in footer.query(FooterKey)}


async def test_enter_on_a_connected_host_goes_to_its_servers(hosts):
    """enter logs in to a host; on one that is connected it did nothing, and said nothing."""
    app = live_app(hosts)
    async with app.run_test(size=SIZE) as pilot:
        await live(pilot, hosts)
        assert app.host_screen.selected == "gpu-box"
        await pilot.press("enter", "j")
        assert app.focused is app.host_screen.detail.servers
        await until(lambda: record(app, "gpu-box").selected_port == 8892, what="j moving in the server table")


async def test_tab_then_keys_in_one_burst_move_in_the_pane_tab_went_to(hosts):
    """"⇥jjj" typed fast moves the server cursor: the tables' keys are bindings, looked up where
    focus is when each key is handled, so they follow tab even in one burst (an Input's letters
    do not: see the job form's and the host filter's tests)."""
    from tests.ui_helpers import burst

    app = live_app(hosts)
    async with app.run_test(size=SIZE) as pilot:
        await live(pilot, hosts)
        await burst(pilot, "tab", "j", "j", "j")
        await until(lambda: record(app, "gpu-box").selected_port == 8000, what="the cursor on port 8000")
        assert app.host_screen.selected == "gpu-box"
        await burst(pilot, "shift+tab", "j")
        await until(lambda: app.host_screen.selected == "lab", what="back in the host list")
        assert record(app, "gpu-box").selected_port == 8000
