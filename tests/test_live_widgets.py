"""Live tables and texts redraw only what changed, and hold no more than one screenful of renders."""

from __future__ import annotations

import gc

from rich.text import Text
from textual.app import App
from textual.geometry import Region

from jtui.ui.idle_gc import MAX_WAIT, QUIET, IdleCollector, full_collection_due
from jtui.ui.live import LiveTable, LiveText, columns_that_fit, fit_table, same_look


def test_same_look_sees_the_base_style_that_rich_equality_ignores():
    assert Text("8888", style="red") == Text("8888", style="green")  # why same_look exists
    assert not same_look(Text("8888", style="red"), Text("8888", style="green"))
    assert same_look(Text("8888", style="red"), Text("8888", style="red"))
    assert not same_look("8888", Text("8888"))
    assert same_look("12%", "12%") and not same_look("12%", "13%")


LABELS = ("name", "state", "cpu", "idle", "c")
ROWS = [("train.ipynb", "busy", "99%", "", "1"), ("explore.ipynb", "idle", "0%", "", "0")]


def test_a_narrow_table_drops_whole_columns_empty_ones_first_until_the_flexible_one_has_room():
    # with a cell's padding: state 7, cpu 5, idle 6, c 3, and 2 for the name's own
    assert columns_that_fit(35, LABELS, ROWS, 0, 12, ("c", "idle")) == LABELS
    assert columns_that_fit(34, LABELS, ROWS, 0, 12, ("c", "idle")) == ("name", "state", "cpu", "c")  # idle: empty
    assert columns_that_fit(29, LABELS, ROWS, 0, 12, ("c", "idle")) == ("name", "state", "cpu", "c")
    assert columns_that_fit(28, LABELS, ROWS, 0, 12, ("c", "idle")) == ("name", "state", "cpu")
    assert columns_that_fit(10, LABELS, ROWS, 0, 12, ("c", "idle")) == ("name", "state", "cpu")  # never the others


def test_the_flexible_column_is_cut_to_the_room_the_kept_columns_leave():
    def rows_for(width: int) -> list[tuple]:
        return [(name if len(name) <= width else "…" + name[-(width - 1):], *rest) for name, *rest in ROWS]

    assert fit_table(0, LABELS, rows_for, 0, 12, 22, ("c",)) == (LABELS, [list(r) for r in ROWS])  # not laid out
    assert fit_table(30, LABELS, rows_for, 0, 12, 22, ("c", "idle"))[1][1] == ["explore.ipynb", "idle", "0%", "0"]
    assert fit_table(29, LABELS, rows_for, 0, 12, 22, ("c", "idle"))[1][1] == ["…plore.ipynb", "idle", "0%", "0"]
    assert fit_table(20, LABELS, rows_for, 0, 12, 22, ("c", "idle"))[1][1] == ["…plore.ipynb", "idle", "0%"]  # the least


def test_a_full_collection_waits_for_a_pause_in_the_keys_but_not_forever():
    assert not full_collection_due(pending=3, threshold=10, quiet_for=60, since_full=60)  # nothing to do yet
    assert not full_collection_due(pending=10, threshold=10, quiet_for=0.1, since_full=1)  # keys are coming
    assert full_collection_due(pending=10, threshold=10, quiet_for=QUIET, since_full=1)
    assert full_collection_due(pending=10, threshold=10, quiet_for=0.1, since_full=MAX_WAIT)


class Board(App):
    def compose(self):
        yield LiveTable(id="t", cursor_type="row")
        yield LiveText(id="x")

    def on_mount(self):
        table = self.query_one(LiveTable)
        table.add_column("host", key="host")
        table.add_column("load", key="load")


def rows(n: int, load: str) -> list[tuple[str, tuple]]:
    return [(f"h{i}", (f"h{i}", Text(load, style="green"))) for i in range(n)]


async def test_the_columns_are_rebuilt_only_when_they_change():
    app = Board()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(LiveTable)
        table.show_rows(rows(3, "10%"))
        table.show_columns(("host", "load"))  # the same: rows stay
        assert table.row_count == 3
        table.show_columns(("host",))
        await pilot.pause()
        assert [str(c.label) for c in table.columns.values()] == ["host"] and table.row_count == 0
        table.show_rows([(key, cells[:1]) for key, cells in rows(3, "")])
        assert table.get_row("h2") == [Text("h2")]


async def test_the_cursor_goes_to_the_row_that_took_the_place_of_one_that_went():
    app = Board()
    async with app.run_test(size=(60, 30)):
        table = app.query_one(LiveTable)
        assert table.show_rows(rows(4, "1%"), "h1", scope="gpu") == "h1"
        # h1 went: the cursor is on h2, where h1 was, and says so (the caller follows it).
        assert table.show_rows([r for r in rows(4, "1%") if r[0] != "h1"], "h1", scope="gpu") == "h2"
        assert table.cursor_row == 1
        # The last row went: the one above it.
        assert table.show_rows(rows(2, "1%"), "h3", scope="gpu") == "h1"
        # Another host's rows, whose own choice is not among them: the first row, not the row number
        # the cursor had, though the keys are the same.
        assert table.show_rows(rows(2, "1%"), None, scope="lab") == "h0"
        # The same list with nothing chosen: the cursor stays where it is.
        table.move_cursor(row=1)
        assert table.show_rows(rows(2, "2%"), None, scope="lab") == "h1"


