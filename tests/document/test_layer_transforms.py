"""Moving, scaling and placing a layer's content (the Move tool, Scale Layer, Paste as New Layer)."""

import numpy as np
import pytest

from gencurve_desktop.document.document import Document
from gencurve_desktop.document.layer_transforms import TransformLayer, content_box, placed, scaled, shifted
from gencurve_desktop.document.layers import Layer
from gencurve_desktop.errors import BadInputError


def square(size=(60, 40), box=(10, 5, 30, 25), colour=(200, 40, 20)):
    w, h = size
    px = np.zeros((h, w, 4), np.uint8)
    x0, y0, x1, y1 = box
    px[y0:y1, x0:x1, :3] = colour
    px[y0:y1, x0:x1, 3] = 255
    return px


def test_shifting_moves_the_content_and_uncovers_transparency():
    px = square()
    moved = shifted(px, 7, -3)
    assert content_box(moved) == (17, 2, 37, 22)
    assert np.array_equal(moved[2:22, 17:37], px[5:25, 10:30])
    assert content_box(shifted(px, 100, 0)) is None  # off the canvas: cut off
    assert np.array_equal(shifted(shifted(px, 5, 4), -5, -4), px)  # the content stayed on the canvas


def test_scaling_keeps_the_centre_and_gives_transparent_pixels_no_say_in_the_edge_colour():
    px = square((80, 60), (10, 15, 30, 35))
    big = scaled(px, 2.0)
    x0, y0, x1, y1 = content_box(big)
    assert (x1 - x0, y1 - y0) == (40, 40) and ((x0 + x1) / 2, (y0 + y1) / 2) == (20.0, 25.0)
    edge = big[..., 3] > 0
    # straight-alpha resampling would mix the transparent black in: a darker rim; premultiplied keeps the colour
    assert np.abs(big[edge][:, :3].astype(int) - [200, 40, 20]).max() <= 1
    small = scaled(px, 0.5)
    assert content_box(small) == (15, 20, 25, 30)
    with pytest.raises(BadInputError):
        scaled(px, 0.0)


def test_a_pasted_image_is_centred_and_scaled_down_only_when_larger_than_the_canvas():
    image = square((20, 10), (0, 0, 20, 10))
    canvas, factor = placed(image, (60, 40))
    assert factor == 1.0 and content_box(canvas) == (20, 15, 40, 25)
    big, factor = placed(square((240, 40), (0, 0, 240, 40)), (60, 40))
    assert factor == 0.25 and content_box(big) == (0, 15, 60, 25)
    with pytest.raises(BadInputError):
        placed(np.zeros((4, 4, 3), np.uint8), (60, 40))


def test_transform_layer_is_one_undo_step_and_moves_16_bit_pixels_too():
    doc = Document.from_image(np.full((40, 60, 3), 128, np.uint8))
    layer = Layer("Pasted", square())
    layer.deep = layer.pixels.astype(np.uint16) * 257
    doc.layers.append(layer)
    before = layer.pixels.copy()
    change = TransformLayer(layer.id, dx=5, dy=3)
    change.apply(doc)
    assert content_box(layer.pixels) == (15, 8, 35, 28) and content_box(layer.deep) == (15, 8, 35, 28)
    change.revert(doc)
    assert np.array_equal(layer.pixels, before) and np.array_equal(layer.deep, before.astype(np.uint16) * 257)
    bad = TransformLayer(layer.id, factor=100.0)
    with pytest.raises(BadInputError):
        bad.apply(doc)
    assert np.array_equal(layer.pixels, before)  # a refused scale changes nothing
