"""Every glyph jtui draws stays legible in every built-in theme, in true colour and in 256 colours.

The screens are the snapshot tests' states, reached with keys on the same
real hosts (tests/harness/screen_hosts.py). Each is drawn headless, then every theme is switched in
and every cell's final colours (after Textual's blending and dim) are read
from the compositor.
"""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.color import ColorSystem, ColorType
from rich.color_triplet import ColorTriplet
from textual.app import App
from textual.color import Color
from textual.scrollbar import ScrollBar
from textual.widgets import DataTable, Footer, Static

from jtui.app import build_app
from jtui.ui import colors
from jtui.ui.host_list import HostTable
from tests.test_snapshots import SIZE, failed, forwarded, live, live_app, login_cancelled, starting
from tests.ui_helpers import offline_app

# WCAG 2 asks 4.5:1 of body text and 3:1 of large text and of the graphics
# one needs to see to use an interface (1.4.11: here the status marks,
# sparklines and the focus frame). jtui's palette aims at 4.5:1 in true colour,
# but a 256-colour terminal shows the nearest of 240 colours, and Rich's
# rounding moves some a long way (catppuccin-frappe's #303446 background turns
# #5f5f5f). So every glyph is held to 3:1 after rounding: the floor WCAG sets
# for anything that must be seen, below which text is hard to read with any
# eyesight. One threshold for all glyphs: box lines and sparklines meet it too.
MIN_CONTRAST = 3.0


def _uses_terminal_palette(theme) -> bool:
    """ansi-dark / ansi-light draw in the terminal's own 16 colours: what those
    look like is the user's terminal theme, unknown here, so they are left out."""
    return Color.parse(theme.to_color_system().generate()["background"]).ansi is not None


ALL_THEMES = App().available_themes
THEMES = [name for name, theme in ALL_THEMES.items() if not _uses_terminal_palette(theme)]
ANSI_THEMES = [name for name in ALL_THEMES if name not in THEMES]


def luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = (c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def in_256(color: RichColor) -> ColorTriplet:
    """What a 256-colour terminal shows: Rich's own downgrade, then xterm's palette."""
    return color.downgrade(ColorSystem.EIGHT_BIT).get_truecolor()


def cells(app):
    """(x, y, char, rich style) of every non-blank cell of the screen as last composed."""
    for y, strip in enumerate(app.screen._compositor.render_strips()):  # what Textual writes out
        x = 0
        for text, style, _ in strip:
            for char in text:
                if char.strip():
                    yield x, y, char, style
                x += cell_len(char)


def measure(app, theme: str, state: str, region=None):
    """One row per non-blank cell (within `region`, if given): (contrast, drawn by jtui?, description)."""
    jtui_colors = {style.color.triplet for style in colors.palette(app.theme_variables).values()}
    lines = ["".join(text for text, _, _ in strip) for strip in app.screen._compositor.render_strips()]
    for x, y, char, style in cells(app):
        if region is not None and not region.contains(x, y):
            continue
        fg, bg = style.color, style.bgcolor
        assert fg is not None and fg.triplet and bg is not None and bg.triplet, f"{theme} {state}: {char!r} at {x},{y} has no true colour: {style}"
        assert not style.dim, f"{theme} {state}: {char!r} at {x},{y} left dim to the terminal"
        contrast = min(ratio(fg.triplet, bg.triplet), ratio(in_256(fg), in_256(bg)))
        widget, _ = app.screen.get_widget_at(x, y)
        # Textual's Footer, scroll bars and the tables' own text (header, rows, cursor) take
        # the theme's colours for those widgets; jtui draws the rest, and any
        # table cell in one of its own colours.
        textuals = [widget, *widget.ancestors]
        by_textual = any(isinstance(w, (Footer, DataTable, ScrollBar)) for w in textuals) and fg.triplet not in jtui_colors
        around = lines[y][max(0, x - 12) : x + 12].strip()
        yield contrast, not by_textual, (
            f"{contrast:4.2f}  {theme:20} {state:9} {char!r} in {around!r} at {x},{y} ({type(widget).__name__}): "
            f"{fg.triplet.hex} on {bg.triplet.hex}, in 256 colours {in_256(fg).hex} on {in_256(bg).hex}"
        )


async def nothing_connected(pilot, hosts=None) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


LIVE_STATES = {
    "forwarded": forwarded,  # live host: CPU, memory, a GPU, two servers, one forwarded
    "starting": starting,
    "failed": failed,
    "needs-input": login_cancelled,
}


async def drawn_in_every_theme(app, prepare, state: str, hosts=None) -> list:
    rows = []
    async with app.run_test(size=SIZE) as pilot:
        await prepare(pilot, hosts)
        for theme in THEMES:
            app.theme = theme
            await pilot.pause()
            rows += measure(app, theme, state)
    return rows


def assert_legible(rows) -> None:
    bad = sorted(row for row in rows if row[1] and row[0] < MIN_CONTRAST)
    assert not bad, f"{len(bad)} cells below {MIN_CONTRAST}:1, worst first:\n" + "\n".join(text for _, _, text in bad[:25])


async def test_offline_glyphs_are_legible_in_every_theme():
    assert len(THEMES) >= 10 and "textual-dark" in THEMES and "textual-light" in THEMES
    assert_legible(await drawn_in_every_theme(offline_app(), nothing_connected, "offline"))


@pytest.mark.parametrize("state", LIVE_STATES)
async def test_every_glyph_is_legible_in_every_theme(state, hosts):
    assert_legible(await drawn_in_every_theme(live_app(hosts), LIVE_STATES[state], state, hosts))


async def test_empty_state_is_legible_in_every_theme(home):
    assert_legible(await drawn_in_every_theme(build_app(None, autoconnect=False), nothing_connected, "empty"))


async def test_config_problems_are_legible_in_every_theme(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("Host good\n  HostName good.example\nBogusKeyword 1\n")
    assert_legible(await drawn_in_every_theme(build_app([str(bad)], autoconnect=False), nothing_connected, "problems"))


async def test_help_screen_is_legible_in_every_theme():
    """Opened afresh per theme: the help screen takes its colours when it opens."""
    app = offline_app()
    rows = []
    async with app.run_test(size=SIZE) as pilot:
        for theme in THEMES:
            app.theme = theme
            await pilot.press("question_mark")
            await pilot.pause()
            # The box only: what shows behind a modal is dimmed on purpose.
            rows += measure(app, theme, "help", app.screen.query_one("VerticalScroll").region)
            await pilot.press("escape")
    assert_legible(rows)


def glyph_color(app, char: str, widget_type: type) -> str:
    """The foreground of the first `char` drawn by a widget of `widget_type`."""
    for x, y, drawn, style in cells(app):
        if drawn == char and isinstance(app.screen.get_widget_at(x, y)[0], widget_type):
            return style.color.triplet.hex
    raise AssertionError(f"no {char!r} in a {widget_type.__name__}")


async def test_theme_switch_recolours_marks_at_once(hosts):
    app = live_app(hosts)
    async with app.run_test(size=SIZE) as pilot:
        await live(pilot, hosts)
        await pilot.press("j")  # lab: gpu-box's mark is off the cursor row, whose colours are the table's
        await pilot.pause()
        dark = [glyph_color(app, "●", HostTable), glyph_color(app, "●", Static)]  # list mark, detail header
        app.theme = "textual-light"
        await pilot.pause()  # no new sample: the theme switch alone must redraw
        light = [glyph_color(app, "●", HostTable), glyph_color(app, "●", Static)]
        ok = colors.palette(app.theme_variables)[colors.OK].color.triplet.hex
        assert light == [ok, ok] and ok not in dark


@pytest.mark.parametrize("theme", ANSI_THEMES)
async def test_terminal_palette_themes_keep_ansi_colours(theme, hosts):
    app = live_app(hosts)
    async with app.run_test(size=SIZE) as pilot:
        app.theme = theme
        await live(pilot, hosts)
        palette = colors.palette(app.theme_variables)
        assert {palette[role].color.type for role in colors.THEME_COLORS if role != colors.MUTED} == {ColorType.STANDARD}
        assert palette[colors.MUTED].dim


@pytest.mark.xfail(strict=True, reason="Textual's Footer keys and DataTable cursor/rows fall below 3:1 in some themes")
async def test_textual_own_widgets_are_legible(hosts):
    """What the tests above leave to Textual, held to the same floor: when this passes, drop the exception."""
    rows = await drawn_in_every_theme(live_app(hosts), forwarded, "forwarded", hosts)
    assert_legible([(contrast, True, text) for contrast, by_jtui, text in rows if not by_jtui])
