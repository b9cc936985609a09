"""Every hook is documented in docs/hooks.md (or the owning package's docs) and has a test."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOKSPEC_MODULES = ["evs_core.hookspecs", "evs_perf.hookspecs"]


def _hooks():
    out = []
    for mod_name in HOOKSPEC_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if name.startswith("evs_") and fn.__module__ == mod_name:
                out.append((mod_name, name, fn))
    return out


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))


def _test_sources() -> str:
    files = list((ROOT / "tests").rglob("test_*.py")) + list((ROOT / "packages").glob("*/tests/**/test_*.py"))
    files += list((ROOT / "cli").glob("tests/**/test_*.py"))
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


HOOKS = _hooks()


@pytest.mark.parametrize("mod_name,name,fn", HOOKS, ids=[h[1] for h in HOOKS])
def test_hook_is_documented_with_signature(mod_name, name, fn):
    params = ", ".join(inspect.signature(fn).parameters)
    assert f"`{name}({params})`" in _docs_text(), f"docs/*.md must document `{name}({params})`"
    assert fn.__doc__ and fn.__doc__.strip(), f"{mod_name}.{name} needs a docstring"


@pytest.mark.parametrize("mod_name,name,fn", HOOKS, ids=[h[1] for h in HOOKS])
def test_hook_has_a_test(mod_name, name, fn):
    assert re.search(rf"def test_hook_{name}\b", _test_sources()), f"no test_hook_{name} in the test suites"
