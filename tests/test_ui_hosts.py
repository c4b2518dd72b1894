"""Pilot tests of the first screen: navigation, filter, detail pane, help, empty state."""

from __future__ import annotations

from jtui.app import build_app
from jtui.core.model import HostState, JupyterServer
from jtui.ui.host_list import HostList
from tests.ui_helpers import messages, offline_app, record, screen_lines, until


def header(app) -> str:
    return str(app.query_one("#detail-header").render())


async def test_hosts_listed_in_file_order_and_first_selected():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.query_one(HostList).visible_aliases() == ["gpu-box", "lab", "hpc", "old-box"]
        assert app.host_screen.selected == "gpu-box"


async def test_j_k_and_arrows_move_and_detail_follows():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("j")
        assert app.host_screen.selected == "lab"
        await pilot.press("down")
        assert app.host_screen.selected == "hpc"
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "asmith@login.hpc.example:22" in header(app)
        assert "via gw.example" in header(app)
        await pilot.press("k", "up")
        assert app.host_screen.selected == "gpu-box"
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "alice@gpu-box.lab.example:22" in header(app)
        assert "not connected" in header(app)


async def test_detail_shows_port_before_connecting():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("j")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "alice@10.0.0.12:2222" in header(app)


async def test_filter_narrows_and_escape_restores():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("slash", "b", "o", "x")
        hosts = app.query_one(HostList)
        assert hosts.visible_aliases() == ["gpu-box", "old-box"]
        assert hosts.table.row_count == 2
        await pilot.press("enter")  # back to the table, filter kept
        assert hosts.table.has_focus
        await pilot.press("j")
        assert app.host_screen.selected == "old-box"
        await pilot.press("slash", "escape")
        assert hosts.table.row_count == 4
        assert app.host_screen.selected == "old-box"


async def test_escape_in_the_list_clears_a_kept_filter():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("slash", "b", "o", "x", "enter", "j")  # kept, and the cursor moved in it
        hosts = app.query_one(HostList)
        assert hosts.table.has_focus and hosts.table.row_count == 2
        await pilot.press("escape")
        assert hosts.table.row_count == 4 and not hosts.filter_text
        assert not app.query_one("#filter").display
        assert app.host_screen.selected == "old-box" and hosts.table.has_focus


async def test_the_filter_box_comes_at_the_first_slash_and_opens_again_after_escape():
    app = offline_app()
    async with app.run_test() as pilot:
        assert not app.query("#filter")  # mounted when first used: the first frame is sooner
        await pilot.press("slash", "l", "a", "escape")
        assert app.query_one(HostList).table.has_focus
        await pilot.press("slash", "h", "p")
        assert app.query_one(HostList).typing and app.query_one(HostList).filter_text == "hp"
        assert len(app.query("#filter")) == 1
        assert app.query_one(HostList).visible_aliases() == ["hpc"]


async def test_a_filter_that_hides_the_cursors_host_moves_it_to_the_first_match():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("j", "j", "j")
        assert app.host_screen.selected == "old-box"
        await pilot.press("slash", "o")  # gpu-box, old-box: the cursor stays on its host
        assert app.host_screen.selected == "old-box"
        await pilot.press("backspace", "p")  # gpu-box, hpc: old-box is hidden
        assert app.query_one(HostList).visible_aliases() == ["gpu-box", "hpc"]
        assert app.host_screen.selected == "gpu-box"


async def test_filter_with_no_match_shows_no_rows():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("slash", "z", "z", "z")
        assert app.query_one(HostList).table.row_count == 0
        assert app.host_screen.selected is None


async def test_help_opens_and_closes():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "start a Jupyter server on the selected host" in shown
        assert app.screen.query_one("VerticalScroll").size.width > 40  # drawn, not a collapsed box
        await pilot.press("escape")
        assert app.screen.__class__.__name__ != "HelpScreen"


