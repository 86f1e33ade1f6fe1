"""OpenRaster files written by MyPaint 2.0 (its own library, Debian's package), against MyPaint's own render.

MyPaint 2 blends in linear light (``mypaint:eotf="2.2"``), draws ``svg:plus`` as the Porter-Duff sum, weighs
luminosity 0.3/0.59/0.11 and tests Cs = 0 first in color burn; GenCurve follows those rules for MyPaint's files
(:class:`Rendering`). MyPaint writes ``mergedimage.png`` opaque (a transparent result over black), so the
comparison is our composite over black. The files are made by tests/data/ora/make_mypaint_files.py."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.document.blend import KRITA, Rendering
from gencurve_desktop.document.layers import composite
from gencurve_desktop.document.ora import load_ora, save_ora

DATA = Path(__file__).parent.parent / "data" / "ora"
FILES = sorted((DATA / "mypaint").glob("*.ora")) + sorted((DATA / "mypaint-eotf1").glob("*.ora"))
MATCHING = [p for p in FILES if p.stem != "painted-pigment"]
TOLERANCE = 2  # per channel, 0..255


def mypaint_render(path: Path) -> np.ndarray:
    with zipfile.ZipFile(path) as zf:
        rgba = np.asarray(Image.open(io.BytesIO(zf.read("mergedimage.png"))).convert("RGBA"))
    assert (rgba[..., 3] == 255).all()  # opaque, as the module docstring says
    return rgba[..., :3].astype(int)


def over_black(doc, rendering: Rendering | None = None) -> np.ndarray:
    rules = doc.rendering if rendering is None else rendering
    return composite(doc.layers, doc.size, (0, 0, 0), doc.groups, rules).astype(int)


def test_both_pipelines_and_every_mode_are_covered():
    names = {p.parent.name + "/" + p.stem for p in FILES}
    assert len([n for n in names if "/mode-" in n]) == 40 and "mypaint/painted-pigment" in names
    assert load_ora(DATA / "mypaint" / "mode-src-over.ora").rendering == Rendering.mypaint(2.2)
    assert load_ora(DATA / "mypaint-eotf1" / "mode-src-over.ora").rendering == Rendering.mypaint(1.0)
    assert load_ora(DATA / "krita" / "mode-src-over.ora").rendering == KRITA


@pytest.mark.parametrize("path", MATCHING, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_mypaint_files_match_mypaints_render(path):
    doc = load_ora(path)
    assert np.abs(over_black(doc) - mypaint_render(path)).max() <= TOLERANCE
    assert doc.unsupported_modes() == []


def test_krita_rules_would_not_match_a_mypaint_2_file():
    """What the test above guards: MyPaint 2's linear light changes every semi-transparent overlap."""
    path = DATA / "mypaint" / "painted-normal.ora"
    doc = load_ora(path)
    assert np.abs(over_black(doc, KRITA) - mypaint_render(path)).max() > 40


def test_the_pigment_layer_is_reported_kept_on_save_and_the_rest_still_matches(tmp_path):
    path = DATA / "mypaint" / "painted-pigment.ora"
    doc = load_ora(path)
    assert doc.unsupported_modes() == [("top", "mypaint:spectral-wgm")]
    assert np.abs(over_black(doc) - mypaint_render(path)).max() > TOLERANCE  # drawn as normal: differs, so reported
    # without the pigment layer, the picture is MyPaint's again (the same strokes, top layer in normal mode)
    normal = DATA / "mypaint" / "painted-normal.ora"
    assert np.abs(over_black(load_ora(normal)) - mypaint_render(normal)).max() <= TOLERANCE

    save_ora(doc, tmp_path / "saved.ora")
    again = load_ora(tmp_path / "saved.ora")
    assert again.unsupported_modes() == [("top", "mypaint:spectral-wgm")] and again.rendering == doc.rendering
    assert (again.composite(alpha=True) == doc.composite(alpha=True)).all()
    with zipfile.ZipFile(tmp_path / "saved.ora") as zf:
        stack = zf.read("stack.xml").decode()
        merged = np.asarray(Image.open(io.BytesIO(zf.read("mergedimage.png"))).convert("RGBA"))
    assert 'mypaint:eotf="2.2"' in stack and (merged == doc.composite(alpha=True)).all()

    info = subprocess.run(
        [sys.executable, "-m", "gencurve_desktop.cli.entry", "project", "info", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["unsupported_modes"] == [{"name": "top", "mode": "mypaint:spectral-wgm"}]


@pytest.mark.parametrize("value, eotf", [("2.2", 2.2), ("nan", 1.0), ("inf", 1.0), ("0", 1.0), ("two", 1.0)])
def test_a_damaged_eotf_falls_back_to_stored_values(value, eotf):
    doc = load_ora(DATA / "mypaint" / "mode-src-over.ora")
    doc.extra_image_attrs["{http://mypaint.org/ns/openraster}eotf"] = value
    assert doc.rendering == Rendering.mypaint(eotf)
