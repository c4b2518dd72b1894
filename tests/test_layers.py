"""The layering of DESIGN.md, checked: core without Textual, UI without SSH."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import jtui.core

ROOT = Path(__file__).parent.parent / "jtui"


def core_modules() -> list[str]:
    return sorted(f"jtui.core.{m.name}" for m in pkgutil.iter_modules(jtui.core.__path__))


def test_core_modules_exist():
    assert {"jtui.core.hostsfile", "jtui.core.resolve", "jtui.core.settings", "jtui.core.session"} <= set(core_modules())


def test_core_imports_without_textual():
    """Import every core module in a fresh interpreter; textual must stay out of sys.modules."""
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_source_never_names_textual():
    for path in (ROOT / "core").rglob("*.py"):
        assert not any(n.split(".")[0] == "textual" for n in imported_names(path)), path


def test_ui_never_imports_asyncssh():
    """The UI asks the core; it never opens channels or runs commands itself."""
    for path in [ROOT / "app.py", *(ROOT / "ui").glob("*.py")]:
        assert not any(n.split(".")[0] == "asyncssh" for n in imported_names(path)), path


def test_the_app_draws_its_first_frame_before_asyncssh_is_imported():
    """asyncssh costs a large part of a start-up: the fleet imports it after the first frame, nothing before."""
    code = "import sys, jtui.app\nprint('asyncssh' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
