"""The app explains itself: `?` help, the ctrl+p palette, keys from [keys], themes."""

from __future__ import annotations

import html
import io
import shutil

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Input, OptionList

from jtui.app import build_app
from tests.test_snapshots import live, live_app
from tests.ui_helpers import SCREEN_HOSTS, messages, offline_app, record, until, write_config_toml


@pytest.fixture
def settings(isolated_dirs):
    """Write config.toml where jtui reads it."""
    return lambda text: write_config_toml(isolated_dirs, text)


def screen_text(app) -> str:
    """The text runs of the screen as drawn (from its SVG screenshot)."""
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


def help_lines(app) -> list[str]:
    """The help screen's rows, as its Static widgets draw them on a line wide enough for each."""
    console = Console(width=300, record=True, file=io.StringIO())
    for widget in app.screen.query("Static"):
        console.print(widget.content)
    return [line.rstrip() for line in console.export_text().splitlines()]


def footer_keys(app) -> dict[str, str]:
    """What the footer shows: description -> key, as drawn."""
    return {str(key.description): key.key_display for key in app.screen.query("FooterKey")}


async def palette_options(pilot) -> list[str]:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # the palette gathers its hits in a worker
    await pilot.pause()
    options = pilot.app.screen.query_one(OptionList)
    # Each option is the title, then its help on a second line.
    return [str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count)]


# --- help -----------------------------------------------------------------------------


async def test_help_lists_every_key_and_the_real_paths(home, isolated_dirs, settings):
    shutil.copy(SCREEN_HOSTS, home / ".ssh" / "config")
    config = settings("refresh = 1.0\n")
    app = build_app(None, autoconnect=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        shown = screen_text(app)
        for binding in [*app.BINDINGS, *app.host_screen.BINDINGS]:  # every action, in the words it has elsewhere
            assert binding.tooltip in shown
        assert "^p" in shown and "tab" in shown and "j/k" in shown
        places = "\n".join(help_lines(app))
        assert "~/.ssh/config\n" in places  # below HOME: written the way the user would
        assert f"{config}\n" in places  # it exists: no "(not there yet)"
        assert f"{isolated_dirs / 'state' / 'jtui' / 'known_hosts'} (not there yet)" in places
        await pilot.press("escape")
        assert type(app.screen).__name__ != "HelpScreen"


# --- keys from config.toml --------------------------------------------------------------


async def test_remapped_keys_work_and_show_in_footer_and_help(settings):
    settings('[keys]\ncopy = "y"\nstart = "S,ctrl+s"\n')
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert footer_keys(app)["copy URL"] == "y"
        assert footer_keys(app)["start"] == "S"
        await pilot.press("c")  # the old key does nothing now
        await pilot.pause()
        assert "not connected" not in messages(app)
        await pilot.press("y")
        await pilot.pause()
        assert "gpu-box is not connected" in messages(app)  # the copy action ran, and said why it can't
        app.clear_notifications()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "gpu-box is not connected" in messages(app)
        await pilot.press("question_mark")
        rows = help_lines(app)
        assert any(row.startswith("y ") and "copy the server's localhost URL" in row for row in rows), rows
        assert any(row.startswith("S/^s ") and "start a Jupyter server" in row for row in rows), rows
        assert "copy the server's localhost URL" in screen_text(app)


async def test_bad_keymap_entries_are_reported_and_the_rest_applies(settings):
    path = settings('[keys]\nstrat = "S"\nstart = "c"\nforward = 3\n')
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        problems = str(app.host_screen.problems_box.render())
        assert f"{path}: keys.strat: no such action" in problems
        assert "keys.forward must be key names" in problems
        assert "keys.start took 'c' from copy, which now has no key" in problems
        await pilot.press("c")
        await pilot.pause()
        assert "gpu-box is not connected" in messages(app)  # c starts now (and says why it can't)
        assert footer_keys(app)["start"] == "c"
        assert "copy URL" not in footer_keys(app)


# --- palette ----------------------------------------------------------------------------


async def test_palette_jumps_to_a_host_by_fuzzy_name():
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.host_screen.selected == "gpu-box"
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"oldbx")
        options = await palette_options(pilot)
        assert options[0] == "Jump to old-box"
        await pilot.press("enter")
        await pilot.pause()
        assert app.host_screen.selected == "old-box"
        assert not isinstance(app.screen, CommandPalette)