async def test_rows_shown_again_unchanged_draw_nothing_and_changed_cells_draw_once():
    app = Board()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(LiveTable)
        table.show_rows(rows(20, "10%"), cursor_key="h3")
        await pilot.pause()
        assert table.cursor_row == 3 and table.row_count == 20
        generation = table._update_count
        table.show_rows(rows(20, "10%"), cursor_key="h3")
        assert table._update_count == generation, "identical rows must not invalidate the table"
        changed = rows(20, "10%")
        changed[5] = ("h5", ("h5", Text("10%", style="red")))  # same text, another colour
        table.show_rows(changed, cursor_key="h3")
        assert table._update_count == generation + 1
        assert table.get_cell("h5", "load").style == "red"


async def test_render_caches_hold_one_generation_however_long_figures_change():
    app = Board()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(LiveTable)
        for n in range(60):
            table.show_rows(rows(25, f"{n}%"))
            await pilot.pause()
        # one screen's worth (25 rows of 2 cells and a header), not 60 generations of it
        assert len(table._cell_render_cache) <= 3 * 26 and len(table._line_cache) <= 30
        assert str(table.get_cell("h0", "load")) == "59%"


async def test_a_rebuilt_table_is_as_wide_as_its_rows_now():
    app = Board()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(LiveTable)
        table.show_rows([("a", ("a-very-long-host-name-indeed", "1%"))])
        await pilot.pause()
        table.show_rows([("b", ("b", "1%"))])
        await pilot.pause()
        assert table.columns[table.ordered_columns[0].key].content_width == len("host")


async def test_a_cell_that_grows_or_shrinks_in_place_is_drawn_whole_in_a_column_that_fits_it():
    """Same rows, a cell rewritten (a pane resized, a path shortened to fit): the drawn line shows it all;
    a column gives room back when the table is wider than its pane, and only then (no jumping columns)."""
    app = Board()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(LiveTable)
        table.show_rows([("a", ("~/pro…", "100%"))])
        await pilot.pause()
        table.show_rows([("a", ("~/projects/thesis", "100%"))])
        drawn(table)  # the screen draws before DataTable measures, when idle
        await pilot.pause()
        assert "~/projects/thesis" in drawn(table)[1]

        table.show_rows([("a", ("~/projects/thesis", "9%"))])
        await pilot.pause()
        assert table.columns[table.ordered_columns[1].key].content_width == len("100%"), "it fits: kept"

        table.show_rows([("a", ("~/" + "long/" * 16, "9%"))])  # wider than the pane
        await pilot.pause()
        table.show_rows([("a", ("~/p…", "9%"))])
        drawn(table)
        await pilot.pause()
        assert drawn(table)[1].split() == ["~/p…", "9%"]
        assert table.columns[table.ordered_columns[0].key].content_width == len("host")


def drawn(table: LiveTable) -> list[str]:
    """The table's lines as the screen draws them."""
    return [strip.text for strip in table.render_lines(Region(0, 0, table.size.width, 3))]


async def test_text_from_a_remote_host_is_never_read_as_markup():
    """A command line like `train.py --tags [/x]` would be a closing tag with nothing to close."""
    app = Board()
    async with app.run_test(size=(60, 30)) as pilot:
        table = app.query_one(LiveTable)
        table.show_rows([("a", ("train.py --tags [/x] [bold]", "1%"))])
        await pilot.pause()
        assert "train.py --tags [/x] [bold]" in drawn(table)[1]


async def test_a_live_text_redraws_when_it_looks_different_and_lays_out_when_its_shape_changes():
    app = Board()
    async with app.run_test(size=(60, 30)) as pilot:
        box = app.query_one(LiveText)
        box.show(Text("cpu 10%", style="green"))
        await pilot.pause()
        assert box.size.height == 1
        box.show(Text("cpu 11%", style="green"))
        assert str(box.content) == "cpu 11%"
        box.show(Text("cpu 11%\nmem 40%"))
        await pilot.pause()
        assert box.size.height == 2, "a new line must be laid out"


async def test_the_collector_is_handed_back_as_it_was():
    before = gc.get_threshold()
    collector = IdleCollector()
    collector.start()
    try:
        assert gc.get_threshold()[:2] == before[:2] and gc.get_threshold()[2] > 10**6
        assert gc.get_freeze_count() > 0
        garbage = []
        garbage.append(garbage)  # a cycle only the collector frees
        del garbage
        for _ in range(before[2]):
            gc.collect(1)
        collector.input_seen()
        collector.tick()
        assert collector.full_collections == 0, "keys just came: wait"
    finally:
        collector.stop()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_collector_held_off_for_start_up_comes_on_with_the_first_frame():
    """`jtui` switches the collector off before its imports; IdleCollector.start turns it on."""
    gc.disable()
    collector = IdleCollector()
    try:
        collector.start()
        assert gc.isenabled()
    finally:
        collector.stop()
        assert not gc.isenabled(), "handed back as it was"
        gc.enable()


async def test_jtui_collects_while_the_keys_rest_and_gives_the_collector_back(tmp_path, monkeypatch):
    from jtui.app import build_app

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    hosts = tmp_path / "hosts"
    hosts.write_text("Host a\n  HostName a.invalid\n")
    before = gc.get_threshold()
    app = build_app([str(hosts)], autoconnect=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.idle_gc.running and gc.get_threshold()[2] > 10**6
        await pilot.press("j")
        await pilot.pause()
    assert not app.idle_gc.running and gc.get_threshold() == before and gc.get_freeze_count() == 0
