"""The Slurm job form on screen: what the user types must stay visible (no cluster needed)."""

from __future__ import annotations

from textual.widgets import Input

from jtui.core.schedulers.slurm import JobRequest
from jtui.ui.job_form import JobForm
from tests.ui_helpers import offline_app, until


async def test_the_focused_field_shows_what_is_typed():
    """A focused Input took Textual's tall border in a one-line row: its text was drawn nowhere."""
    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()  # the host screen up, as when `s` opens the form
        await app.push_screen(JobForm("hpc", JobRequest(partition="debug")))
        await until(lambda: isinstance(app.screen, JobForm), what="the job form")
        for field, typed in (("time", "0:20:00"), ("mem", "16G"), ("gres", "gpu:1")):
            box = app.screen.query_one(f"#job-{field}", Input)
            box.focus()
            await pilot.press(*typed)
            await pilot.pause()
            assert box.has_focus and box.value == typed
            assert box.content_region.height == 1, f"{field}: no room left for the text"
            assert typed in "".join(s.text for s in box.render_line(0)), field


async def test_fields_typed_in_one_burst_land_in_their_fields():
    """"debug⇥0:10:00⏎" typed fast, or arriving at once over a slow link: tab moves focus
    before the next key is handed out, so no key lands in the field it left; a backspace, ctrl+a,
    ctrl+k or an arrow acts in the field it was typed in, in order with the letters (Textual's
    Input ran them when the key came back up, by when the tab after it had moved focus: "8G⌫G⇧⇥2"
    gave mem "8GG" and an empty cpus, and "debug^A^Kgpu" kept "debug")."""
    from tests.ui_helpers import burst

    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        chosen = []
        await app.push_screen(JobForm("hpc", JobRequest()), chosen.append)
        await until(lambda: isinstance(app.screen, JobForm) and app.focused is not None, what="the job form")
        await burst(pilot, *"debug", "ctrl+a", "ctrl+k", *"gpu", "tab", *"0:10:00", "tab", "tab", *"8G", "backspace",
                    "G", "left", "1", "shift+tab", *"2", "enter")
        await until(lambda: chosen, what="the form submitted")
        assert chosen == [JobRequest(partition="gpu", time="0:10:00", cpus="2", mem="81G")]


async def test_a_refused_value_is_shown_as_typed():
    """The form's error quotes the value: as markup, `[all]` was a style tag and vanished."""
    from textual.widgets import Static

    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await app.push_screen(JobForm("hpc", JobRequest(cpus="[all]")))
        await until(lambda: isinstance(app.screen, JobForm), what="the job form")
        await pilot.press("enter")
        error = app.screen.query_one("#form-error", Static)
        await until(lambda: error.display, what="the error")
        assert "cpus must be a whole number, 1 or more, not '[all]'" in str(error.render())
