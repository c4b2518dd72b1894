"""The keys on one short line, for terminals too narrow for Textual's footer.

All of them in the footer's words when they fit; else in plainer words,
else what fits, most useful first; always ending with help and quit, in the
keys the user has bound (config.toml's [keys]).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

# (binding id, word, short word): the order in which keys get the room there is.
KEYS = (("start", "start", "start"), ("copy", "copy", "copy"), ("forward", "forward", "fwd"), ("open", "open", "open"),
        ("stop", "stop", "stop"), ("refresh", "refresh", "retry"), ("filter", "filter", "find"))
ALWAYS = (("help", "help"), ("quit", "quit"))
FOOTER = ("start", "forward", "copy", "open", "stop", "refresh", "filter", "help", "quit")  # its order
PALETTE_HINT = 16  # what Textual's footer needs besides the keys: ^p palette (14), a space after the last key, one spare
TYPING = (("enter", "keep filter"), ("esc", "clear filter"))  # while the host filter is typed into


def full_line(keys_of, words_of) -> list[tuple[str, str]]:
    """Every key in the footer's order and words (words_of(id): a binding's description)."""
    return [(keys, words_of(i)) for i in FOOTER if (keys := keys_of(i)) != "—"]


def footer_width(keys_of, words_of) -> int:
    """The columns Textual's footer needs to show every key: fewer, and it cuts off help and quit."""
    return _line(full_line(keys_of, words_of), "", "").cell_len + PALETTE_HINT


def key_line(keys_of, width: int, key_style, word_style, typing: bool = False, words_of=None) -> Text:
    """Every key in the footer's words (`words_of`) if they fit in `width`; else every key in
    plain words, else in short ones, else as many as fit; then help and quit. keys_of(id) gives
    a binding's keys as shown."""
    if typing:
        return _line(TYPING, key_style, word_style)
    if words_of is not None:
        full = _line(full_line(keys_of, words_of), key_style, word_style)
        if full.cell_len <= width:
            return full
    tail = [(keys_of(i), w) for i, w in ALWAYS]
    room = width + 1 - sum(len(k) + len(w) + 3 for k, w in tail)  # 3: a space inside, two after; none after the last
    for column in (1, 2):
        chosen, everything = _fit(keys_of, [(entry[0], entry[column]) for entry in KEYS], room)
        if everything:
            break
    return _line([*chosen, *tail], key_style, word_style)


def _fit(keys_of, words: list[tuple[str, str]], room: int) -> tuple[list[tuple[str, str]], bool]:
    """The (keys, word) pairs that fit in `room`, in order; and whether all of them did."""
    chosen, everything = [], True
    for binding_id, word in words:
        keys = keys_of(binding_id)
        cost = len(keys) + len(word) + 3
        if keys == "—":
            continue
        if cost > room:
            everything = False
            continue
        chosen.append((keys, word))
        room -= cost
    return chosen, everything


def _line(pairs, key_style, word_style) -> Text:
    text = Text(" ")
    for n, (keys, word) in enumerate(pairs):
        if n:
            text.append("  ")
        text.append(keys, style=key_style)
        text.append(f" {word}", style=word_style)
    return text


class KeyLine(Static):
    """Shown instead of the footer when the terminal is too narrow for it."""

    typing = False  # the host filter is typed into: its keys, not the actions'

    def redraw(self) -> None:
        from jtui.ui import colors

        palette = colors.palette(self.app.theme_variables)
        width = self.size.width or self.app.size.width
        self.update(key_line(self.app.keys_of, width, palette[colors.ACCENT], palette[colors.MUTED], self.typing,
                             self.app.words_of))

    def on_resize(self) -> None:
        self.redraw()
