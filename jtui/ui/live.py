"""Widgets for figures that change every second: they redraw only what looks different."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import VisualType
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellType


# j and k beside the arrows in every list of rows; their ids are what [keys] remaps.
ROW_KEYS = [
    Binding("j", "cursor_down", "Down", show=False, id="down"),
    Binding("k", "cursor_up", "Up", show=False, id="up"),
]

CELL_PADDING = 1  # DataTable's default, on each side of every cell

# DataTable's render caches keyed by its update count (Textual 8).
GENERATION_CACHES = ("_row_render_cache", "_cell_render_cache", "_row_renderable_cache", "_line_cache")


def same_look(old: object, new: object) -> bool:
    """Whether two cells or texts would look the same; rich's Text equality ignores the base style."""
    if isinstance(old, Text) and isinstance(new, Text):
        return old.plain == new.plain and old.style == new.style and old.spans == new.spans
    return type(old) is type(new) and old == new


class LiveText(Static):
    """A Static that is redrawn only when its text looks different, and laid out only when its shape may change.

    Static.update asks for a layout of the whole screen every time; with
    figures changing every second, that was a full layout per sample of the
    host on screen, in the way of every keystroke.
    """

    def show(self, content: VisualType) -> None:
        old = self.content
        if same_look(old, content):
            return
        self.update(content, layout=not self._same_shape(old, content))

    def _same_shape(self, old: VisualType, new: VisualType) -> bool:
        """Same number of lines, none wider than the widget: laying out again would move nothing."""
        if not isinstance(old, (str, Text)) or not isinstance(new, (str, Text)):
            return False
        if self.styles.width is not None and self.styles.width.is_auto:
            return False
        width = self.content_size.width
        old_lines, new_lines = lines_of(old), lines_of(new)
        return (len(old_lines) == len(new_lines) and width > 0
                and all(cell_len(line) <= width for line in old_lines + new_lines))


def as_text(value: CellType) -> CellType:
    """A string as plain Text: DataTable reads a str as markup, and these come from remote hosts
    (a command line with `[/x]` in it would stop the table from drawing)."""
    return Text(value) if isinstance(value, str) else value


def cell_width(value: CellType) -> int:
    """The cells a table cell's value takes on one line."""
    return value.cell_len if isinstance(value, Text) else cell_len(str(value))


def room_left(width: int, labels: Sequence[str], rows: Sequence[Sequence[CellType]], flexible: int) -> int:
    """The cells column `flexible` has in a table `width` wide, once every other column has its widest cell."""
    used = sum(
        max([cell_len(label), *(cell_width(row[i]) for row in rows)]) + 2 * CELL_PADDING
        for i, label in enumerate(labels) if i != flexible
    )
    return width - used - 2 * CELL_PADDING


def columns_that_fit(width: int, labels: Sequence[str], rows: Sequence[Sequence[CellType]], flexible: int,
                     least: int, drop: Sequence[str]) -> tuple[str, ...]:
    """The columns a table `width` wide shows: all of them, unless column `flexible` would get
    fewer than `least` cells; then the columns in `drop` go, empty ones first, else in that order,
    until it gets them. A narrow table keeps its most useful columns whole instead of cutting
    off the ones on the right."""
    def empty(label: str) -> bool:
        i = labels.index(label)
        return all(cell_width(row[i]) == 0 for row in rows)

    shown = list(labels)
    for label in sorted(drop, key=lambda label: not empty(label)):  # stable: empty first, else in order
        kept = [i for i, name in enumerate(labels) if name in shown]
        cells = [[row[i] for i in kept] for row in rows]
        if room_left(width, shown, cells, shown.index(labels[flexible])) >= least:
            break
        shown.remove(label)
    return tuple(shown)


def fit_table(width: int, labels: Sequence[str], rows_for: Callable[[int], Sequence[Sequence[CellType]]],
              flexible: int, least: int, most: int, drop: Sequence[str]) -> tuple[tuple[str, ...], list[list[CellType]]]:
    """The columns and cells of a table `width` wide whose column `flexible` is cut to fit
    (`rows_for(n)`: the rows with that column in n cells): between `least` and `most` cells,
    the columns in `drop` going first (columns_that_fit). Width 0 (not laid out yet): all of it."""
    rows = rows_for(most)
    if not width:
        return tuple(labels), [list(row) for row in rows]
    shown = columns_that_fit(width, labels, rows, flexible, least, drop)
    kept = [labels.index(label) for label in shown]

    def pick(rows: Sequence[Sequence[CellType]]) -> list[list[CellType]]:
        return [[row[i] for i in kept] for row in rows]

    room = max(least, min(most, room_left(width, shown, pick(rows), shown.index(labels[flexible]))))
    return shown, pick(rows if room == most else rows_for(room))


def lines_of(text: str | Text) -> list[str]:
    plain = str(text)
    return plain.split("\n") if plain else []


