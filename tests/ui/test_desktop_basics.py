"""The basics a desktop editor has: zoom and brush in the status bar, Help, Close, New from Clipboard, import a
mask, clear the reference, hide the mask overlay, the saliency legend and export, live layer opacity, an empty
plot that says what to do, and a window that remembers its layout and last parameters."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QTableWidget
from windows import make_window

from gencurve_desktop import __version__


def test_status_bar_shows_zoom_and_brush_size(window, qtbot):
    window.canvas.zoom_100()
    assert window.zoom_label.text() == "100 %"
    window.canvas.zoom_by(1.25)
    assert window.zoom_label.text() == "125 %"
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key_BracketRight)
    assert window.brush_label.text() == f"brush {window.canvas.brush_size} px" and window.canvas.brush_size > 24


def test_help_about_and_shortcuts(window, qtbot):
    window.actionAbout.trigger()
    box = window.about_box
    assert box is not None and box.isVisible()
    text = box.text()
    assert __version__ in text and "demo" in text and "cpu" in text and "CC0" in text
    box.close()
    window.actionShortcuts.trigger()
    table = window.shortcuts_dialog.findChild(QTableWidget, "shortcutsTable")
    rows = {table.item(i, 0).text(): table.item(i, 1).text() for i in range(table.rowCount())}
    assert rows["Run"] == "Ctrl+Return" and rows["Brush"] == "B" and "Mouse wheel" in rows.values()


def test_close_returns_to_no_document_and_new_from_clipboard(window, qtbot, sample_rgb):
    window.actionClose.trigger()  # a clean document: no question asked
    assert window.doc is None and not window.actionSave.isEnabled()
    rgba = np.dstack([sample_rgb[:50, :70], np.full((50, 70), 255, np.uint8)]).copy()
    QGuiApplication.clipboard().setImage(QImage(rgba.data, 70, 50, 70 * 4, QImage.Format_RGBA8888).copy())
    window.actionNewFromClipboard.trigger()
    assert window.doc is not None and window.doc.size == (70, 50)
    assert np.array_equal(window.doc.composite(), sample_rgb[:50, :70])


def test_import_mask_is_one_undo_step_and_checks_the_size(window, tmp_path):
    m = np.zeros((128, 128), np.uint8)
    m[10:30, 40:90] = 200
    Image.fromarray(m).save(tmp_path / "m.png")
    steps = window.undo.count()
    assert window.tools.import_mask(str(tmp_path / "m.png"))
    assert np.array_equal(window.doc.mask, m >= 128) and window.undo.count() == steps + 1
    window.undo.undo()
    assert not window.doc.mask.any()
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(tmp_path / "small.png")
    assert not window.tools.import_mask(str(tmp_path / "small.png"))
    assert "64x64" in window.last_error and "128x128" in window.last_error and not window.doc.mask.any()


def test_clear_reference_and_hide_the_mask_overlay(window):
    from gencurve_desktop.document.changes import SetReference

    window.session.push(SetReference((5, 6)))
    window.actionClearReference.trigger()
    assert window.doc.references == [] and not window.canvas.marker.isVisible()
    window.undo.undo()
    assert window.doc.references == [(5, 6)]
    window.actionShowMask.trigger()
    assert not window.canvas.mask_item.isVisible()
    window.actionShowMask.trigger()
    assert window.canvas.mask_item.isVisible()


def test_saliency_legend_and_export(window, tmp_path):
    assert not window.saliency_legend.isVisible()
    values = np.linspace(0, 1, 128 * 128, dtype=np.float32).reshape(128, 128)
    window.saliency = values
    window.actionSaliencyMap.setChecked(True)
    window.show_saliency()
    assert window.saliency_legend.isVisible() and window.saliency_opacity.isVisible()
    assert window.tools.export_saliency(str(tmp_path / "s.png"))
    png = np.asarray(Image.open(tmp_path / "s.png"))
    assert png.shape == (128, 128, 3) and png[0, 0].sum() < png[-1, -1].sum()  # dark low, bright high
    assert window.tools.export_saliency(str(tmp_path / "s.tif"))
    tif = np.asarray(Image.open(tmp_path / "s.tif"))
    assert tif.dtype == np.uint16 and tif.min() == 0 and tif.max() == 65535
    assert not window.tools.export_saliency(str(tmp_path / "s.gif")) and ".png or .tif" in window.last_error


def test_layer_opacity_shows_live_and_commits_once(window):
    slider, label = window.layers_dock.opacity, window.layers_dock.opacity_value
    before = window.canvas.image_item.pixmap().toImage()
    steps = window.undo.count()
    slider.setSliderDown(True)
    slider.setValue(30)
    assert label.text() == "30 %" and window.undo.count() == steps  # shown, not yet a change
    assert window.canvas.image_item.pixmap().toImage() != before
    slider.setSliderDown(False)  # release: one undo step
    assert window.undo.count() == steps + 1 and window.doc.layers[0].opacity == pytest.approx(0.30)
    slider.setValue(50)  # keyboard / track click: committed at once
    assert window.undo.count() == steps + 2 and window.doc.layers[0].opacity == pytest.approx(0.50)


def test_empty_plot_says_what_to_do(window):
    dock = window.curve_dock
    assert dock.placeholder.isVisible()
    dock.set_live([900, 500, 100], [1.0, 2.0, 3.0], None)
    assert not dock.placeholder.isVisible()
    dock.clear_run()
    assert dock.placeholder.isVisible()


def test_window_remembers_layout_and_last_parameters(qtbot, small_png):
    first = make_window(qtbot)
    first.task_dock.task_combo.setCurrentIndex(first.task_dock.task_combo.findData("blend"))
    first.task_dock.iterations.setValue(7)
    first.task_dock.inputs["lr"].setValue(0.02)
    first.history_dock.hide()
    first.curve_dock.hide()
    first.resize(760, 540)  # within the offscreen screen (800 x 600): restoreGeometry keeps a window on it
    first.discard_and_close()
    second = make_window(qtbot)
    try:
        assert second.task_dock.task == "blend"
        assert second.task_dock.iterations.value() == 7 and second.task_dock.inputs["lr"].value() == 0.02
        assert not second.curve_dock.isVisible() and second.task_dock.isVisible()
        assert (second.size().width(), second.size().height()) == (760, 540)
    finally:
        second.discard_and_close()


def test_a_photos_colour_profile_is_shown_and_survives_save_and_export(window, tmp_path):
    """Opening an Adobe RGB photo (ImageMagick-tagged, exiftool metadata) names its profile in the status bar;
    the saved project and the exported JPEG carry the same profile and EXIF."""
    from pathlib import Path

    from gencurve_desktop.document.images import load_photo

    photo = Path(__file__).parents[1] / "data" / "photos" / "adobe-rgb.png"
    assert window.profile_label.text() == "sRGB (untagged)"  # the fixture's small PNG has no profile
    assert window.open_path(photo)
    assert "Adobe RGB (1998)" in window.profile_label.text()
    original = load_photo(photo)[1]
    assert window.session.save_path(tmp_path / "p.ora")
    window.session.open_path(tmp_path / "p.ora")
    assert "Adobe RGB (1998)" in window.profile_label.text()
    from gencurve_desktop.document.export import export_merged

    export_merged(window.doc, tmp_path / "out.jpg")  # what File > Export writes (the dialog aside)
    exported = load_photo(tmp_path / "out.jpg")[1]
    assert exported.icc_profile == original.icc_profile and b"TestCam" in exported.exif
