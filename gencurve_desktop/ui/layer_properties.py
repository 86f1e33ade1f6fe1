"""An edit layer's properties: everything its provenance holds (task, parameters, seed, model, the figures before
and after, time, precision, the working region), with its curves before/after and its loss, as the .ora keeps
them — so they open the same after the file is reopened. Krita's Layer Properties (F3) is the model."""

from __future__ import annotations

import html
import numbers

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

#: The provenance's figures, in the order shown, with the label a person reads.
FIGURES = (
    ("curve_distance", "curve distance"),
    ("fluctuation", "curve fluctuation"),
)
#: Provenance keys shown in their own rows or plots (the rest of ``params`` is listed under Parameters).
SHOWN = {"task", "model_id", "params", "iterations", "seconds", "seconds_per_iteration", "loss", "timesteps", "ref"}


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(float(value))


def _fmt(value) -> str:
    if _number(value) and not float(value).is_integer():
        return f"{float(value):.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value)


def property_rows(provenance: dict) -> list[tuple[str, str]]:
    """(label, value) rows for an edit's provenance, as plain text; unknown or damaged values are shown as "?"
    (the file may come from another version or be hand-edited)."""
    p = provenance if isinstance(provenance, dict) else {}
    params = p.get("params") if isinstance(p.get("params"), dict) else {}
    rows = [
        ("Task", _fmt(p.get("task", "?"))),
        ("Model", _fmt(p.get("model_id", "?"))),
        ("Seed", _fmt(params.get("seed", "?"))),
        ("Iterations", _fmt(p.get("iterations", "?"))),
    ]
    if _number(p.get("seconds")):
        per = p.get("seconds_per_iteration")
        rows.append(("Time", f"{p['seconds']:.1f} s" + (f" ({per:.2f} s per iteration)" if _number(per) else "")))
    if p.get("ref"):
        rows.append(("Reference pixel", _fmt(p["ref"])))
    for key, label in FIGURES:
        before, after = p.get(f"{key}_before"), p.get(f"{key}_after")
        if _number(before) and _number(after):
            rows.append((label.capitalize(), f"{before:.4g} → {after:.4g} (measured on the input and output images)"))
    loss = [v for v in p.get("loss", []) if _number(v)] if isinstance(p.get("loss"), list) else []
    if loss:
        kind = _fmt(p.get("loss_kind", "true"))
        rows.append(("Loss", f"{loss[0]:.4g} → {loss[-1]:.4g} over {len(loss)} iterations ({kind})"))
    rows.append(("Parameters", ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(params.items())) or "?"))
    for key in ("region", "precision", "trajectory_figures", "checkpointed_iterations", "measured_cells"):
        if key in p and key not in SHOWN:
            rows.append((key.replace("_", " ").capitalize(), _fmt(p[key])))
    return rows


def _series(p: dict, key: str, timesteps: list) -> np.ndarray | None:
    values = p.get(key)
    if not isinstance(values, list) or len(values) != len(timesteps) or not all(_number(v) for v in values):
        return None
    return np.asarray(values, float)


class LayerProperties(QDialog):
    """The properties of one edit layer (non-modal: the canvas stays usable beside it)."""

    def __init__(self, layer_name: str, provenance: dict, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("layerProperties")
        self.setWindowTitle(f"Layer properties — {layer_name}")
        self.rows = property_rows(provenance)
        table = "".join(
            f"<tr><td style='padding-right:10px'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
            for k, v in self.rows
        )
        self.text = QLabel(f"<table>{table}</table>", self)
        self.text.setObjectName("layerPropertiesText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        self.curves = self._curve_plot(provenance if isinstance(provenance, dict) else {})
        layout.addWidget(self.curves)
        self.loss = self._loss_plot(provenance if isinstance(provenance, dict) else {})
        layout.addWidget(self.loss)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.resize(560, 640)

    def _curve_plot(self, p: dict) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setObjectName("layerPropertiesCurves")
        plot.setBackground("#202024")
        item = plot.getPlotItem()
        item.invertX(True)
        item.setLabel("bottom", "timestep t")
        item.setLabel("left", "generation rate")
        item.addLegend(offset=(10, 10), labelTextSize="8pt")
        timesteps = p.get("timesteps") if isinstance(p.get("timesteps"), list) else []
        timesteps = timesteps if all(_number(t) for t in timesteps) else []
        self.drawn: list[str] = []
        for key, name, colour, style in (
            ("source_curve_before", "source (before)", "#4da3ff", Qt.DashLine),
            ("source_curve_after", "source (after)", "#4da3ff", Qt.SolidLine),
            ("reference_curve_before", "reference (before)", "#ff8c42", Qt.DashLine),
            ("reference_curve_after", "reference (after)", "#ff8c42", Qt.SolidLine),
        ):
            values = _series(p, key, timesteps)
            if values is not None:
                item.plot(timesteps, values, pen=pg.mkPen(colour, width=2, style=style), name=name)
                self.drawn.append(name)
        plot.setMinimumHeight(200)
        return plot

    def _loss_plot(self, p: dict) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setObjectName("layerPropertiesLoss")
        plot.setBackground("#202024")
        plot.getPlotItem().setLabel("bottom", "iteration")
        plot.getPlotItem().setLabel("left", "loss")
        loss = p.get("loss") if isinstance(p.get("loss"), list) else []
        self.loss_points = [float(v) for v in loss if _number(v)]
        if self.loss_points:
            plot.getPlotItem().plot(range(1, len(self.loss_points) + 1), self.loss_points, pen=pg.mkPen("#e0e0e0"))
        plot.setMinimumHeight(120)
        plot.setMaximumHeight(160)
        return plot


def open_properties(window, layer_id: str | None = None) -> LayerProperties | None:
    """Open the properties of ``layer_id`` (default: the layer selected in the Layers dock) if it is an edit
    layer; otherwise say in the status bar why nothing opened."""
    doc = window.doc
    layer_id = layer_id or window.layers_dock.current_id()
    if doc is None or layer_id is None or layer_id in doc.groups:
        window.statusBar().showMessage("Select an edit layer to see its properties", 5000)
        return None
    layer = doc.layers[doc.layer_index(layer_id)]
    records = {e.id: e for e in doc.edits}
    if layer.edit_id not in records:
        window.statusBar().showMessage(f"{layer.name!r} is not an edit layer: it has no provenance to show", 5000)
        return None
    dialog = LayerProperties(layer.name, records[layer.edit_id].provenance, window)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.show()
    window.properties_dialog = dialog
    return dialog
