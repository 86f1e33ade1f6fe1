"""The Layers dock shows the tree of an editor-made file: groups fold, their visibility and opacity are undoable,
layers move into and out of groups, Save As keeps the tree, and modes we do not draw are named on opening."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gencurve_desktop.app import create_main_window
from gencurve_desktop.document.ora import load_ora, save_ora

WAIT = 120_000
DATA = Path(__file__).parent.parent / "data" / "ora"


@pytest.fixture
def window(qtbot):
    w = create_main_window("demo", recovery_prompt=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo", timeout=WAIT)
    assert w.open_path(DATA / "pyora" / "groups-isolated.ora")
    yield w
    w.discard_and_close()


def row(dock, name):
    return next(item for item in dock.items() if item.text(0).removeprefix("▸ ") == name)


def test_the_dock_shows_the_tree_top_first(window):
    dock = window.layers_dock
    top = [dock.tree.topLevelItem(i).text(0) for i in range(dock.tree.topLevelItemCount())]
    assert top == ["▸ passthrough", "▸ hidden", "▸ outer", "backdrop"]
    outer = row(dock, "outer")
    assert [outer.child(i).text(0) for i in range(outer.childCount())] == ["▸ inner", "disc"]
    assert row(dock, "hidden").checkState(0) == Qt.Unchecked
    assert "multiply" in row(dock, "small").toolTip(0)


def test_a_folded_group_stays_folded_after_a_change(window, qtbot):
    dock = window.layers_dock
    row(dock, "outer").setExpanded(False)
    rows_before = dock.items()
    row(dock, "backdrop").setCheckState(0, Qt.Unchecked)  # a change refills the dock (once the signal returns)
    qtbot.waitUntil(lambda: dock.items()[0] is not rows_before[0], timeout=5000)
    assert row(dock, "backdrop").checkState(0) == Qt.Unchecked
    assert not row(dock, "outer").isExpanded() and row(dock, "inner").isExpanded()


def test_group_visibility_and_opacity_are_undoable(window):
    dock, doc = window.layers_dock, window.doc
    before = doc.composite()
    row(dock, "outer").setCheckState(0, Qt.Unchecked)
    outer = next(g for g in doc.groups.values() if g.name == "outer")
    assert not outer.visible and not np.array_equal(doc.composite(), before)
    dock.tree.setCurrentItem(row(dock, "inner"))
    dock.opacity.setValue(20)
    inner = next(g for g in doc.groups.values() if g.name == "inner")
    assert inner.opacity == pytest.approx(0.2) and not dock.delete.isEnabled()
    window.undo.undo()
    window.undo.undo()
    assert outer.visible and inner.opacity == pytest.approx(0.6) and np.array_equal(doc.composite(), before)


def test_moving_a_layer_up_past_a_group_edge_puts_it_inside(window):
    dock, doc = window.layers_dock, window.doc
    dock.tree.setCurrentItem(row(dock, "backdrop"))
    dock.up.click()
    backdrop = next(ly for ly in doc.layers if ly.name == "backdrop")
    assert doc.groups[backdrop.parent].name == "outer"
    assert row(dock, "backdrop").parent() is row(dock, "outer")
    window.undo.undo()
    assert backdrop.parent is None and row(dock, "backdrop").parent() is None


def test_save_as_keeps_the_tree_and_the_modes(window, tmp_path):
    assert window.save_path(tmp_path / "saved.ora")
    saved, source = load_ora(tmp_path / "saved.ora"), load_ora(DATA / "pyora" / "groups-isolated.ora")
    assert sorted(g.name for g in saved.groups.values()) == sorted(g.name for g in source.groups.values())
    assert [ly.composite_op for ly in saved.layers] == [ly.composite_op for ly in source.layers]
    assert np.abs(saved.composite().astype(int) - source.composite()).max() == 0


def test_opening_a_file_with_a_mode_we_do_not_draw_names_it(window, tmp_path):
    doc = load_ora(DATA / "pyora" / "mode-multiply.ora")
    doc.layers[-1].extra_attrs["composite-op"] = "mypaint:spectral-wgm"
    save_ora(doc, tmp_path / "pigment.ora")
    assert window.open_path(tmp_path / "pigment.ora")
    message = window.statusBar().currentMessage()
    assert "blended (mypaint:spectral-wgm)" in message and "kept on save" in message
