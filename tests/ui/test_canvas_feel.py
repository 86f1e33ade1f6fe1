"""The canvas as Krita users expect it: zoom about the cursor, strokes that reach the image edge, tool keys
that work after typing a number, and a window that fits a laptop screen."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QSpinBox

from gencurve_desktop.app import create_main_window

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


def wheel(view, pos: QPoint, up: bool = True) -> None:
    ev = QWheelEvent(
        QPointF(pos),
        QPointF(view.viewport().mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 if up else -120),
        Qt.NoButton,
        Qt.NoModifier,
        Qt.ScrollUpdate,
        False,
    )
    view.wheelEvent(ev)


def test_wheel_zoom_keeps_the_point_under_the_cursor(window):
    view = window.canvas
    view.zoom_100()
    view.zoom_by(12.0)  # the 128² image is far larger than the view: it can scroll every way
    view.centerOn(64, 64)
    centre = view.viewport().rect().center()
    for pos in (centre + QPoint(-120, -80), centre + QPoint(90, 60), centre + QPoint(40, -100)):
        before = view.mapToScene(pos)
        wheel(view, pos, up=True)
        after = view.mapToScene(pos)
        assert abs(after.x() - before.x()) * view.transform().m11() <= 1.0
        assert abs(after.y() - before.y()) * view.transform().m22() <= 1.0
        wheel(view, pos, up=False)


def drag(qtbot, view, points) -> None:
    vp = view.viewport()
    qtbot.mousePress(vp, Qt.LeftButton, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, Qt.LeftButton, pos=points[-1])


def test_a_stroke_from_outside_across_the_image_paints_to_the_edge(window, qtbot):
    w = window
    view = w.canvas
    view.zoom_100()
    view.zoom_by(2.0)
    view.centerOn(64, 64)
    w.set_tool("brush")
    start = view.mapFromScene(-20.0, 40.5)  # in the grey margin, left of the image
    end = view.mapFromScene(150.0, 40.5)  # past the right edge, in one fast move
    drag(qtbot, view, [start, view.mapFromScene(60.0, 40.5), end])
    row = w.doc.mask[40]
    assert row[0] and row[-1] and row.all()


def test_tool_keys_work_after_a_spin_box_had_focus(window, qtbot):
    w = window
    spin = w.task_dock.findChild(QSpinBox, "iterationsSpin")
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    for key, action in ((Qt.Key_R, w.actionReference), (Qt.Key_E, w.actionEraser), (Qt.Key_B, w.actionBrush)):
        qtbot.keyClick(spin, key)
        assert action.isChecked(), action.objectName()
    assert w.canvas.tool == "brush" and not w.doc.mask.any()  # no dab was painted by R
    qtbot.keyClick(spin, Qt.Key_5)  # digits still go to the field
    assert "5" in spin.lineEdit().text()


def test_the_window_fits_a_1024x640_screen(window):
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 640, hint
    np.testing.assert_array_less([window.minimumSize().width(), window.minimumSize().height()], [1025, 641])


def test_wheel_zoom_keeps_the_point_fixed_in_the_margin_of_a_fitted_image(window):
    """Issue 23 item 12: with the image smaller than the view (the fitted start, then zoomed out), a wheel notch with
    the cursor at 3/4 of the view's width moved the point under it by 23 px; the view now scrolls past the image."""
    view = window.canvas
    view.zoom_fit()
    view.zoom_by(0.5)  # the image now covers a part of the view only
    rect = view.viewport().rect()
    for pos in (QPoint(rect.width() * 3 // 4, rect.height() // 2), QPoint(rect.width() // 5, rect.height() // 4)):
        before = view.mapToScene(pos)
        wheel(view, pos, up=True)
        after = view.mapToScene(pos)
        assert abs(after.x() - before.x()) * view.transform().m11() <= 1.0, (before, after)
        assert abs(after.y() - before.y()) * view.transform().m22() <= 1.0, (before, after)
    view.zoom_fit()  # fitting still centres the image
    centre = view.mapToScene(view.viewport().rect().center())
    assert abs(centre.x() - 64) < 1 and abs(centre.y() - 64) < 1


def fitted_scale(view) -> float:
    rect, vp = view.image_rect, view.viewport()
    return min(vp.width() / rect.width(), vp.height() / rect.height())


def test_the_fitted_image_refits_when_the_view_resizes_until_the_user_zooms(window, qtbot):
    view = window.canvas
    view.zoom_fit()
    start = view.transform().m11()
    assert abs(start - fitted_scale(view)) / start < 0.05
    window.resize(800, 560)  # a smaller window: the image must still fit whole
    qtbot.waitUntil(lambda: abs(view.transform().m11() - fitted_scale(view)) / fitted_scale(view) < 0.05, timeout=5000)
    assert view.transform().m11() < start
    view.zoom_in()  # the user chose a zoom: a resize keeps it
    chosen = view.transform().m11()
    window.resize(1200, 760)
    qtbot.wait(100)
    assert view.transform().m11() == pytest.approx(chosen)


def test_compare_splits_the_view_with_a_labelled_divider_that_drags_and_stays_on_its_column(window, qtbot):
    from gencurve_desktop.document.changes import AddLayer
    from gencurve_desktop.document.layers import Layer

    w, view = window, window.canvas
    red = np.zeros((w.doc.height, w.doc.width, 3), np.uint8)
    red[..., 0] = 255
    w.session.push(AddLayer(Layer.from_rgb("all red", red)))
    w.actionCompare.trigger()  # \\
    qtbot.wait(20)
    shot = view.viewport().grab().toImage()
    divider = view.mapFromScene(view.split.divider_x(), 0).x()
    top, bottom = view.mapFromScene(0, 0).y(), view.mapFromScene(0, w.doc.height).y()
    y = (top + bottom) // 2
    left_x, right_x = (view.mapFromScene(0, 0).x() + divider) // 2, divider + 15
    original = w.doc.composite(layers=w.doc.layers[:1])
    left_xy = view.mapToScene(QPoint(left_x, y))
    assert shot.pixelColor(left_x, y).getRgb()[:3] == tuple(original[int(left_xy.y()), int(left_xy.x())])
    assert shot.pixelColor(right_x, y).getRgb()[:3] == (255, 0, 0)  # the result: the red layer on top
    labels = {label.objectName(): label for label in view.split.labels}
    assert labels["compareOriginalLabel"].isVisible() and labels["compareOriginalLabel"].text() == "Original"
    assert labels["compareOriginalLabel"].geometry().right() < divider < labels["compareResultLabel"].x()
    qtbot.mousePress(view.viewport(), Qt.LeftButton, pos=QPoint(divider, y))  # grabs the divider, paints nothing
    qtbot.mouseMove(view.viewport(), QPoint(divider + 40, y))
    qtbot.mouseRelease(view.viewport(), Qt.LeftButton, pos=QPoint(divider + 40, y))
    assert not w.doc.mask.any()
    column = view.split.divider_x()
    assert column == pytest.approx(view.mapToScene(QPoint(divider + 40, y)).x(), abs=1.0)
    view.zoom_by(2.0)
    assert view.split.divider_x() == column  # zoom keeps it on the same image column
    w.actionCompare.trigger()
    assert not view.split.active and not any(label.isVisible() for label in view.split.labels)


def test_the_status_bar_reads_the_saliency_under_the_cursor_and_the_overlay_opacity(window, qtbot):
    from gencurve_desktop.ui.job_controller import composite_digest

    w, view = window, window.canvas
    values = np.tile(np.linspace(0.0, 1.0, w.doc.width, dtype=np.float32), (w.doc.height, 1))
    w.saliency, w.saliency_digest = values, composite_digest(w.doc.composite())
    w.actionSaliencyMap.setChecked(True)
    w.show_saliency()
    view.zoom_100()
    view.centerOn(64, 64)
    pos = view.mapFromScene(QPointF(120.5, 40.5))
    qtbot.mouseMove(view.viewport(), pos)
    qtbot.waitUntil(lambda: "saliency" in w.coords.text())
    at = view.mapToScene(pos)
    x, y = int(at.x()), int(at.y())
    top = int(np.ceil(100 * (w.doc.width - x) / w.doc.width))  # each column one value: the share at or above it
    assert w.coords.text() == f"x {x}  y {y}  ·  saliency {values[y, x]:.4g} (top {top} %)"
    w.saliency_opacity.setValue(35)
    assert w.saliency_opacity_value.text() == "35 %" and w.saliency_opacity_value.isVisible()
    assert view.saliency_item.opacity() == pytest.approx(0.35)
    w.actionSaliencyMap.setChecked(False)
    w.show_saliency()
    qtbot.mouseMove(view.viewport(), pos + QPoint(1, 0))
    qtbot.waitUntil(lambda: w.coords.text().startswith(f"x {x + 1}"))
    assert "saliency" not in w.coords.text() and not w.saliency_opacity_value.isVisible()


def test_the_mask_overlay_previews_the_feathered_edge_the_edit_will_blend_with(window, qtbot):
    w, view = window, window.canvas
    stroke = np.zeros((w.doc.height, w.doc.width), bool)
    stroke[40:80, 40:80] = True
    w.paint_mask(stroke)
    w.task_dock.feather.setValue(8)

    def overlay_alpha():
        image = view.mask_item.pixmap().toImage()
        off = view.mask_item.offset()
        return lambda x, y: image.pixelColor(x - int(off.x()), y - int(off.y())).alpha()

    alpha = overlay_alpha()
    inside, edge_near, edge_far = alpha(60, 60), alpha(82, 60), alpha(86, 60)
    assert inside == 110 and inside > edge_near > edge_far > 0  # today: 110 inside, 0 at once outside
    assert view.mask_item.pixmap().width() < w.doc.width  # drawn in the mask's box, not over the whole photo
    w.task_dock.feather.setValue(0)
    alpha = overlay_alpha()
    assert alpha(60, 60) == 110 and alpha(80, 60) == 0  # no feather: the hard edge
