"""OpenRaster round trips, interoperability with an independent implementation (pyora), hostile files."""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.document.changes import AddEdit, AddLayer, MaskStroke, SetLayerProps, SetReference
from gencurve_desktop.document.document import Document, EditRecord
from gencurve_desktop.document.layers import Layer
from gencurve_desktop.document.ora import load_ora, ora_bytes, save_ora
from gencurve_desktop.errors import BadInputError


@pytest.fixture
def doc(sample_rgb):
    d = Document.from_image(sample_rgb)
    rng = np.random.default_rng(0)
    half = rng.integers(0, 255, (128, 128, 4), dtype=np.uint8)  # partial alpha everywhere
    AddLayer(Layer("Noise", half, opacity=0.5)).apply(d)
    stroke = np.zeros((128, 128), bool)
    stroke[10:30, 20:50] = True
    MaskStroke.paint(d, stroke).apply(d)
    SetReference((5, 6)).apply(d)
    edited = sample_rgb.copy()
    edited[10:30, 20:50] = 0
    prov = {
        "task": "remove",
        "params": {"seed": 3, "lr": 0.05},
        "model_id": "demo",
        "iterations": 2,
        "loss": [0.5, 0.25],
        "source_curve_before": [1.0, 2.0],
        "seconds": 1.5,
    }
    AddEdit(Layer.from_rgb("Remove 1", edited), EditRecord(prov, d.mask.copy())).apply(d)
    SetLayerProps(d.layers[1].id, visible=False).apply(d)
    return d


def test_round_trip_is_pixel_exact_with_provenance(tmp_path, doc):
    p = tmp_path / "a.ora"
    save_ora(doc, p)
    back = load_ora(p)
    assert back.size == doc.size
    assert [(ly.name, ly.visible, ly.opacity, ly.id, ly.edit_id) for ly in back.layers] == [
        (ly.name, ly.visible, ly.opacity, ly.id, ly.edit_id) for ly in doc.layers
    ]
    for a, b in zip(doc.layers, back.layers):
        assert np.array_equal(a.pixels, b.pixels)
    assert np.array_equal(back.mask, doc.mask)
    assert back.references == [(5, 6)]
    assert [e.provenance for e in back.edits] == [e.provenance for e in doc.edits]
    assert back.edits[0].task == "remove" and back.edits[0].seed == 3
    assert np.array_equal(back.edits[0].mask, doc.edits[0].mask)
    assert np.array_equal(back.composite(), doc.composite())


def test_layout_follows_the_spec(tmp_path, doc):
    p = tmp_path / "a.ora"
    save_ora(doc, p)
    with zipfile.ZipFile(p) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"image/openraster"
        names = zf.namelist()
        assert {"stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png"} <= set(names)
        assert "data/gencurve/document.json" in names
        merged = np.array(Image.open(io.BytesIO(zf.read("mergedimage.png"))).convert("RGB"))
        thumb = Image.open(io.BytesIO(zf.read("Thumbnails/thumbnail.png")))
    assert np.array_equal(merged, doc.composite())  # the file's merged image is what the app shows
    assert max(thumb.size) <= 256


def test_opens_in_an_independent_reader(tmp_path, doc):
    from pyora import Project

    p = tmp_path / "a.ora"
    save_ora(doc, p)
    proj = Project.load(str(p))
    layers = list(proj.iter_layers)
    assert len(layers) == 3
    names = {ly.name for ly in layers}
    assert names == {"Original", "Noise", "Remove 1"}
    original = next(ly for ly in layers if ly.name == "Original")
    assert np.array_equal(np.array(original.get_image_data()), doc.layers[0].pixels)


def test_reads_a_file_from_an_independent_writer(tmp_path, sample_rgb):
    from pyora import Project

    proj = Project.new(128, 128)
    base = Image.fromarray(sample_rgb).convert("RGBA")
    proj.add_layer(base, "Background")
    small = Image.new("RGBA", (32, 16), (255, 0, 0, 255))
    proj.add_layer(small, "Red", offsets=(100, 120), opacity=0.75)
    group = proj.add_group("Group")
    proj.add_layer(Image.new("RGBA", (128, 128), (0, 0, 255, 128)), "Group/Blue", visible=False)
    p = tmp_path / "other.ora"
    proj.save(str(p))
    doc = load_ora(p)
    assert group is not None
    assert [ly.name for ly in doc.layers] == ["Background", "Red", "Blue"]
    assert np.array_equal(doc.layers[0].pixels[..., :3], sample_rgb)
    red = doc.layers[1]
    assert red.opacity == pytest.approx(0.75)
    assert (red.pixels[120:128, 100:128, 0] == 255).all() and red.pixels[:120, :, 3].max() == 0  # clipped offsets
    assert doc.layers[2].visible is False
    # and it survives our round trip with the other editor's extra attributes
    save_ora(doc, tmp_path / "again.ora")
    again = load_ora(tmp_path / "again.ora")
    assert [ly.extra_attrs for ly in again.layers] == [ly.extra_attrs for ly in doc.layers]


def rewrite_ora(data: bytes, path, edit, extra: dict | None = None):
    """Write the archive ``data`` to ``path`` with each entry passed through ``edit(name, bytes)``, plus ``extra``."""
    src = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(path, "w") as zf:
        for info in src.infolist():
            zf.writestr(info, edit(info.filename, src.read(info)))
        for name, content in (extra or {}).items():
            zf.writestr(name, content)
    return path


