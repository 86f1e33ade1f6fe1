"""OpenRaster files made by other software (pyora, Krita), against Krita's own renders: every blend mode of the
spec, nested groups with opacity, hidden groups, offsets, isolated and pass-through groups, 16-bit layers; Save
As keeps the tree and the modes; a file GenCurve wrote comes back from Krita with its picture and its tree.

The files and renders are made by tests/data/ora/make_editor_files.py (pyora from pip, Krita from Debian)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.document.blend import SUPPORTED
from gencurve_desktop.document.changes import MoveLayer, SetGroupProps
from gencurve_desktop.document.layers import layer_tree
from gencurve_desktop.document.ora import load_ora, save_ora

DATA = Path(__file__).parent.parent / "data" / "ora"
SOURCES = sorted((DATA / "pyora").glob("*.ora"))
TOLERANCE = 2  # per channel, 0..255


def premultiplied(rgba: np.ndarray) -> np.ndarray:
    """Colour times alpha, and alpha: where a pixel is transparent its colour means nothing."""
    a = rgba.astype(np.float64)
    return np.concatenate([a[..., :3] * a[..., 3:] / 255.0, a[..., 3:]], axis=2)


def krita_render(name: str) -> np.ndarray:
    """Krita's render of the file, or pyora's for the one Krita cannot open (16-bit layers, see the maker)."""
    path = DATA / "krita-render" / f"{name}.png"
    if not path.exists():
        path = DATA / "pyora-render" / f"{name}.png"
    return np.asarray(Image.open(path).convert("RGBA"))


def differs(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.abs(premultiplied(ours) - premultiplied(theirs)).max())


def test_every_mode_of_the_spec_has_a_file():
    modes = {p.stem.removeprefix("mode-") for p in SOURCES if p.stem.startswith("mode-")}
    assert {op.split(":")[1] for op in SUPPORTED} == modes and len(modes) == 20


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_pyora_files_match_kritas_render(source):
    assert differs(load_ora(source).composite(alpha=True), krita_render(source.stem)) <= TOLERANCE


@pytest.mark.parametrize("source", [p for p in SOURCES if (DATA / "krita" / p.name).exists()], ids=lambda p: p.stem)
def test_files_krita_wrote_match_kritas_render(source):
    doc = load_ora(DATA / "krita" / source.name)
    assert differs(doc.composite(alpha=True), krita_render(source.stem)) <= TOLERANCE
    assert doc.unsupported_modes() == []


def tree_of(doc) -> list:
    """The tree as nested (name, visible, opacity rounded, mode) tuples, bottom first."""

    def node(n):
        if hasattr(n, "pixels"):
            return (n.name, n.visible, round(n.opacity, 2), n.composite_op)
        g = n.group
        return (g.name, g.visible, round(g.opacity, 2), g.composite_op, [node(c) for c in n.children])

    return [node(c) for c in layer_tree(doc.layers, doc.groups).children]


def test_the_tree_is_read_with_each_groups_own_properties():
    doc = load_ora(DATA / "pyora" / "groups-isolated.ora")
    tree = tree_of(doc)
    assert [t[0] for t in tree] == ["backdrop", "outer", "hidden", "passthrough"]
    outer = tree[1]
    assert outer[2] == 0.7 and [c[0] for c in outer[4]] == ["disc", "inner"]
    assert outer[4][1][2] == 0.6 and outer[4][1][4][1][3] == "svg:multiply"  # inner / small
    assert tree[2][1] is False  # the hidden group
    assert doc.groups and all(g.isolated for g in doc.groups.values())


@pytest.mark.parametrize("name", ["groups-isolated", "groups-auto", "mode-luminosity", "mode-dst-in", "deep16"])
def test_save_as_keeps_groups_and_modes_and_still_matches(tmp_path, name):
    doc = load_ora(DATA / "pyora" / f"{name}.ora")
    save_ora(doc, tmp_path / "saved.ora")
    again = load_ora(tmp_path / "saved.ora")
    assert tree_of(again) == tree_of(doc)
    assert {g.extra_attrs.get("isolation") for g in again.groups.values()} == {
        g.extra_attrs.get("isolation") for g in doc.groups.values()
    }
    assert differs(again.composite(alpha=True), krita_render(name)) <= TOLERANCE
    merged = load_merged(tmp_path / "saved.ora")  # the file's own mergedimage.png agrees with its layers
    assert differs(merged, krita_render(name)) <= TOLERANCE


def load_merged(path: Path) -> np.ndarray:
    import io
    import zipfile

    with zipfile.ZipFile(path) as zf:
        return np.asarray(Image.open(io.BytesIO(zf.read("mergedimage.png"))).convert("RGBA"))


def test_gencurve_to_krita_to_gencurve_keeps_picture_and_tree():
    ours = load_ora(DATA / "gencurve" / "gencurve-tree.ora")
    back = load_ora(DATA / "krita" / "gencurve-tree.ora")  # Krita opened GenCurve's file and saved it
    assert tree_of(back) == tree_of(ours)
    assert differs(back.composite(alpha=True), ours.composite(alpha=True)) <= TOLERANCE
    assert differs(ours.composite(alpha=True), krita_render("gencurve-tree")) <= TOLERANCE


def test_a_mode_we_do_not_draw_is_reported_and_kept(tmp_path):
    doc = load_ora(DATA / "pyora" / "mode-multiply.ora")
    doc.layers[-1].extra_attrs["composite-op"] = "mypaint:spectral-wgm"  # MyPaint 2's pigment layers
    assert doc.unsupported_modes() == [("blended", "mypaint:spectral-wgm")]
    save_ora(doc, tmp_path / "p.ora")
    again = load_ora(tmp_path / "p.ora")
    assert again.layers[-1].composite_op == "mypaint:spectral-wgm" and again.unsupported_modes()


def test_moving_a_layer_one_step_past_a_group_edge_takes_it_in_and_out():
    doc = load_ora(DATA / "pyora" / "groups-isolated.ora")
    names = [ly.name for ly in doc.layers]
    assert names[:2] == ["backdrop", "disc"]
    backdrop = doc.layers[0]
    move = MoveLayer(backdrop.id, 1)
    move.apply(doc)  # onto "disc", inside "outer"
    assert doc.groups[backdrop.parent].name == "outer"
    assert [t[0] for t in tree_of(doc)] == ["outer", "hidden", "passthrough"]
    move.revert(doc)
    assert backdrop.parent is None and [ly.name for ly in doc.layers] == names


def test_group_properties_are_undoable():
    doc = load_ora(DATA / "pyora" / "groups-isolated.ora")
    outer = next(g for g in doc.groups.values() if g.name == "outer")
    before = doc.composite()
    change = SetGroupProps(outer.id, visible=False, opacity=0.2)
    change.apply(doc)
    assert not np.array_equal(doc.composite(), before)
    change.revert(doc)
    assert np.array_equal(doc.composite(), before) and outer.opacity == pytest.approx(0.7)


def test_a_16_bit_layer_is_read_with_its_16_bit_values_and_saved_at_16_bits(tmp_path):
    import zipfile

    import cv2

    doc = load_ora(DATA / "pyora" / "deep16.ora")
    with zipfile.ZipFile(DATA / "pyora" / "deep16.ora") as zf:
        name = sorted(n for n in zf.namelist() if n.lstrip("/").startswith("data/layer"))[-1]
        deep = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]]
    assert deep.dtype == np.uint16
    assert np.array_equal(doc.layers[-1].deep, deep)  # pyora's 16-bit values, exactly
    assert np.array_equal(doc.layers[-1].pixels, np.rint(deep / 257.0))  # the nearest 8-bit values
    save_ora(doc, tmp_path / "saved.ora")
    assert np.array_equal(load_ora(tmp_path / "saved.ora").layers[-1].deep, deep)
