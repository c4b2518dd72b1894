"""What a newcomer meets in the first hour: small terminals, empty lists, bad files, words that read.

Each test shows what the user sees now, driven by keys on the real app.
"""

from __future__ import annotations

import random

import pytest
from textual.widgets import Footer

from jtui.app import build_app
from jtui.core.errors import describe
from jtui.core.link import BACKOFF_MAX, backoff_delay
from jtui.core.model import HostState
from jtui.ui.host_list import short_reason
from tests.ui_helpers import messages, offline_app, record, until, write_config_toml


def shown(app, selector: str) -> str:
    return str(app.host_screen.query_one(selector).render())


# --- the empty state ---------------------------------------------------------------------


async def test_no_hosts_fills_the_screen_and_offers_the_demo(home):
    app = build_app(None, autoconnect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        empty = app.host_screen.query_one("#no-hosts")
        assert empty.display and empty.size.width > 90  # the whole width, not the narrow list's
        assert not app.host_screen.query_one("#main").display
        text = shown(app, "#no-hosts")
        assert "jtui --demo" in text and str(home / ".ssh" / "config") in text
        assert "    Host gpu-box\n        HostName gpu-box.example.org\n" in text  # the example keeps its shape


async def test_a_filter_matching_nothing_says_so():
    app = offline_app()
    async with app.run_test(size=(100, 26)) as pilot:
        await pilot.press("slash", "z", "z")
        assert "no host matches 'zz' (esc clears)" in shown(app, "#no-match")
        await pilot.press("escape")
        assert not app.host_screen.query_one("#no-match").display
        assert app.host_screen.host_list.table.row_count == 4


# --- small terminals ---------------------------------------------------------------------


async def test_a_40_by_10_terminal_keeps_the_state_and_the_keys(tmp_path):
    config = tmp_path / "hosts"
    config.write_text("Host dead\n  HostName 127.0.0.1\n  Port 1\nBogus 1\nOops 2\n")
    app = build_app([str(config)])
    async with app.run_test(size=(40, 10)) as pilot:
        await until(lambda: record(app, "dead").status.state == HostState.FAILED, what="the host failed")
        await pilot.pause()
        screen = app.host_screen
        assert screen.host_list.outer_size.width <= 16 and screen.detail.size.width >= 20
        assert screen.problems_box.size.height == 1
        assert "2 config problems" in shown(app, "#problems")
        assert not screen.query_one(Footer).display
        keys = shown(app, "#keyline")
        assert keys.strip().endswith("? help  q quit") and "s start" in keys and len(keys.rstrip()) <= 40
        assert "failed" in str(screen.detail.query_one("#detail-header").render())


async def test_the_key_line_follows_remapped_keys(isolated_dirs):
    write_config_toml(isolated_dirs, '[keys]\nstart = "S"\nhelp = "h"\n')
    app = offline_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        keys = shown(app, "#keyline")
        assert "S start" in keys and "h help" in keys


async def test_wide_terminals_keep_the_footer():
    app = offline_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.host_screen.query_one(Footer).display and not app.host_screen.query_one("#keyline").display


async def test_at_80_columns_every_key_is_shown_with_its_word():
    """Textual's footer needs about 100 columns; at 80 it cut off ? help and q quit."""
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.host_screen.query_one(Footer).display
        keys = " ".join(shown(app, "#keyline").split())
        assert keys == "s start c copy f forward o open x stop r refresh / filter ? help q quit"


async def test_the_footer_gives_way_to_the_key_line_when_remapped_keys_make_it_too_wide(isolated_dirs):
    write_config_toml(isolated_dirs, '[keys]\nstart = "ctrl+s"\nstop = "ctrl+x"\nrefresh = "f5"\n')
    app = offline_app()
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        assert not app.host_screen.query_one(Footer).display
        keys = shown(app, "#keyline")
        assert "start" in keys and keys.rstrip().endswith("? help  q quit")


# --- words that read ---------------------------------------------------------------------


def failures():
    import asyncio
    import errno
    import socket

    import asyncssh

    yield asyncio.TimeoutError()
    yield socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    yield socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    yield ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    yield ConnectionResetError(errno.ECONNRESET, "reset")
    yield OSError(errno.EHOSTUNREACH, "No route to host")
    yield OSError(errno.ENETUNREACH, "Network is unreachable")
    yield asyncssh.PermissionDenied("Permission denied for user alice on host box")
    yield asyncssh.ConnectionLost("Connection lost")


@pytest.mark.parametrize("exc", list(failures()), ids=lambda e: type(e).__name__)
def test_every_reason_is_a_sentence_and_its_short_form_fits_the_list(exc):
    reason = describe(exc, 10).reason
    assert reason[0].islower() and not reason.endswith(".")  # the screen makes it a sentence
    assert ":" in reason or reason.startswith(("connection reset", "connection lost"))  # what, then why
    short = short_reason(reason)
    assert 0 < len(short) <= 9 and "…" not in short, (reason, short)


async def test_a_host_that_does_not_answer_reads_as_sentences(tmp_path):
    config = tmp_path / "hosts"
    config.write_text("Host dead\n  HostName 127.0.0.1\n  Port 1\n")
    app = build_app([str(config)])
    async with app.run_test(size=(160, 30)) as pilot:
        await until(lambda: record(app, "dead").status.state == HostState.FAILED, what="the host failed")
        await pilot.press("c")
        await pilot.pause()
        assert "dead cannot be reached. Connection refused: nothing listens on that port (check Port, and that sshd runs). Press r" in messages(app)
        assert " is failed" not in messages(app)
        assert "refused" in str(app.host_screen.host_list.table.row("dead").load)
        header = str(app.host_screen.detail.query_one("#detail-header").render())
        assert "\nConnection refused: nothing listens on that port (check Port, and that sshd runs)." in header


def test_retries_never_wait_longer_than_the_cap():
    class Top(random.Random):
        def random(self) -> float:
            return 0.999999

    delays = [backoff_delay(attempt, Top()) for attempt in range(1, 30)]
    assert max(delays) <= BACKOFF_MAX
    assert delays[0] <= 1.0 and delays[5] == pytest.approx(BACKOFF_MAX, rel=0.01)


# --- messages that match the state ---------------------------------------------------------


async def test_editing_only_config_toml_says_settings_reloaded(isolated_dirs):
    settings = write_config_toml(isolated_dirs, "refresh = 2.0\n")
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        settings.write_text("refresh = 1.0\n")
        await until(lambda: "reloaded" in messages(app), what="the reload")
        assert "Settings reloaded." in messages(app) and "Hosts reloaded" not in messages(app)


# --- bad input -------------------------------------------------------------------------------


async def test_a_bare_host_line_leaves_its_hosts_broken_and_never_dialled(tmp_path):
    config = tmp_path / "hosts"
    config.write_text("Host a\n  HostName 127.0.0.1\n  Port 2222\nHost\nHost b\n  HostName 127.0.0.1\n")
    app = build_app([str(config)])
    async with app.run_test(size=(120, 30)) as pilot:
        await until(lambda: record(app, "a").status.state == HostState.FAILED, what="a refused")
        assert record(app, "a").status.reason.startswith(f"config: {config}:4:")
        assert "config!" in str(app.host_screen.host_list.table.row("a").load)
        await until(lambda: record(app, "a").resolved is not None, what="a resolved")
        detail = str(app.host_screen.detail.query_one("#detail-stats").render())
        assert "config is broken" in detail and f"{config}:4" in detail
        header = str(app.host_screen.detail.query_one("#detail-header").render())
        assert "(config broken)" in header and f"{config}:4" not in header  # said once, below
        await pilot.press("enter")  # asking again changes nothing until the file is fixed
        await until(lambda: record(app, "a").status.state == HostState.FAILED, what="a refused again")
        assert record(app, "a").status.reason.startswith("config:")
