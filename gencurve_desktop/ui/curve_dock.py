"""The curve dock: live source/reference curves, before/after overlays, probe curves, PNG/CSV export."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

PROBE_COLORS = ["#f5c542", "#7bd389", "#c38df2", "#f28d8d", "#8dd3f2", "#f2b48d"]


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
        # top left: t near T, where curves are low (they rise towards t = 0, on the right)
        self.legend = item.addLegend(offset=(10, 10), brush=pg.mkBrush(32, 32, 36, 210), labelTextSize="8pt")
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
        self._update_empty()

    def _update_empty(self) -> None:
        """No curve: a hint instead of meaningless axis numbers."""
        empty = not self.series()
        self.placeholder.setVisible(empty)
        self.legend.setVisible(not empty)  # names without curves would sit on the hint
        for axis in ("left", "bottom"):
            self.plot.getPlotItem().getAxis(axis).setStyle(showValues=not empty)
        self.legend.setColumnCount(2 if len(self.probes) > 3 else 1)

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
        self._update_empty()

    def set_before(self, timesteps, source, reference) -> None:
        self.source_before.setData(list(timesteps), np.asarray(source, float))
        if reference is None:
            self.reference_before.setData([], [])
        else:
            self.reference_before.setData(list(timesteps), np.asarray(reference, float))
        self._update_empty()

    def clear_run(self) -> None:
        for curve in (self.source, self.reference, self.source_before, self.reference_before):
            curve.setData([], [])
        self._update_empty()

    def add_probe(self, label: str, timesteps, rates) -> None:
        color = self.probe_color(len(self.probes))
        curve = self.plot.getPlotItem().plot(
            list(timesteps), np.asarray(rates, float), pen=pg.mkPen(color, width=2), name=label
        )
        self.probes.append((label, list(timesteps), np.asarray(rates, float), curve))
        self._update_empty()

    def clear_probes(self) -> None:
        for _, _, _, curve in self.probes:
            self.plot.getPlotItem().removeItem(curve)
            self.legend.removeItem(curve)
        self.probes.clear()
        self._update_empty()
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
