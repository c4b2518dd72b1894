"""The colours jtui picks, by role, taken from the current Textual theme.

Each role starts from one of the theme's semantic colours and is moved towards
black or white only as far as it takes to read on the theme's backgrounds: in
true colour, and once a 256-colour terminal has rounded both colours (Rich's
rounding can turn a dark slate background into mid grey). Themes drawn in the
terminal's own ANSI palette are left to the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.color import ColorSystem
from rich.style import Style
from textual.color import Color

OK = "ok"  # connected, a live forward
WARN = "warn"  # connecting, waiting for input, progress notes
ERROR = "error"  # failed
ACCENT = "accent"  # the jump host
CPU = "cpu"  # sparklines
MEM = "mem"
MUTED = "muted"  # hints and secondary figures

THEME_COLORS = {
    OK: "text-success",
    WARN: "text-warning",
    ERROR: "text-error",
    ACCENT: "text-accent",
    CPU: "text-primary",
    MEM: "text-secondary",
    MUTED: "foreground-muted",
}

MIN_CONTRAST = 4.5  # WCAG AA for text, in true colour
MIN_CONTRAST_256 = 3.0  # after a 256-colour terminal has rounded the colours


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1 to 21."""

    def luminance(color: Color) -> float:
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in color.normalized)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def in_256_colors(color: Color) -> Color:
    """The colour a 256-colour terminal shows: Rich rounds it to the xterm palette."""
    return Color(*color.rich_color.downgrade(ColorSystem.EIGHT_BIT).get_truecolor())


def legible(color: Color, backgrounds: list[Color]) -> Color:
    """`color`, blended towards black or white until it reads on every background."""
    extreme = backgrounds[0].get_contrast_text(1.0)
    for step in range(11):
        candidate = color.blend(extreme, step / 10)
        if all(
            contrast(candidate, bg) >= MIN_CONTRAST
            and contrast(in_256_colors(candidate), in_256_colors(bg)) >= MIN_CONTRAST_256
            for bg in backgrounds
        ):
            return candidate
    return extreme


def _palette(variables: Mapping[str, str]) -> dict[str, Style]:
    background = Color.parse(variables["background"])
    if background.ansi is not None:  # the terminal's palette: its own colours and dim
        styles = {role: Style(color=Color.parse(variables[name]).rich_color) for role, name in THEME_COLORS.items() if role != MUTED}
        return {**styles, MUTED: Style(dim=True)}
    surface = Color.parse(variables["surface"])
    foreground = Color.parse(variables["foreground"])
    # The detail pane sits on $background, table rows on $surface, tinted when the table has focus.
    backgrounds = [background, surface, surface.blend(foreground, 0.05)]
    return {
        role: Style(color=legible(background + Color.parse(variables[name]), backgrounds).rich_color)
        for role, name in THEME_COLORS.items()
    }


_last: tuple[Mapping[str, str], dict[str, Style]] | None = None


def palette(variables: Mapping[str, str]) -> dict[str, Style]:
    """Each role's Rich style for a theme's CSS variables (`App.theme_variables`).

    The app swaps in a new mapping when the theme changes, so one entry keyed by
    identity is the whole cache.
    """
    global _last
    if _last is None or _last[0] is not variables:
        _last = (variables, _palette(variables))
    return _last[1]