async def test_palette_jump_clears_a_filter_that_hides_the_host():
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"lab", "enter")
        assert app.host_screen.host_list.visible_aliases() == ["lab"]
        await pilot.press("ctrl+p", *"hpc")
        assert "Jump to hpc" in await palette_options(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert app.host_screen.selected == "hpc"
        assert "hpc" in app.host_screen.host_list.visible_aliases()


async def test_palette_offers_every_action_on_the_selected_host_and_server(hosts):
    app = live_app(hosts)
    async with app.run_test(size=(120, 40)) as pilot:
        await live(pilot, hosts)
        await pilot.press("ctrl+p")
        options = await palette_options(pilot)
        where = "gpu-box:8890 (~/proj)"
        for title in (
            "Start Jupyter on gpu-box", "Refresh / reconnect gpu-box",
            f"Copy the URL of {where}", f"Open {where} in the browser",
            f"Forward {where} to localhost", f"Stop {where}",
            "Filter hosts by name", "Help: keys and where the configuration lives",
        ):
            assert any(title in option for option in options), (title, options)
        assert not any("Connect to gpu-box" in option for option in options)  # it is connected
        assert any("Theme" in option for option in options)  # Textual's own stay
        await pilot.press(*"stop")
        assert (await palette_options(pilot))[0] == f"Stop {where}"
        await pilot.press("enter")  # the palette's command does what x does: it asks first
        await until(lambda: type(app.screen).__name__ == "ConfirmScreen", what="the stop question")
        assert "port 8890" in str(app.screen.query_one("Static").render())
        await pilot.press("n")
        await pilot.press("f")  # forwarded, the palette offers to unbind it
        await until(lambda: 8890 in record(app, "gpu-box").forward_ports, what="the forward")
        local = record(app, "gpu-box").forward_ports[8890]
        await pilot.press("ctrl+p")
        options = await palette_options(pilot)
        assert f"Unbind the forward of {where} (localhost:{local})" in options
        assert not any(option.startswith("Forward ") for option in options)
        await pilot.press(*"quit")
        await palette_options(pilot)
        options = app.screen.query_one(OptionList)
        quit_help = next(str(prompt) for i in range(options.option_count)
                         if (prompt := options.get_option_at_index(i).prompt) and str(prompt).startswith("Quit"))
        assert "forwards end, remote servers keep running" in quit_help


async def test_palette_offers_connect_for_a_host_that_is_not_connected_and_runs_it():
    """enter's binding asks whether the host list has the screen's focus: from the palette it still runs."""
    from jtui.core.model import HostState

    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        assert "Connect to gpu-box now (log in)" in await palette_options(pilot)
        await pilot.press(*"connect to gpu")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(lambda: app.host_screen.record("gpu-box").status.state != HostState.NOT_CONNECTED,
                    what="gpu-box dialled")


async def test_palette_runs_an_action_like_its_key():
    app = offline_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p", *"filter")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("h", "p")
        hosts = app.host_screen.host_list
        assert hosts.typing and hosts.filter_text == "hp" and hosts.visible_aliases() == ["hpc"]


# --- themes -----------------------------------------------------------------------------


async def test_theme_from_config(settings):
    settings('theme = "nord"\n')
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.theme == "nord"


async def test_unknown_theme_is_reported(settings):
    path = settings('theme = "no-such-theme"\n')
    app = offline_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert f"{path}: theme 'no-such-theme' does not exist" in str(app.host_screen.problems_box.render())
        assert app.theme == "textual-dark"
