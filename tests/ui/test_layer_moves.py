"""Paste as a new layer, move it with the Move tool, scale it, mask it: the Blend task's input made in the app."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QImage, QKeySequence

from gencurve_desktop.app import create_main_window
from gencurve_desktop.document.layer_transforms import content_box

WAIT = 120_000


@pytest.fixture
def window(qtbot, small_png):
    w = create_main_window("demo", recovery_prompt=False)
    qtbot.addWidget(w)
    w.resize(1200, 760)
    w.show()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo", timeout=WAIT)
    w.open_path(small_png)
    yield w
    w.discard_and_close()


def object_image() -> QImage:
    """A 30 x 20 green object with a transparent corner, as another app would copy it."""
    image = QImage(30, 20, QImage.Format_RGBA8888)
    image.fill(Qt.green)
    for y in range(5):
        for x in range(5):
            image.setPixelColor(x, y, Qt.transparent)
    return image


def test_paste_move_scale_and_mask_a_layer_then_blend_it(window, qtbot):
    w, view = window, window.canvas
    assert QKeySequence(QKeySequence.Paste) in w.actionPasteLayer.shortcuts()  # Ctrl+V, as in Krita
    QGuiApplication.clipboard().setImage(object_image())
    w.actionPasteLayer.trigger()
    pasted = w.doc.layers[-1]
    assert pasted.name == "Pasted" and w.layers_dock.current_id() == pasted.id and w.actionMove.isChecked()
    assert content_box(pasted.pixels) == (49, 54, 79, 74)  # centred on the 128² photo
    assert pasted.pixels[54, 49, 3] == 0 and tuple(pasted.pixels[60, 60]) == (0, 255, 0, 255)  # alpha kept

    # 2. the Move tool: press on the canvas, drag 20 image pixels right and 10 down
    view.zoom_100()
    view.centerOn(64, 64)
    start = view.mapFromScene(64.5, 64.5)
    end = view.mapFromScene(84.5, 74.5)
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), end)
    assert view.floating.isVisible() and view.floating.pos().x() == 20  # drawn while dragged, not yet changed
    assert content_box(pasted.pixels) == (49, 54, 79, 74)
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=end)
    assert content_box(pasted.pixels) == (69, 64, 99, 84) and not view.floating.isVisible()
    assert not w.doc.mask.any()  # the Move tool paints nothing
    assert w.undo.undoText() == "Move layer"
    w.undo.undo()
    assert content_box(pasted.pixels) == (49, 54, 79, 74)
    w.undo.redo()

    # 3. scale about its centre, 4. the mask from its opaque pixels
    assert w.moves.scale_layer(50.0)
    x0, y0, x1, y1 = content_box(pasted.pixels)
    assert (x1 - x0, y1 - y0) == (15, 10) and abs((x0 + x1) / 2 - 84) <= 0.5 and (y0 + y1) / 2 == 74  # about its centre
    assert w.moves.mask_from_layer()
    assert np.array_equal(w.doc.mask, pasted.pixels[..., 3] >= 128)

    # 5. Blend runs on what was pasted
    w.task_dock.task_combo.setCurrentIndex(w.task_dock.task_combo.findData("blend"))
    w.task_dock.iterations.setValue(1)
    w.task_dock.steps.setValue(4)
    with qtbot.waitSignal(w.editLanded, timeout=WAIT):
        assert w.run_edit()
    assert w.doc.edits[-1].task == "blend" and np.array_equal(w.doc.edits[-1].mask, w.doc.mask)


def test_paste_without_an_image_says_so_and_the_move_tool_without_a_layer_changes_nothing(window, qtbot):
    w, view = window, window.canvas
    QGuiApplication.clipboard().clear()
    assert not w.moves.paste_as_layer()
    qtbot.waitUntil(lambda: w.last_error == "The clipboard holds no image.")
    before = [layer.pixels.copy() for layer in w.doc.layers]
    w.layers_dock.tree.setCurrentItem(None)
    w.set_tool("move")
    centre = view.viewport().rect().center()
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=centre)
    qtbot.mouseMove(view.viewport(), centre + QPoint(30, 0))
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=centre + QPoint(30, 0))
    assert "Select a layer" in w.statusBar().currentMessage()
    assert all(np.array_equal(a, layer.pixels) for a, layer in zip(before, w.doc.layers))
