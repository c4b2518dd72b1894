"""The host list's rows, drawn line by line: a new sample redraws one line, not the table."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from jtui.ui.live import ROW_KEYS

MARK_WIDTH = 1
LOAD_WIDTH = 9  # " cpu  mem", "  37%  41%", a short reason
LOAD_LABEL = " cpu  mem"
HOST_LABEL = "host"


@dataclass(frozen=True)
class HostRow:
    """One host's line: what HostList decided to show, in plain data."""

    alias: str
    mark: str
    mark_style: Style
    load: str = ""
    load_style: Style | None = None


class RowMessage(Message):
    """A host row's message; `control` lets handlers match the table's id with @on."""

    def __init__(self, table: HostTable, alias: str | None) -> None:
        super().__init__()
        self.table = table
        self.alias = alias

    @property
    def control(self) -> HostTable:
        return self.table


class HostTable(ScrollView, can_focus=True):
    """One line per host under a fixed header, with a row cursor.

    DataTable rendered the whole table again whenever one cell changed, and
    with 100 hosts sampled at 1 Hz that redraw (tens of ms) sat in front of
    keystrokes; it also built every row's cells before the first frame. Here
    a row is a few segments, made when it is first drawn and kept until it
    changes, so a sample costs one line and 1000 hosts cost what is on screen.
    """

    DEFAULT_CSS = """
    HostTable {
        background: $surface;
        color: $text;
        overflow-x: hidden;
        & > .host-table--header {
            text-style: bold;
            background: $panel;
            color: $text;
        }
        &:ansi > .host-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .host-table--hover {
            background: $block-hover-background;
        }
        & > .host-table--cursor {
            background: $block-cursor-blurred-background;
            color: $text;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .host-table--cursor {
                background: $block-cursor-background;
                color: $text;
                text-style: $block-cursor-text-style;
            }
        }
    }
    """

    COMPONENT_CLASSES = {"host-table--header", "host-table--cursor", "host-table--hover"}

    BINDINGS = [
        *ROW_KEYS,
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "choose", "Choose", show=False),
    ]

    class Highlighted(RowMessage):
        """The cursor moved to another host (by a key or a click)."""

    class Chosen(RowMessage):
        """enter (or a click) on the cursor's host."""

    def __init__(self, *, id: str | None = None, show_load: bool = True) -> None:
        super().__init__(id=id)
        self.show_load = show_load
        self._keys: list[str] = []
        self._rows: dict[str, HostRow] = {}
        self._index: dict[str, int] = {}
        self.cursor_row = 0
        self.hover_row: int | None = None  # under the mouse, shown while it moves (a key hides it, as in DataTable)
        self._host_width = cell_len(HOST_LABEL)
        self._strips: dict[tuple[str, bool], Strip] = {}  # (alias, under the cursor) -> its line
        self._base: Style | None = None  # the widget's own style, until styles change

    # -- data ----------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def selected(self) -> str | None:
        return self._keys[self.cursor_row] if self._keys else None

    def row(self, alias: str) -> HostRow:
        return self._rows[alias]

    def show_rows(self, rows: list[HostRow], cursor_key: str | None = None) -> None:
        """Show these rows in this order; the cursor goes to `cursor_key` if shown, else stays (clamped).

        Posts no Highlighted: the caller knows what it showed.
        """
        self._keys = [row.alias for row in rows]
        self._rows = {row.alias: row for row in rows}
        self._index = {alias: i for i, alias in enumerate(self._keys)}
        self._host_width = max([cell_len(HOST_LABEL), *(cell_len(a) for a in self._keys)])
        self._strips.clear()
        self.hover_row = None
        if cursor_key in self._index:
            self.cursor_row = self._index[cursor_key]
        else:
            self.cursor_row = max(0, min(self.cursor_row, len(self._keys) - 1))
        self.virtual_size = Size(0, len(self._keys) + 1)
        self._scroll_to_cursor()
        self.refresh()

    def update_row(self, row: HostRow) -> None:
        """Redraw this host's line if it looks different; a host not shown is left alone."""
        index = self._index.get(row.alias)
        if index is None or self._rows[row.alias] == row:
            return
        self._rows[row.alias] = row
        self._strips.pop((row.alias, False), None)
        self._strips.pop((row.alias, True), None)
        self._refresh_row(index)

    def set_show_load(self, show: bool) -> None:
        if show != self.show_load:
            self.show_load = show
            self._restyle()

    # -- cursor ----------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row `row` (clamped), posting Highlighted when it moves."""
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        if row == self.cursor_row:
            return
        old, self.cursor_row = self.cursor_row, row
        self._hover_at(None)
        self._refresh_row(old)
        self._refresh_row(row)
        self._scroll_to_cursor()
        self.post_message(self.Highlighted(self, self.selected))

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._keys) - 1)

    def action_choose(self) -> None:
        if self._keys:
            self.post_message(self.Chosen(self, self.selected))

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row is None:
            return
        if row == self.cursor_row:
            self.action_choose()
        else:
            self.move_cursor(row)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._hover_at(self._row_at(event))

    def on_leave(self, event: events.Leave) -> None:
        self._hover_at(None)

    def _row_at(self, event: events.MouseEvent) -> int | None:
        """The row under the mouse, None over the header or below the last row."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return None
        row = int(self.scroll_y) + offset.y - 1
        return row if row < len(self._keys) else None

    def _hover_at(self, row: int | None) -> None:
        if row == self.hover_row:
            return
        for old in (self.hover_row, row):
            if old is not None:
                self._refresh_row(old)
        self.hover_row = row

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _scroll_to_cursor(self) -> None:
        shown = self.scrollable_content_region.height - 1  # rows under the header
        if shown < 1:
            return
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + shown:
            self.scroll_to(y=self.cursor_row - shown + 1, animate=False, immediate=True)

    def _refresh_row(self, index: int) -> None:
        self.refresh_line(index + 1)  # the header is line 0

    # -- drawing ---------------------------------------------------------------

    def _restyle(self) -> None:
        self._strips.clear()
        self._base = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyle()

    def on_resize(self, event: events.Resize) -> None:
        self._restyle()
        self._scroll_to_cursor()

    def on_focus(self, event: events.Focus) -> None:
        self._restyle()

    def on_blur(self, event: events.Blur) -> None:
        self._restyle()

    def width_for(self, names: list[str]) -> int:
        """The width that shows every one of `names` whole, with the figures and a scrollbar."""
        name = max([cell_len(HOST_LABEL), *(cell_len(n) for n in names)])
        return self._others() + name + self.styles.scrollbar_size_vertical

    def _others(self) -> int:
        """What a line takes besides the host's name: the mark, the gaps and the figures."""
        return MARK_WIDTH + 2 + 2 + (LOAD_WIDTH + 2 if self.show_load else 0)

    def _columns(self, width: int) -> int:
        """The host column's width: its longest name, less what a narrow list cannot give."""
        return max(1, min(self._host_width, width - self._others()))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._header(width)
        index = int(self.scroll_y) + y - 1
        if not 0 <= index < len(self._keys):
            return Strip.blank(width, self._base_style())
        alias = self._keys[index]
        cursor = index == self.cursor_row
        if index == self.hover_row and not cursor:  # one line at a time: drawn, not kept
            return self._line(self._rows[alias], width, self.get_component_rich_style("host-table--hover"))
        strip = self._strips.get((alias, cursor))
        if strip is None:
            over = self.get_component_rich_style("host-table--cursor") if cursor else None
            strip = self._strips[alias, cursor] = self._line(self._rows[alias], width, over)
        return strip

    def _base_style(self) -> Style:
        """The widget's own style: computing it walks the DOM (Textual caches its parts' styles itself)."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _header(self, width: int) -> Strip:
        style = self.get_component_rich_style("host-table--header")
        text = " " * (MARK_WIDTH + 2) + " " + pad(HOST_LABEL, self._columns(width)) + " "
        if self.show_load:
            text += " " + pad(LOAD_LABEL, LOAD_WIDTH) + " "
        return Strip([Segment(text, style)]).adjust_cell_length(width, style)

    def _line(self, row: HostRow, width: int, over: Style | None) -> Strip:
        """The row's line; `over` (the cursor's or the hover's style) goes on top of every part."""
        base = self._base_style()

        def styled(style: Style | None) -> Style:
            combined = base + style if style else base
            return combined + over if over else combined

        plain = styled(None)
        host = "  " + pad(row.alias, self._columns(width)) + " "
        segments = [Segment(" ", plain), Segment(pad(row.mark, MARK_WIDTH), styled(row.mark_style)), Segment(host, plain)]
        used = 1 + MARK_WIDTH + cell_len(host)
        if self.show_load:
            segments += [Segment(" ", plain), Segment(pad(row.load, LOAD_WIDTH), styled(row.load_style))]
            used += 1 + LOAD_WIDTH
        if used >= width:  # narrower than its columns: cut
            return Strip(segments).adjust_cell_length(width, plain)
        segments.append(Segment(" " * (width - used), plain))
        return Strip(segments, width)


def pad(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis."""
    if cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    return set_cell_size(text, width - 1) + "…"
