"""The curve dock: live source/reference curves, before/after overlays, probe curves, PNG/CSV export.

Repaints are kept cheap because they happen on the UI thread while the engine runs, and every Qt call then waits
to take Python's lock back from the worker thread (3-4 times the idle cost during an edit): the axes (which also
draw the grid) are cached as pixmaps, and the view's range moves only in round steps, when a curve leaves it or
fills less than a third of it, rather than with every update (each change of range redraws both axes: ~10 ms of
UI time idle, 40-50 ms on a 2-core machine during an edit; a repaint that only blits the axes takes ~2 ms).
The band at the top that the legend takes is kept free of curves. Panning or zooming the plot by hand stops the
fitting; the plot's "A" button brings it back.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QGraphicsItem, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

PROBE_COLORS = ["#f5c542", "#7bd389", "#c38df2", "#f28d8d", "#8dd3f2", "#f2b48d"]
LEGEND_OFFSET = 10  # px from the plot's top left corner
#: The top share of the plot's height kept free of curves for the legend (two rows in a plot ~220 px high).
LEGEND_ROOM = 0.3


class CurveDock(QDockWidget):
    probesCleared = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__("Generation curves", parent)
        self.setObjectName("curveDock")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("curvePlot")
        self.plot.setBackground("#202024")
        item = self.plot.getPlotItem()
        item.invertX(True)  # t = T on the left: the direction of generation
        item.setLabel("bottom", "timestep t (generation runs left to right)")
        item.setLabel("left", "generation rate")
        item.showGrid(x=True, y=True, alpha=0.2)
        for axis in ("left", "bottom"):  # blit, don't redraw, the axes and grid when only a curve changed
            item.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        item.disableAutoRange()  # _fit chooses the range
        self._fitting = True
        item.getViewBox().sigRangeChangedManually.connect(self._stop_fitting)
        item.autoBtn.clicked.connect(self._resume_fitting)
        # top left, in the band _fit keeps free above the curves
        self.legend = item.addLegend(
            offset=(LEGEND_OFFSET, LEGEND_OFFSET), brush=pg.mkBrush(32, 32, 36, 210), labelTextSize="8pt"
        )
        self.placeholder = pg.TextItem("Run an edit, or click a pixel with Curve Probe (P)", color="#9a9aa2")
        self.placeholder.setParentItem(item.getViewBox())
        self.placeholder.setPos(20, 20)
        self.timesteps: list[int] = []
        self.source = item.plot([], [], pen=pg.mkPen("#4da3ff", width=2), name="source region")
        self.reference = item.plot([], [], pen=pg.mkPen("#ff8c42", width=2), name="reference")
        self.source_before = item.plot(
            [], [], pen=pg.mkPen("#4da3ff", width=1, style=Qt.DashLine), name="source (before)"
        )
        self.reference_before = item.plot(
            [], [], pen=pg.mkPen("#ff8c42", width=1, style=Qt.DashLine), name="reference (before)"
        )
        self.probes: list[tuple[str, list[int], np.ndarray, object]] = []
        buttons = QHBoxLayout()
        self.clear_button = QPushButton("Clear probes")
        self.clear_button.clicked.connect(self.clear_probes)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.plot)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._running = False  # an edit is running: its curves are on their way
        self._values_shown: bool | None = None
        self._x_range: tuple[float, float] | None = None
        self._changed(fit=False)

    def _changed(self, fit: bool = True) -> None:
        """After the curves changed: the hint or the axes' numbers, then the range (the curves listed once)."""
        curves = self.series()
        self._update_empty(curves)
        if fit:
            self._fit(curves)

    def _update_empty(self, curves: list) -> None:
        """No curve and no edit running: a hint instead of meaningless axis numbers."""
        has_curves = bool(curves)
        self.placeholder.setVisible(not has_curves and not self._running)
        self.legend.setVisible(has_curves)  # names without curves would sit on the hint
        self._list_drawn()
        values = has_curves or self._running
        if values != self._values_shown:  # restyling an axis throws its cached picture away: only on a change
            self._values_shown = values
            for axis in ("left", "bottom"):
                self.plot.getPlotItem().getAxis(axis).setStyle(showValues=values)
        columns = 3 if self.probes else 2  # wide and short: it sits in the band kept free above the curves
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)

    def _list_drawn(self) -> None:
        """The legend names only the curves that are drawn, run curves first: no "(before)" entry before an edit
        has landed, no source/reference entry when only probes are shown."""
        wanted = [c for c in self._run_curves() if _drawn(c)] + [c for *_, c in self.probes]
        if [sample.item for sample, _ in self.legend.items] != wanted:
            self.legend.clear()
            for curve in wanted:
                self.legend.addItem(curve, curve.name())

    def legend_names(self) -> list[str]:
        """The names the legend lists, in its order."""
        return [label.text for _, label in self.legend.items]

    def start_run(self, timesteps_up_to: int = 1000) -> None:
        """An edit starts: clear its curves and show the axes for it (the caller repaints before the engine starts:
        drawn with the engine running, the same work stalled the UI for 30-60 ms on 2 cores)."""
        self._running = True
        self._kept = [(curve, curve.getData()) for curve in self._run_curves()]
        self.clear_run()
        if self._fitting:
            view = self.plot.getPlotItem().getViewBox()
            y_range = view.viewRange()[1] if self._x_range is not None else (0.0, 1.0)
            self._x_range = (0.0, _round_up(timesteps_up_to))
            view.setRange(xRange=self._x_range, yRange=y_range, padding=0.02)

    def end_run(self) -> None:
        """The edit ended, whichever way."""
        self._running = False
        self._changed(fit=False)

    def _stop_fitting(self, *_) -> None:
        self._fitting = False

    def _resume_fitting(self) -> None:
        self.plot.getPlotItem().disableAutoRange()  # the button turned pyqtgraph's own fitting on: ours instead
        self._fitting, self._x_range = True, None  # None: set the range whatever it is now
        self._fit(self.series())

    def _fit(self, curves: list) -> None:
        """Show every curve below the legend's band; move the range only when a curve enters that band, leaves the
        range or fills less than a third of it."""
        values = [(np.asarray(ts, float), np.asarray(v, float)) for _, ts, v in curves if len(v)]
        if not self._fitting or not values:
            return
        x = np.concatenate([t for t, _ in values])
        y = np.concatenate([v for _, v in values])
        y = y[np.isfinite(y)]
        if not len(y):
            return
        view = self.plot.getPlotItem().getViewBox()
        _, (y0, y1) = view.viewRange()
        x_range = (0.0, _round_up(float(x.max()))) if x.min() >= 0 else (float(x.min()), float(x.max()))
        low, high = min(0.0, float(y.min())), float(y.max())
        free = 1 - LEGEND_ROOM
        below_legend = y0 + free * (y1 - y0)
        if not (y0 <= low and high <= below_legend and (high - low) >= (y1 - y0) / 3 and x_range == self._x_range):
            y0 = -_round_up(-low * 1.1) if low < 0 else 0.0
            y1 = y0 + _round_up((high - y0) / free)
            self._x_range = x_range
            view.setRange(xRange=x_range, yRange=(y0, y1), padding=0.02)

    def probe_color(self, index: int) -> str:
        """The colour of the ``index``-th probe curve (its canvas marker uses the same)."""
        return PROBE_COLORS[index % len(PROBE_COLORS)]

    def set_live(self, timesteps, source, reference) -> None:
        self.timesteps = list(timesteps)
        self.source.setData(self.timesteps, np.asarray(source, float))
        if reference is None:
            self.reference.setData([], [])
        else:
            self.reference.setData(self.timesteps, np.asarray(reference, float))
        self._changed()

    def set_before(self, timesteps, source, reference) -> None:
        self.source_before.setData(list(timesteps), np.asarray(source, float))
        if reference is None:
            self.reference_before.setData([], [])
        else:
            self.reference_before.setData(list(timesteps), np.asarray(reference, float))
        self._changed()

    def _run_curves(self) -> tuple:
        return (self.source, self.reference, self.source_before, self.reference_before)

    def clear_run(self) -> None:
        for curve in self._run_curves():
            curve.setData([], [])
        self._changed(fit=False)

    def restore_run(self) -> None:
        """A run that was cancelled or failed: the previous edit's curves come back (nothing was changed)."""
        for curve, (x, y) in getattr(self, "_kept", []):
            curve.setData([] if x is None else x, [] if y is None else y)
        self._kept = []
        self._changed(fit=False)

    def add_probe(self, label: str, timesteps, rates) -> None:
        color = self.probe_color(len(self.probes))
        curve = self.plot.getPlotItem().plot(
            list(timesteps), np.asarray(rates, float), pen=pg.mkPen(color, width=2), name=label
        )
        self.probes.append((label, list(timesteps), np.asarray(rates, float), curve))
        self._changed()

    def clear_probes(self) -> None:
        for _, _, _, curve in self.probes:
            self.plot.getPlotItem().removeItem(curve)
            self.legend.removeItem(curve)
        self.probes.clear()
        self._changed()
        self.probesCleared.emit()

    def series(self) -> list[tuple[str, list[int], np.ndarray]]:
        """Every curve on the plot: (label, timesteps, values)."""
        out = []
        for name, curve in (
            ("source region", self.source),
            ("reference", self.reference),
            ("source (before)", self.source_before),
            ("reference (before)", self.reference_before),
        ):
            x, y = curve.getData()
            if x is not None and len(x):
                out.append((name, [int(v) for v in x], np.asarray(y)))
        out += [(label, ts, rates) for label, ts, rates, _ in self.probes]
        return out

    def export_csv(self, path: str | Path) -> None:
        """One row per (curve, timestep)."""
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["curve", "timestep", "rate"])
            for label, ts, values in self.series():
                for t, v in zip(ts, values):
                    w.writerow([label, t, f"{float(v):.8g}"])

    def export_png(self, path: str | Path) -> None:
        self.plot.grab().save(str(path), "PNG")


def _drawn(curve) -> bool:
    x, _ = curve.getData()
    return x is not None and len(x) > 0


def _round_up(value: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least ``value`` (> 0)."""
    if value <= 0 or not np.isfinite(value):
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value * (1 - 1e-9)))
