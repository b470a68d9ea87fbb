"""The arrows between the top-level packages point one way (DESIGN.md, "Layout")::

    demo, pownce.api -> notes -> accounts -> pownce, cache

``cache/`` is a library and ``pownce/`` the project's infrastructure (settings, router, health,
metrics, counters): neither imports an app. ``pownce/api/`` is an app of its own (the client
API) that sits on top of the others like ``demo/``: it may import them, and nothing imports it.
No app imports ``demo/`` (the seed and bench code).
Every import statement counts, a function's local ``import`` included: a late import is still an
arrow. ``pownce/settings.py`` and ``pownce/urls.py`` name the apps as strings (INSTALLED_APPS,
``include("notes.urls")``), which is what a project's composition root does, not an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "notes", "demo", "pownce.api")
# What each package must not import, by top-level name (``pownce.api`` by its full name).
FORBIDDEN = {
    "cache": {"pownce", *APPS},
    "pownce": set(APPS),
    "accounts": {"notes", "demo", "pownce.api"},
    "notes": {"demo", "pownce.api"},
    "pownce/api": {"demo"},
}
# Packages inside another package that are checked on their own (not as part of the outer one).
INNER = {"pownce": ("api",)}


def imported_packages(path: Path) -> set[str]:
    """The top-level names ``path`` imports (absolute imports; relative ones stay inside)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(_top(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(_top(node.module))
    return names


def _top(module: str) -> str:
    """The package a module belongs to: its top-level name, or ``pownce.api`` for the API."""
    return "pownce.api" if module == "pownce.api" or module.startswith("pownce.api.") else module.split(".")[0]


def upward_imports(package: str) -> list[str]:
    inner = [ROOT / package / name for name in INNER.get(package, ())]
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if not any(path.is_relative_to(folder) for folder in inner)
        for name in sorted(imported_packages(path) & FORBIDDEN[package])
    ]


def test_the_import_check_sees_late_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from notes.models import Note\n    import demo.bench\n")
    assert imported_packages(module) == {"notes", "demo"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_upward(package):
    assert upward_imports(package) == []
