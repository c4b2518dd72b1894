"""The host list's line-drawn table: what it shows, its cursor, and that a sample redraws one line."""

from __future__ import annotations

from rich.style import Style
from textual.app import App

from jtui.ui.host_table import HostRow, HostTable, pad
from tests.ui_helpers import screen_lines

GREEN = Style(color="green")


def host_rows(n: int, load: str = " 10%  20%", prefix: str = "host") -> list[HostRow]:
    return [HostRow(f"{prefix}{i:04d}", "●", GREEN, load) for i in range(n)]


class Board(App):
    def __init__(self, rows: list[HostRow], show_load: bool = True) -> None:
        super().__init__()
        self.rows = rows
        self.show_load = show_load
        self.events: list[tuple[str, str | None]] = []

    def compose(self):
        yield HostTable(id="hosts", show_load=self.show_load)

    def on_mount(self):
        table = self.query_one(HostTable)
        table.show_rows(self.rows)
        table.focus()

    def on_host_table_highlighted(self, message: HostTable.Highlighted) -> None:
        self.events.append(("highlighted", message.alias))

    def on_host_table_chosen(self, message: HostTable.Chosen) -> None:
        self.events.append(("chosen", message.alias))


def background(app, y: int):
    """The background colour line `y` of the screen starts with."""
    return next(iter(app.screen._compositor.render_strips()[y])).style.bgcolor


def test_pad_fits_text_to_its_column():
    assert pad("lab", 5) == "lab  "
    assert pad("workstation", 6) == "works…"
    assert pad("", 3) == "   "


async def test_rows_show_under_a_header_with_their_figures():
    app = Board([HostRow("gpu-box", "●", GREEN, " 37%  41%"), HostRow("old-box", "✗", GREEN, "denied", GREEN)])
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        assert lines[0] == "    host      cpu  mem"
        assert lines[1] == " ●  gpu-box   37%  41%"
        assert lines[2] == " ✗  old-box  denied"


async def test_keys_move_the_cursor_and_enter_chooses():
    app = Board(host_rows(5))
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(HostTable)
        await pilot.press("j", "j", "down", "k")
        assert table.selected == "host0002"
        assert app.events == [("highlighted", a) for a in ("host0001", "host0002", "host0003", "host0002")]
        await pilot.press("end")
        assert table.selected == "host0004"
        await pilot.press("j")  # past the last row: nothing moves, nothing is said
        assert app.events[-1] == ("highlighted", "host0004")
        await pilot.press("enter")
        assert app.events[-1] == ("chosen", "host0004")


async def test_a_click_moves_the_cursor_and_a_second_one_chooses():
    app = Board(host_rows(5))
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.click(HostTable, offset=(6, 3))  # the header is line 0: line 3 is the third host
        assert app.events == [("highlighted", "host0002")]
        await pilot.click(HostTable, offset=(6, 3))
        assert app.events[-1] == ("chosen", "host0002")


async def test_the_row_under_the_mouse_is_highlighted_until_a_key_moves_the_cursor():
    app = Board(host_rows(5))
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.pause()
        plain = background(app, 3)
        await pilot.hover(HostTable, offset=(6, 3))  # the third host
        await pilot.pause()
        assert background(app, 3) not in (plain, background(app, 1))  # neither a plain row nor the cursor's
        assert background(app, 4) == plain
        assert app.events == []  # hovering moves no cursor
        await pilot.hover(HostTable, offset=(6, 4))
        await pilot.pause()
        assert background(app, 3) == plain and background(app, 4) != plain
        await pilot.press("j")
        await pilot.pause()
        assert background(app, 4) == plain  # the keyboard took over, as in a DataTable


async def test_the_cursor_stays_on_screen_among_a_thousand_hosts():
    app = Board(host_rows(1000))
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(HostTable)
        await pilot.press("end")
        await pilot.pause()
        assert table.selected == "host0999"
        assert screen_lines(app)[0].strip().startswith("host")  # the header stays
        assert any("host0999" in line for line in screen_lines(app))
        await pilot.press("pageup", "home")
        await pilot.pause()
        assert table.selected == "host0000" and "host0000" in screen_lines(app)[1]


async def test_a_narrow_list_cuts_long_names_and_keeps_the_figures():
    app = Board([HostRow("a-very-long-host-name.example.org", "●", GREEN, " 37%  41%")])
    async with app.run_test(size=(26, 4)) as pilot:
        await pilot.pause()
        line = screen_lines(app)[1]
        assert "…" in line and line.endswith("37%  41%") and len(line) <= 26


async def test_without_the_load_column_the_names_get_the_room():
    app = Board([HostRow("gpu-box", "●", GREEN, " 37%  41%")], show_load=False)
    async with app.run_test(size=(20, 4)) as pilot:
        await pilot.pause()
        assert screen_lines(app)[:2] == ["    host", " ●  gpu-box"]


async def test_a_sample_redraws_its_own_line_only():
    """Why this widget exists: a DataTable drew every row again for one changed figure."""
    rows = host_rows(30)
    app = Board(rows)
    async with app.run_test(size=(40, 40)) as pilot:
        table = app.query_one(HostTable)
        await pilot.pause()
        drawn: list[str] = []
        line = table._line
        table._line = lambda row, width, over: drawn.append(row.alias) or line(row, width, over)
        table.update_row(HostRow("host0007", "●", GREEN, " 99%  20%"))
        table.update_row(rows[8])  # unchanged: nothing to draw
        table.update_row(HostRow("elsewhere", "●", GREEN))  # not shown: ignored
        await pilot.pause()
        assert drawn == ["host0007"]
        assert " ●  host0007   99%  20%" in screen_lines(app)


async def test_showing_new_rows_keeps_the_cursor_on_its_host():
    app = Board(host_rows(10))
    async with app.run_test(size=(40, 14)) as pilot:
        table = app.query_one(HostTable)
        table.move_cursor(6)
        table.show_rows(host_rows(10)[5:], cursor_key="host0006")
        assert table.selected == "host0006" and table.cursor_row == 1
        table.show_rows(host_rows(3), cursor_key="gone")  # not shown: the row number stays
        assert table.selected == "host0001"
        table.move_cursor(2)
        table.show_rows(host_rows(2), cursor_key="gone")  # clamped
        assert table.selected == "host0001"
        table.show_rows([])
        assert table.selected is None and table.row_count == 0
        await pilot.pause()
