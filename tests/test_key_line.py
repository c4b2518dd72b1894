"""The key line that replaces Textual's footer where the footer would cut off help and quit: pure text."""

from __future__ import annotations

from jtui.ui.key_line import PALETTE_HINT, footer_width, key_line

KEYS = {"start": "s", "forward": "f", "copy": "c", "open": "o", "stop": "x", "refresh": "r", "filter": "/",
        "help": "?", "quit": "q"}
WORDS = {"start": "start", "forward": "forward", "copy": "copy URL", "open": "open", "stop": "stop",
         "refresh": "refresh", "filter": "filter", "help": "help", "quit": "quit"}
FULL = " s start  f forward  c copy URL  o open  x stop  r refresh  / filter  ? help  q quit"


def line(width: int, keys=KEYS) -> str:
    return key_line(keys.get, width, "", "", words_of=WORDS.get).plain


def test_the_footers_words_exactly_where_they_fit():
    assert line(len(FULL)) == FULL
    assert footer_width(KEYS.get, WORDS.get) == len(FULL) + PALETTE_HINT


def test_narrower_plain_words_then_short_ones_then_what_fits_always_help_and_quit():
    plain = " s start  c copy  f forward  o open  x stop  r refresh  / filter  ? help  q quit"
    assert line(len(FULL) - 1) == plain == line(len(plain))
    short = " s start  c copy  f fwd  o open  x stop  r retry  / find  ? help  q quit"
    assert line(len(plain) - 1) == short == line(len(short))
    assert line(len(short) - 1) == " s start  c copy  f fwd  o open  x stop  r retry  ? help  q quit"
    assert line(24) == " s start  ? help  q quit" and line(23) == " c copy  ? help  q quit"


def test_remapped_keys_take_their_room():
    keys = {**KEYS, "start": "ctrl+s", "stop": "—"}  # "—": not bound at all
    assert line(200, keys) == FULL.replace(" s start", " ctrl+s start").replace("  x stop", "")
