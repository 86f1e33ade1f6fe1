"""The curve plot: live updates that leave the axes alone, round ranges, hand zoom respected, a run's states."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent

from gencurve_desktop.ui.curve_dock import CurveDock, _round_up

T = [951, 901, 851, 501, 101, 1]


@pytest.fixture
def dock(qtbot):
    d = CurveDock()
    qtbot.addWidget(d)
    d.resize(1000, 330)  # the plot about as high as in a 1024x640 or 1280x720 window
    d.show()
    qtbot.waitExposed(d)
    return d


def axes_pictures(dock):
    return [dock.plot.getPlotItem().getAxis(a).picture for a in ("left", "bottom")]


def test_a_live_update_inside_the_range_keeps_the_range_and_the_drawn_axes(dock):
    dock.set_live(T, [1.0, 1.5, 2.0, 2.5, 3.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    dock.plot.viewport().repaint()
    view = dock.plot.getPlotItem().getViewBox()
    before_range, before_pictures = view.viewRange(), axes_pictures(dock)
    assert all(p is not None for p in before_pictures)
    for k in range(5):  # the curves move, as they do every iteration of an edit
        dock.set_live(T, [1.0 + k / 10, 1.2, 2.2, 2.6, 3.1, 2.0], [1.1, 1.0, 0.9, 1.0, 1.0, 1.0])
        dock.plot.viewport().repaint()
    assert view.viewRange() == before_range
    assert all(a is b for a, b in zip(axes_pictures(dock), before_pictures))  # not redrawn


def test_the_range_follows_curves_that_leave_it_in_round_steps(dock):
    view = dock.plot.getPlotItem().getViewBox()
    dock.set_live(T, [1.0, 2.0, 3.0, 2.0, 1.0, 0.5], None)
    y0, y1 = view.viewRange()[1]
    assert y0 <= 0 < 3.0 < y1 and _round_up(3.3) == 5.0
    dock.set_live(T, [1.0, 2.0, 7.0, 2.0, 1.0, 0.5], None)  # leaves the range: the top becomes 10
    assert view.viewRange()[1][1] == pytest.approx(10 * 1.02, rel=0.02)
    dock.set_live(T, [0.1, 0.2, 0.3, 0.2, 0.1, 0.05], None)  # fills under a third: the range shrinks
    assert view.viewRange()[1][1] == pytest.approx(0.5 * 1.02, rel=0.02)
    x0, x1 = view.viewRange()[0]
    assert x0 <= 0 and 1000 <= x1 < 1050  # t from 0 to 1000, whatever the step count


def test_zooming_by_hand_stops_the_fitting_and_the_a_button_brings_it_back(dock, qtbot):
    view = dock.plot.getPlotItem().getViewBox()
    dock.set_live(T, [1.0, 2.0, 3.0, 2.0, 1.0, 0.5], None)
    centre = dock.plot.rect().center()
    dock.plot.wheelEvent(
        QWheelEvent(
            QPointF(centre),
            QPointF(dock.plot.mapToGlobal(centre)),
            QPoint(0, 0),
            QPoint(0, 120),
            Qt.NoButton,
            Qt.NoModifier,
            Qt.ScrollUpdate,
            False,
        )
    )
    zoomed = view.viewRange()
    assert zoomed[1][1] < 5.0  # zoomed in
    dock.set_live(T, [1.0, 2.0, 7.0, 2.0, 1.0, 0.5], None)  # would have grown the range
    assert view.viewRange() == zoomed
    dock.plot.getPlotItem().autoBtn.clicked.emit(dock.plot.getPlotItem().autoBtn)  # the plot's "A" button
    assert view.viewRange()[1][1] == pytest.approx(10 * 1.02, rel=0.02)
    assert not any(view.autoRangeEnabled())  # ours, not pyqtgraph's fitting every update


def test_a_run_shows_axes_before_its_first_curve_and_the_hint_after_a_run_with_none(dock):
    left = dock.plot.getPlotItem().getAxis("left")
    assert dock.placeholder.isVisible() and not left.style["showValues"]
    dock.start_run()
    assert not dock.placeholder.isVisible() and left.style["showValues"]
    assert dock.plot.getPlotItem().getViewBox().viewRange()[0][1] >= 1000
    dock.end_run()  # cancelled before any curve
    assert dock.placeholder.isVisible() and not left.style["showValues"]
    dock.start_run()
    dock.set_live(T, [1.0, 2.0, 3.0, 2.0, 1.0, 0.5], None)
    dock.end_run()
    assert not dock.placeholder.isVisible() and left.style["showValues"] and dock.legend.isVisible()


def test_the_legend_does_not_cover_the_curves(dock, qtbot):
    view = dock.plot.getPlotItem().getViewBox()
    dock.start_run()
    dock.set_before(T, [0.7, 0.8, 1.1, 1.0, 0.9, 0.8], [0.4, 0.5, 0.5, 0.5, 0.4, 0.4])
    dock.set_live(T, [1.45, 1.3, 0.6, 0.3, 0.2, 0.15], [0.4, 0.5, 0.5, 0.5, 0.4, 0.4])  # high where the legend is
    dock.add_probe("pixel (250, 130)", T, [1.7, 1.6, 1.5, 1.2, 0.9, 0.8])
    dock.end_run()
    qtbot.wait(50)  # the legend's layout settles
    legend_bottom = view.mapSceneToView(dock.legend.sceneBoundingRect().bottomLeft()).y()
    assert max(max(v) for _, _, v in dock.series()) < legend_bottom


def test_the_legend_lists_only_the_curves_that_are_drawn(dock):
    dock.start_run()
    dock.set_live(T, [1.0, 2.0, 3.0, 2.0, 1.0, 0.5], [0.5, 0.6, 0.7, 0.6, 0.5, 0.4])
    assert dock.legend_names() == ["source region", "reference"]  # no "(before)" entries while none is drawn
    dock.set_before(T, [0.9, 1.0, 1.1, 1.0, 0.9, 0.8], None)
    dock.end_run()
    assert dock.legend_names() == ["source region", "reference", "source (before)"]
    dock.clear_run()
    dock.add_probe("pixel (3, 4)", T, [1.0, 1.1, 1.2, 1.1, 1.0, 0.9])
    assert dock.legend_names() == ["pixel (3, 4)"]  # a probe alone: no source / reference entries
    dock.start_run()
    dock.set_live(T, [1.0, 2.0, 3.0, 2.0, 1.0, 0.5], None)
    assert dock.legend_names() == ["source region", "pixel (3, 4)"]  # run curves first, then the probes
    dock.clear_probes()
    assert dock.legend_names() == ["source region"]