async def test_q_quits():
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_empty_state_says_where_hosts_come_from(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    app = build_app(None, autoconnect=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        text = str(app.query_one("#no-hosts").render())
        assert str(tmp_path / ".ssh" / "config") in text
        assert "Host gpu-box" in text
        assert app.query_one("#no-hosts").display


async def test_config_problems_are_shown_and_hosts_still_listed(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("Host good\n  HostName good.example\nBogusKeyword 1\nHost other\n")
    app = build_app([str(bad), str(tmp_path / "missing.conf")], autoconnect=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        problems = str(app.query_one("#problems").render())
        assert f"{bad}:3" in problems and "bogus" in problems.lower()
        assert "missing.conf: file not found" in problems
        assert app.query_one(HostList).visible_aliases() == ["good", "other"]


async def test_small_terminal_does_not_crash():
    app = offline_app()
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.press("j", "slash", "l", "enter", "question_mark", "escape")
        assert app.host_screen.selected == "lab"


async def test_a_narrow_terminal_lists_names_only_as_wide_as_they_need(tmp_path):
    short, long = tmp_path / "short.conf", tmp_path / "long.conf"
    short.write_text("Host gpu\nHost lab\n")
    long.write_text("Host gpu\nHost a-rather-long-host-name-for-a-list\n")
    for config, width, wanted in ((short, 60, 13), (long, 60, 22), (long, 40, 16)):
        app = build_app([str(config)], autoconnect=False)
        async with app.run_test(size=(width, 20)) as pilot:
            await pilot.pause()
            host_list = app.query_one(HostList)
            assert host_list.compact and host_list.outer_size.width == wanted, (config.name, width)
            await pilot.resize_terminal(100, 20)  # wide again: the figures come back, and their room
            await pilot.pause()
            assert not host_list.compact and host_list.outer_size.width >= 24


async def test_hosts_file_changing_while_running_is_reloaded(tmp_path):
    config = tmp_path / "hosts.conf"
    config.write_text("Host one\n  HostName one.example\n")
    app = build_app([str(config)], autoconnect=False)
    async with app.run_test() as pilot:
        assert app.query_one(HostList).visible_aliases() == ["one"]
        config.write_text("Host one\n  HostName one.example\nHost two\n  HostName two.example\nOops 1\n")
        for _ in range(60):
            await pilot.pause(0.1)
            if app.query_one(HostList).visible_aliases() == ["one", "two"]:
                break
        assert app.query_one(HostList).visible_aliases() == ["one", "two"]
        assert "oops" in str(app.query_one("#problems").render()).lower()
        await until(lambda: "Hosts reloaded: two added (2 hosts)." in messages(app), what="what changed")
        config.write_text("")  # emptied: the screen says where hosts come from
        for _ in range(60):
            await pilot.pause(0.1)
            if not app.query_one(HostList).visible_aliases():
                break
        assert app.query_one("#no-hosts").display


async def test_updates_while_a_modal_is_open_reach_the_main_screen(tmp_path):
    """A host failing while help is on top is shown failed once help is closed."""
    config = tmp_path / "dead.conf"
    config.write_text("Host dead\n  HostName 127.0.0.1\n  Port 1\n")
    app = build_app([str(config)])
    async with app.run_test() as pilot:
        await pilot.press("question_mark")
        await until(lambda: record(app, "dead").status.state == HostState.FAILED, what="the host failed")
        await pilot.press("escape")
        await pilot.pause()
        assert "refused" in str(app.host_screen.host_list.table.row("dead").load)
        assert "Connection refused" in header(app)


async def test_keys_typed_fast_after_slash_go_into_the_filter():
    """`/ho` then enter then `j` in one burst (fast typing, a laggy link): no key is lost
    to the list, and enter does not connect a host."""
    from tests.ui_helpers import burst

    app = offline_app()
    async with app.run_test() as pilot:
        hosts = app.query_one(HostList)
        await burst(pilot, "slash", "b", "o", "x", "enter", "j")
        assert hosts.filter_text == "box" and hosts.visible_aliases() == ["gpu-box", "old-box"]
        assert not hosts.typing and hosts.table.has_focus
        assert app.host_screen.selected == "old-box"
        assert app.fleet is None, "enter went to the filter, not to connect"
        await burst(pilot, "slash", "backspace", "backspace", "backspace", "h", "escape", "k")
        assert not hosts.filter_text and hosts.table.row_count == 4
        assert app.host_screen.selected == "lab"  # "h" left the cursor on hpc, then k: one up


async def test_while_the_filter_is_typed_into_the_keys_shown_are_the_filters():
    """Letters go into the filter then, so the footer (offering s, c, q...) makes way for a line
    saying enter and esc; ctrl+p's palette still runs any action."""
    from textual.widgets import Footer

    app = offline_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        footer, key_line = app.host_screen.query_one(Footer), app.host_screen.key_line
        assert footer.display and not key_line.display
        await pilot.press("slash", "q", "s")
        await pilot.pause()
        assert not footer.display and key_line.display
        assert str(key_line.render()).split() == ["enter", "keep", "filter", "esc", "clear", "filter"]
        assert app.host_screen.host_list.filter_text == "qs" and app.is_running
        await pilot.press("ctrl+p", *"help")  # the palette, opened while typing, runs what it lists
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(lambda: type(app.screen).__name__ == "HelpScreen", what="help from the palette")
        await pilot.press("escape")
        await pilot.press("enter")
        await pilot.pause()
        assert footer.display and not key_line.display and app.host_screen.host_list.filter_text == "qs"
        await pilot.resize_terminal(60, 20)  # the narrow key line, which is there anyway
        await pilot.press("slash")
        await pilot.pause()
        assert "keep filter" in str(key_line.render())
        await pilot.press("escape")
        await pilot.pause()
        assert "start" in str(key_line.render())


async def test_a_paste_while_typing_goes_into_the_filter():
    """With bracketed paste a terminal sends a paste as one event, not as keys."""
    from textual import events

    app = offline_app()
    async with app.run_test() as pilot:
        hosts = app.query_one(HostList)
        await pilot.press("slash")
        app.post_message(events.Paste("old-\nignored"))
        await pilot.pause()
        assert hosts.filter_text == "old-" and hosts.visible_aliases() == ["old-box"]


async def test_tab_while_typing_ends_the_typing_and_keeps_the_filter():
    app = offline_app()
    async with app.run_test() as pilot:
        hosts = app.query_one(HostList)
        await pilot.press("slash", "b", "o", "x", "tab")
        assert not hosts.typing and hosts.filter_text == "box"
        await pilot.press("s")  # a key again, not a letter of the filter
        assert hosts.filter_text == "box"


def test_a_reload_names_the_hosts_it_added_and_removed():
    from jtui.app import hosts_change

    assert hosts_change(["a", "b"], ["a", "b", "c"]) == "c added (3 hosts)."
    assert hosts_change(["a", "b"], ["b"]) == "a removed (1 host)."
    assert hosts_change(["a"], ["b", "c", "d", "e", "f"]) == "b, c, d and 2 more added; a removed (5 hosts)."
    assert hosts_change(["a", "b"], ["a", "b"]) == "2 hosts, none added or removed."


async def test_after_a_filter_matching_nothing_the_list_has_the_keys_again():
    from tests.ui_helpers import burst

    """A filter matching nothing leaves the table no rows and no room, but its focus: once the
    filter matches again, j and k move in it, and esc clears a kept filter that matches nothing."""
    app = offline_app()
    async with app.run_test() as pilot:
        hosts = app.query_one(HostList)
        await burst(pilot, "slash", "z", "z", "backspace", "backspace", "enter", "j")
        assert hosts.table.has_focus and app.host_screen.selected == "lab"
        await pilot.press("slash", "z", "z", "enter")
        assert hosts.table.row_count == 0
        await pilot.press("escape")
        assert not hosts.filter_text and hosts.table.row_count == 4 and hosts.table.has_focus


async def test_esc_on_a_filter_matching_nothing_goes_back_to_the_host_selected_before():
    """esc cleared a filter that matched nothing and put the cursor on the first host, not on the
    one the user was on when they typed it (a filter with matches keeps the selection)."""
    from tests.ui_helpers import burst

    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("j", "j")
        chosen = app.host_screen.selected
        assert chosen not in (None, app.host_screen.host_list.aliases[0])
        await burst(pilot, "slash", "z", "z", "z")
        await pilot.pause()
        assert app.host_screen.host_list.table.row_count == 0
        await pilot.press("escape")
        assert app.host_screen.selected == chosen


async def test_a_notification_keeps_a_url_on_one_line_and_brackets_as_written():
    """A terminal that drops OSC 52 leaves the user to select the URL in the notification: Textual's
    60-column toast split it over two lines. And names from hosts are not markup: `[draft]` stayed
    hidden as a style tag. Textual's own notifications keep theirs."""
    from jtui.ui.handoff import copy_url

    url = "http://localhost:45381/?token=d89231cd58807cfc84a6d6580f3743b289042b761c9ce7f7"
    app = offline_app()
    async with app.run_test(size=(80, 30), notifications=True) as pilot:
        await copy_url(app, url, JupyterServer(port=8888, pid=1, url="http://localhost:8888/"), 45381,
                       why="no local display (DISPLAY and WAYLAND_DISPLAY are unset): copied instead.")
        app.host_screen.notify("Interrupted the kernel of [draft] fit.ipynb.", title="gpu-box")  # as the keys say it
        app.notify("Press [b]ctrl+q[/b] to quit the app", title="Do you want to quit?")  # as Textual says it
        await until(lambda: any("ctrl+q" in line for line in screen_lines(app)), what="the three toasts drawn")
        lines = screen_lines(app)
        assert any(line.endswith(url) for line in lines), "\n".join(lines)
        assert any("[draft] fit.ipynb" in line for line in lines)
        assert any(line.endswith("Press ctrl+q to quit the app") for line in lines)
        prose = next(line for line in lines if "no local display" in line)
        assert "copied instead" not in prose  # prose still wraps, to the toast's width


async def test_a_key_as_jtui_starts_is_answered_not_a_crash():
    """The detail pane's tables are mounted just after the first frame; a key before then looked
    for their cursors, and jtui exited with a traceback."""
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.press("c")
        await until(lambda: "gpu-box is not connected" in messages(app), what="the answer")
        assert app.is_running


async def test_the_same_toast_again_replaces_the_one_showing():
    """c pressed three times on a host not connected stacked three copies of the same toast,
    pushing the others off; now the newest replaces it, and different words still stack."""
    app = offline_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        app.host_screen.notify("Something else happened.")
        for key in ("c", "c", "x", "c"):  # x on a host not connected says what c says
            await pilot.press(key)
        await until(lambda: "gpu-box is not connected" in messages(app), what="the answer to c")
        await pilot.pause()
        assert messages(app).splitlines() == ["Something else happened.",
                                              "gpu-box is not connected yet: press enter to connect."]
        drawn = "\n".join(screen_lines(app))
        assert drawn.count("is not connected") == 1 and drawn.count("Something else") == 1, drawn


async def test_x_right_after_j_asks_about_the_server_moved_to(hosts):
    """j then x in one burst on the server table (typed fast, or arriving at once over a slow link):
    x asked to stop the server the cursor had just left."""
    from tests.test_snapshots import live_app
    from tests.ui_helpers import burst

    app = live_app(hosts)
    async with app.run_test(size=(130, 45)) as pilot:
        await hosts.settle(app)
        table = app.host_screen.detail.servers
        table.focus()
        table.move_cursor(row=0)
        await pilot.pause()
        assert record(app, "gpu-box").selected_item.port == 8890
        await burst(pilot, "j", "x")
        await until(lambda: type(app.screen).__name__ == "ConfirmScreen", what="the question")
        question = str(app.screen.query_one("Static").render())
        assert "Stop the Jupyter server on port 8892" in question, question
        await pilot.press("n")


async def test_enter_then_j_in_one_burst_moves_in_the_server_table(hosts):
    """enter goes into a connected host's server table; keys typed right after it went to the host
    list, which moved to another host, because Textual gives focus a moment later."""
    from tests.test_snapshots import live_app
    from tests.ui_helpers import burst

    app = live_app(hosts)
    async with app.run_test(size=(130, 45)) as pilot:
        await hosts.settle(app)
        screen = app.host_screen
        assert screen.selected == "gpu-box" and screen.host_list.table.has_focus
        first = record(app, "gpu-box").selected_item.port
        await burst(pilot, "enter", "j")
        await pilot.pause()
        assert screen.selected == "gpu-box" and screen.detail.servers.has_focus
        assert record(app, "gpu-box").selected_item.port != first


async def test_tab_typed_with_a_move_to_a_host_without_servers_keeps_the_keys_working(hosts):
    """j then tab at once: tab went into the server table of the host being left, which the next
    host (no servers) hides, and focus stayed on it, hidden: j and k did nothing until another tab."""
    from tests.test_snapshots import live_app
    from tests.ui_helpers import burst

    app = live_app(hosts)
    async with app.run_test(size=(130, 45)) as pilot:
        await hosts.settle(app)
        screen = app.host_screen
        await pilot.press("j")  # lab: its jobs and servers are listed
        await until(lambda: screen.detail.servers.display, what="lab's server table")
        await burst(pilot, "j", "tab")  # hpc: no servers yet
        await pilot.pause()
        assert screen.selected == "hpc" and not screen.detail.servers.display
        assert screen.focused is screen.host_list.table
        await pilot.press("j")
        assert screen.selected == "old-box"


async def test_s_typed_into_the_filter_is_a_letter_of_it():
    """s starts a server as soon as it is read (so a job form is up for the keys after it); in the
    filter it is a letter like any other."""
    from tests.ui_helpers import burst

    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        await burst(pilot, "slash", "s", "h")
        assert app.host_screen.host_list.filter_text == "sh"
        assert "not connected" not in messages(app)  # s did not try to start one on gpu-box