def test_unknown_files_and_attributes_survive(tmp_path, doc):
    def krita_stack(name, content):
        if name != "stack.xml":
            return content
        return content.replace(b"<layer ", b'<layer krita:favorite="yes" ', 1).replace(
            b"<image ", b'<image xmlns:krita="http://krita.org/ns" xres="300" ', 1
        )

    p = rewrite_ora(ora_bytes(doc), tmp_path / "k.ora", krita_stack, {"data/krita/brushes.txt": b"round 12px"})
    doc2 = load_ora(p)
    save_ora(doc2, tmp_path / "k2.ora")
    with zipfile.ZipFile(tmp_path / "k2.ora") as zf:
        assert zf.read("data/krita/brushes.txt") == b"round 12px"
        stack = zf.read("stack.xml").decode()
    assert 'xres="300"' in stack and "favorite" in stack


# ------------------------------------------------------------------------------------------ hostile files


def make_ora(tmp_path, entries, name="h.ora", mimetype=b"image/openraster"):
    p = tmp_path / name
    with zipfile.ZipFile(p, "w") as zf:
        if mimetype is not None:
            zf.writestr("mimetype", mimetype)
        for k, v in entries.items():
            zf.writestr(k, v, compress_type=zipfile.ZIP_DEFLATED)
    return p


def png(w=8, h=8):
    buf = io.BytesIO()
    Image.new("RGBA", (w, h), (1, 2, 3, 255)).save(buf, "PNG")
    return buf.getvalue()


STACK = b'<image w="8" h="8"><stack><layer name="a" src="data/a.png"/></stack></image>'


@pytest.mark.parametrize(
    "entries, mimetype, message",
    [
        ({"stack.xml": STACK, "data/a.png": png()}, b"image/png", "mimetype"),
        ({"stack.xml": STACK, "data/a.png": png()}, None, "mimetype"),
        ({"data/a.png": png()}, b"image/openraster", "no stack.xml"),
        ({"stack.xml": STACK}, b"image/openraster", "missing"),
        ({"stack.xml": STACK, "data/a.png": b"\x89PNG garbage"}, b"image/openraster", "damaged"),
        ({"stack.xml": b"<image w='8' h='8'><stack>", "data/a.png": png()}, b"image/openraster", "XML"),
        ({"stack.xml": b'<image w="999999" h="999999"><stack/></image>'}, b"image/openraster", "out of range"),
        ({"stack.xml": b'<image w="60000" h="60000"><stack/></image>'}, b"image/openraster", "too large"),
        ({"stack.xml": b'<image w="abc" h="8"><stack/></image>'}, b"image/openraster", "not a number"),
        (
            {"stack.xml": b'<image w="8" h="8"><stack><layer src="../../etc/passwd"/></stack></image>'},
            b"image/openraster",
            "missing",
        ),
        (
            {
                "stack.xml": b'<image w="8" h="8"><stack><layer src="data/big.png"/></stack></image>',
                "data/big.png": png(9000, 9000),
            },
            b"image/openraster",
            "too large",
        ),
    ],
)
def test_hostile_content(tmp_path, entries, mimetype, message):
    p = make_ora(tmp_path, entries, mimetype=mimetype)
    before = sorted(x.name for x in tmp_path.iterdir())
    with pytest.raises(BadInputError, match=message):
        load_ora(p)
    assert sorted(x.name for x in tmp_path.iterdir()) == before  # nothing written anywhere


def test_entity_expansion_is_refused(tmp_path):
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<image w="8" h="8"><stack><layer name="&lol2;" src="data/a.png"/></stack></image>'
    )
    with pytest.raises(BadInputError, match="safe XML"):
        load_ora(make_ora(tmp_path, {"stack.xml": bomb, "data/a.png": png()}))


def test_external_entity_is_refused(tmp_path):
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<image w="8" h="8"><stack><layer name="&e;" src="data/a.png"/></stack></image>'
    )
    with pytest.raises(BadInputError, match="safe XML"):
        load_ora(make_ora(tmp_path, {"stack.xml": xxe, "data/a.png": png()}))


@pytest.mark.parametrize("name", ["//abs/a.png", "../evil.png", "data/../../evil.png", "C:\\evil.png", "a//b"])
def test_unsafe_entry_names(tmp_path, name):
    with pytest.raises(BadInputError, match="unsafe name"):
        load_ora(make_ora(tmp_path, {"stack.xml": STACK, "data/a.png": png(), name: b"x"}))


def test_zip_bomb(tmp_path):
    p = make_ora(tmp_path, {"stack.xml": STACK, "data/a.png": png(), "data/zeros.bin": b"\0" * (64 * 2**20)})
    assert p.stat().st_size < 2**20
    with pytest.raises(BadInputError, match="zip bomb"):
        load_ora(p)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"just text"])
def test_not_a_zip(tmp_path, content):
    p = tmp_path / "x.ora"
    p.write_bytes(content)
    with pytest.raises(BadInputError):
        load_ora(p)


def test_truncated_project(tmp_path, doc):
    data = ora_bytes(doc)
    p = tmp_path / "cut.ora"
    p.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(BadInputError):
        load_ora(p)


def test_newer_schema_is_refused(tmp_path, doc):
    def newer_schema(name, content):
        if not name.endswith("document.json"):
            return content
        return content.replace(b'"schema_version": 1', b'"schema_version": 99')

    p = rewrite_ora(ora_bytes(doc), tmp_path / "new.ora", newer_schema)
    with pytest.raises(BadInputError, match="newer GenCurve"):
        load_ora(p)
