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


def key_line(keys_of, width: int, key_style, word_style) -> Text:
    """As many keys as fit in `width`, then help and quit; keys_of(id) gives a binding's keys as shown."""
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
    text = Text(" ")
    for keys, word in [*chosen, *tail]:
        text.append(keys, style=key_style)
        text.append(f" {word}  ", style=word_style)
    return text


class KeyLine(Static):
    """Shown instead of the footer when the terminal is narrow."""

    def redraw(self) -> None:
        from jtui.ui import colors

        palette = colors.palette(self.app.theme_variables)
        width = self.size.width or self.app.size.width
        self.update(key_line(self.app.keys_of, width, palette[colors.ACCENT], palette[colors.MUTED]))

    def on_resize(self) -> None:
        self.redraw()
