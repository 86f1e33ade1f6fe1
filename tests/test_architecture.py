"""The layer rules (import-linter contracts in pyproject.toml) and the size of modules."""

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gencurve_desktop"


def test_import_contracts_are_kept():
    r = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; lint_imports_command()"],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "9 kept, 0 broken" in r.stdout


def test_modules_stay_small():
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 400} == {}


def test_nothing_the_engine_thread_runs_calls_the_garbage_collector():
    """The desktop runs engine code on its worker thread, where a cyclic collection can destroy Qt objects and
    deadlock (app.py collects on the UI thread only; a gc.collect() in engine/memory.py hung a CI run). Only the
    command-line benchmark, which never runs under the desktop, may collect."""
    import ast

    allowed = {"engine/iteration_bench.py"}  # `gencurve bench` only: main thread, no Qt
    callers = set()
    for p in PACKAGE.rglob("*.py"):
        name = p.relative_to(PACKAGE).as_posix()
        if name.split("/")[0] not in ("engine", "workers", "commands", "document"):
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "collect" and getattr(node.value, "id", "") == "gc":
                callers.add(name)
    assert callers - allowed == set()
