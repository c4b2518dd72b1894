"""The keys on one short line, for terminals too narrow for Textual's footer.

What fits, most useful first, always ending with help and quit, in the
keys the user has bound (config.toml's [keys]).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

# (binding id, word): the order in which keys get the room there is.
KEYS = (("start", "start"), ("copy", "copy"), ("forward", "fwd"), ("open", "open"), ("stop", "stop"),
        ("refresh", "retry"), ("filter", "find"))
ALWAYS = (("help", "help"), ("quit", "quit"))
TYPING = (("enter", "keep filter"), ("esc", "clear filter"))  # while the host filter is typed into


def key_line(keys_of, width: int, key_style, word_style, typing: bool = False) -> Text:
    """As many keys as fit in `width`, then help and quit; keys_of(id) gives a binding's keys as shown."""
    if typing:
        return _line(TYPING, key_style, word_style)
    tail = [(keys_of(i), w) for i, w in ALWAYS]
    room = width - sum(len(k) + len(w) + 3 for k, w in tail)
    chosen = []
    for binding_id, word in KEYS:
        keys = keys_of(binding_id)
        cost = len(keys) + len(word) + 3
        if keys == "—" or cost > room:
            continue
        chosen.append((keys, word))
        room -= cost
    return _line([*chosen, *tail], key_style, word_style)


def _line(pairs, key_style, word_style) -> Text:
    text = Text(" ")
    for keys, word in pairs:
        text.append(keys, style=key_style)
        text.append(f" {word}  ", style=word_style)
    return text


class KeyLine(Static):
    """Shown instead of the footer when the terminal is narrow."""

    typing = False  # the host filter is typed into: its keys, not the actions'

    def redraw(self) -> None:
        from jtui.ui import colors

        palette = colors.palette(self.app.theme_variables)
        width = self.size.width or self.app.size.width
        self.update(key_line(self.app.keys_of, width, palette[colors.ACCENT], palette[colors.MUTED], self.typing))

    def on_resize(self) -> None:
        self.redraw()