class LiveTable(DataTable):
    """DataTable that redraws only what changed and keeps only what it can draw.

    Every update_cell makes DataTable render the whole table again, so cells
    are written only when they look different. DataTable also keys its
    render caches by that update count: with live figures no entry is read
    after the next update, yet each stays until its cache is full (10,000
    cells and 1,000 rows, lines and row renderables per table). With a few
    tables updating every second that was a climb of several MiB a minute,
    and thousands of objects for the collector to walk.
    """

    BINDINGS = ROW_KEYS

    _cached_generation: object = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown_keys: list[str] = []
        self._scope: object = None  # whose rows _shown_keys are (show_rows)

    @property
    def key_under_cursor(self) -> str | None:
        """The row under the cursor now: its RowHighlighted may still be queued behind other keys."""
        keys = self._shown_keys
        return keys[self.cursor_row] if 0 <= self.cursor_row < len(keys) else None

    def clear(self, columns: bool = False):
        self._shown_keys = []
        return super().clear(columns)

    def show_columns(self, labels: Sequence[str]) -> None:
        """Show these columns (each keyed by its label), rebuilding the table when they change."""
        if tuple(self.columns) != tuple(labels):
            self.clear(columns=True)
            for label in labels:
                self.add_column(label, key=label)

    def set_cell(self, row_key, column_key, value: CellType, *, update_width: bool = False) -> None:
        """update_cell, skipped when the cell would look the same: every write redraws the whole table."""
        if not same_look(self.get_cell(row_key, column_key), value):
            self.update_cell(row_key, column_key, value, update_width=update_width)

    def show_rows(self, rows: Sequence[tuple[str, Sequence[CellType]]], cursor_key: str | None = None,
                  scope: object = None) -> str | None:
        """Show these rows in this order: rebuilt when the keys change, else cell by cell.

        The cursor goes to `cursor_key` when it is shown. Else, in the same
        list as before (`scope`: whose rows these are), it goes to the row
        that took the place of `cursor_key`'s when that row has just gone (a
        server stopped, a kernel shut down), as in any list, or stays on its
        row (clamped); in another list, to the first row. No RowHighlighted
        is posted: the key under the cursor is returned, for the caller to
        follow when it is not `cursor_key`.
        """
        same_list = scope == self._scope
        before = self._shown_keys if same_list else []
        self._scope = scope
        keys = [key for key, _ in rows]
        rows = [(key, [as_text(cell) for cell in cells]) for key, cells in rows]
        with self.prevent(DataTable.RowHighlighted):
            if keys != self._shown_keys or self._widths_change(rows):
                self.clear()
                for column in self.columns.values():  # clear() keeps the widest cell ever shown
                    if column.auto_width:
                        column.content_width = column.label.cell_len
                for key, cells in rows:
                    self.add_row(*cells, key=key)
                self._shown_keys = keys
            else:
                columns = list(self.columns)
                for key, cells in rows:
                    for column, value in zip(columns, cells):
                        self.set_cell(key, column, value)
            if keys:
                if cursor_key in keys:
                    row = keys.index(cursor_key)
                elif cursor_key in before:  # its row went
                    row = min(before.index(cursor_key), len(keys) - 1)
                elif same_list:
                    row = min(self.cursor_row, len(keys) - 1)
                else:
                    row = 0
                if row != self.cursor_row:
                    self.move_cursor(row=row)
        return self.key_under_cursor

    def _widths_change(self, rows: Sequence[tuple[str, Sequence[CellType]]]) -> bool:
        """Whether a column must grow for these rows, or the table no longer fits and a column can shrink.

        Rows written cell by cell keep their columns' widths: DataTable
        measures updated cells only when idle, after it has drawn and cached
        the rows with the old widths, and a table whose cells then stay the
        same never draws them again. Added rows are measured before drawing.
        A column that fits keeps its width when its cells get shorter, so that
        the columns after it do not jump left and right with the figures.
        """
        columns = [c for c in self.columns.values() if c.auto_width]
        index = {key: i for i, key in enumerate(self.columns)}
        wanted = [max([c.label.cell_len, *(cell_width(cells[index[c.key]]) for _, cells in rows)]) for c in columns]
        if any(w > c.content_width for w, c in zip(wanted, columns)):
            return True
        too_wide = sum(c.get_render_width(self) for c in self.columns.values()) > self.size.width
        return too_wide and any(w < c.content_width for w, c in zip(wanted, columns))

    def render_lines(self, crop: Region) -> list[Strip]:
        # DataTable's private parts: looked up by name, so that a Textual
        # that renames them costs memory (tests/test_live_widgets.py says
        # so), not a crash.
        # Column widths are part of it: DataTable measures new cells when idle,
        # after drawing them, without counting an update.
        generation = (getattr(self, "_update_count", None), tuple(c.content_width for c in self.columns.values()))
        if generation != self._cached_generation:
            self._cached_generation = generation
            for name in GENERATION_CACHES:
                cache = getattr(self, name, None)
                if cache is not None:
                    cache.clear()
        return super().render_lines(crop)
