"""Undo atoms: apply then revert restores the document exactly; strokes store only their bounding box."""

import copy

import numpy as np
import pytest

from gencurve_desktop.document.changes import (
    AddEdit,
    AddLayer,
    MaskStroke,
    MoveLayer,
    RemoveLayer,
    SetLayerProps,
    SetMask,
    SetReference,
)
from gencurve_desktop.document.document import Document, EditRecord
from gencurve_desktop.document.layers import Layer
from gencurve_desktop.errors import BadInputError


def snapshot(doc):
    return (
        [(ly.id, ly.name, ly.visible, ly.opacity, ly.pixels.tobytes()) for ly in doc.layers],
        doc.mask.tobytes(),
        list(doc.references),
        [e.id for e in doc.edits],
    )


@pytest.fixture
def doc(sample_rgb):
    d = Document.from_image(sample_rgb)
    AddLayer(Layer.from_rgb("Second", 255 - sample_rgb)).apply(d)
    return d


def test_stroke_keeps_only_its_box(doc):
    stroke = np.zeros((128, 128), bool)
    stroke[5:9, 100:120] = True
    change = MaskStroke.paint(doc, stroke)
    assert change.bbox == (100, 5, 120, 9) and change.new.shape == (4, 20)
    before = snapshot(doc)
    change.apply(doc)
    assert doc.mask.sum() == 80
    change.revert(doc)
    assert snapshot(doc) == before


def test_erase(doc):
    MaskStroke.paint(doc, np.ones((128, 128), bool)).apply(doc)
    hole = np.zeros((128, 128), bool)
    hole[:10] = True
    MaskStroke.paint(doc, hole, erase=True).apply(doc)
    assert doc.mask.sum() == 128 * 118


def test_every_change_reverts_exactly(doc, sample_rgb):
    changes = [
        SetMask(np.ones((128, 128), bool)),
        SetReference((3, 4)),
        AddLayer(Layer.from_rgb("Third", sample_rgb), index=1),
        SetLayerProps(doc.layers[1].id, name="Renamed", visible=False, opacity=0.3),
        MoveLayer(doc.layers[1].id, 0),
        RemoveLayer(doc.layers[0].id),
        AddEdit(Layer.from_rgb("Edit", sample_rgb), EditRecord({"task": "blend"}, np.zeros((128, 128), bool))),
    ]
    states = [snapshot(doc)]
    for c in changes:
        c.apply(doc)
        states.append(snapshot(doc))
    assert len({str(s) for s in states}) == len(states)  # every change changed something
    for c, state in zip(reversed(changes), reversed(states[:-1])):
        c.revert(doc)
        assert snapshot(doc) == state
    # redo after undo gives the same states again
    for c, state in zip(changes, states[1:]):
        c.apply(doc)
        assert snapshot(doc) == state


def test_wrong_size_layer_is_refused(doc):
    with pytest.raises(BadInputError, match="128x128"):
        AddLayer(Layer("bad", np.zeros((10, 10, 4), np.uint8))).apply(doc)
    assert len(doc.layers) == 2


def test_composite_of_opaque_top_layer_is_that_layer(doc, sample_rgb):
    assert np.array_equal(doc.composite(), 255 - sample_rgb)
    SetLayerProps(doc.layers[1].id, visible=False).apply(doc)
    assert np.array_equal(doc.composite(), sample_rgb)
    d2 = copy.deepcopy(doc)
    SetLayerProps(d2.layers[1].id, visible=True, opacity=0.5).apply(d2)
    mixed = d2.composite().astype(int)
    assert np.abs(mixed - 127.5).max() <= 1  # x/2 + (255-x)/2


@pytest.mark.parametrize("mode", ["svg:src-over", "svg:multiply", "svg:screen", "svg:color-burn", "svg:plus"])
def test_layers_under_an_opaque_layer_are_skipped_with_the_same_picture(sample_rgb, mode):
    """The compositor starts at the topmost layer that hides everything under it; the picture must be the one
    drawn from the bottom. The same stack with that layer one level short of opaque at one pixel draws every
    layer, and agrees everywhere else."""
    rng = np.random.default_rng(3)
    h, w = sample_rgb.shape[:2]
    under = Layer("under", rng.integers(0, 256, (h, w, 4), dtype=np.uint8))
    cover = Layer.from_rgb("cover", sample_rgb)
    over = Layer("over", rng.integers(0, 256, (h, w, 4), dtype=np.uint8), opacity=0.7)
    over.extra_attrs["composite-op"] = mode
    doc = Document.from_image(sample_rgb)
    doc.layers[:] = [under, cover, over]
    skipped = doc.composite()
    cover.pixels[0, 0, 3] = 254  # no longer hides what is under it: every layer is drawn
    drawn = doc.composite()
    assert np.abs(skipped.astype(int) - drawn.astype(int))[1:, 1:].max() == 0
