"""The four-layer rule (DESIGN §4): document imports neither Qt nor torch; engine, commands, batch and cli import
no Qt."""

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gencurve_desktop"


def modules_of(subpackage):
    return sorted(
        "gencurve_desktop." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for p in (PACKAGE / subpackage).rglob("*.py")
        if p.name != "__init__.py"
    )


def loaded_after_import(modules):
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_document_imports_neither_qt_nor_torch():
    loaded = loaded_after_import(modules_of("document"))
    assert not {m for m in loaded if m.split(".")[0] in {"torch", "diffusers", "PySide6", "pyqtgraph"}}


@pytest.mark.parametrize(
    "modules",
    [
        modules_of("engine"),
        modules_of("commands"),
        modules_of("batch"),
        [m for m in modules_of("cli") if not m.endswith(".__main__")],  # __main__ would run the program
    ],
)
def test_engine_and_cli_import_no_qt(modules):
    loaded = loaded_after_import(modules)
    assert not {m for m in loaded if m.split(".")[0] in {"PySide6", "pyqtgraph", "shiboken6"}}
