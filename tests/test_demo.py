"""`jtui --demo`: the embedded SSH server serves this machine as host `demo`."""

from __future__ import annotations

import asyncio

import pytest

from jtui.app import build_app
from jtui.core.model import HostState
from tests.harness.jupyter import start_jupyter
from tests.test_ui_keys import api_status, until

pytestmark = pytest.mark.integration


async def test_demo_connects_samples_and_forwards(tmp_path, monkeypatch):
    runtime = tmp_path / "runtime"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    jupyter = start_jupyter(runtime, tmp_path / "nb")
    try:
        app = build_app(demo=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await until(lambda: app.statuses.get("demo") and app.statuses["demo"].state == HostState.CONNECTED, what="demo connected")
            assert app.demo_server is not None
            assert app.selected == "demo"
            await until(lambda: "demo" in app.samples and app.samples["demo"].servers, what="the local server listed")
            await pilot.press("c")
            await until(lambda: app.clipboard.startswith("http://localhost:"), what="copied URL")
            assert await asyncio.to_thread(api_status, app.clipboard) == 200
    finally:
        jupyter.stop()
