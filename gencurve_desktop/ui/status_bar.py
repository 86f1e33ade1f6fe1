"""The status bar: cursor position, zoom, brush size, the saliency overlay's legend and opacity, the model."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider

from gencurve_desktop.ui.qimage import heat_overlay, to_pixmap


def legend_pixmap(width: int = 80, height: int = 10):
    """The saliency overlay's colour ramp, low (left) to high (right), as drawn on the canvas."""
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    rgba = heat_overlay(ramp)
    rgba[..., 3] = 255
    return to_pixmap(rgba)


def build_status_bar(window) -> None:
    """Create the status bar's widgets as attributes of ``window`` (object names are the automation contract)."""
    window.model_notice = QLabel("")
    window.model_notice.setObjectName("modelNotice")
    window.model_notice.setVisible(False)
    window.coords = QLabel("")
    window.profile_label = QLabel("")
    window.profile_label.setObjectName("colourProfile")
    window.profile_label.setToolTip(
        "The photo's colour profile: edits keep its numbers and export writes the same profile back"
        " (docs/real-photos.md)"
    )
    window.zoom_label = QLabel("100 %")
    window.zoom_label.setObjectName("zoomLabel")
    window.zoom_label.setToolTip("Zoom (Ctrl+0 fit, Ctrl+1 100 %, wheel about the cursor)")
    window.brush_label = QLabel(f"brush {window.canvas.brush_size} px")
    window.brush_label.setObjectName("brushLabel")
    window.brush_label.setToolTip("Brush size ([ and ] change it)")
    window.saliency_legend = QLabel()
    window.saliency_legend.setObjectName("saliencyLegend")
    window.saliency_legend.setPixmap(legend_pixmap())
    window.saliency_legend.setToolTip("Saliency map: low curve fluctuation (dark) to high (yellow)")
    window.saliency_caption = QLabel("Saliency  low")
    window.saliency_high = QLabel("high  opacity")
    window.saliency_opacity = QSlider(Qt.Horizontal)
    window.saliency_opacity.setObjectName("saliencyOpacity")
    window.saliency_opacity.setRange(0, 100)
    window.saliency_opacity.setValue(60)
    window.saliency_opacity.setMaximumWidth(90)
    window.saliency_opacity.setToolTip("Saliency overlay opacity")
    window.saliency_opacity.setAccessibleName("Saliency overlay opacity")
    window.saliency_opacity_value = QLabel("60 %")
    window.saliency_opacity_value.setObjectName("saliencyOpacityValue")
    window.saliency_opacity_value.setMinimumWidth(36)
    window.saliency_opacity.valueChanged.connect(lambda v: window.saliency_opacity_value.setText(f"{v} %"))
    bar = window.statusBar()
    bar.addWidget(window.coords, 1)
    saliency = (
        window.saliency_caption,
        window.saliency_legend,
        window.saliency_high,
        window.saliency_opacity,
        window.saliency_opacity_value,
    )
    for widget in (window.profile_label, window.zoom_label, window.brush_label, *saliency):
        bar.addPermanentWidget(widget)
    for widget in (window.prediction_label, window.model_label, window.model_notice):
        bar.addPermanentWidget(widget)
    show_saliency_legend(window, False)


NOTICE_STYLE = {  # random weights warn (amber); a small trained model informs (slate)
    True: "background:#8a5a00;color:white;font-weight:bold;border-radius:3px",
    False: "background:#3d5366;color:white;border-radius:3px",
}
NOTICE_TIP = {
    True: "Random weights: this model's curves, maps and edits are not meaningful (it exists for tests)",
    False: "A small Stable Diffusion model trained for GenCurve on Debian's wallpaper photographs (model card: "
    "resources/models/mini/README.md). It knows colour and texture, not objects: for real edits load Stable "
    "Diffusion 2.1-base in File ▸ Model Settings",
}


def show_profile(window, doc) -> None:
    """The document's colour profile in the status bar ("sRGB (untagged)" without one; nothing without a document)."""
    if doc is None:
        window.profile_label.setText("")
        return
    meta = doc.metadata
    name = meta.profile_name if meta is not None and meta.icc_profile else None
    converted = meta.converted_to_srgb if meta is not None else None
    window.profile_label.setText(name or (f"sRGB (from {converted})" if converted else "sRGB (untagged)"))


def show_model_notice(window, note: str, random_weights: bool) -> None:
    """The status bar's one line on the loaded model's weights (hidden for real checkpoints: ``note`` is "")."""
    window.model_notice.setText(f"  {note}  ")
    window.model_notice.setStyleSheet(NOTICE_STYLE[random_weights])
    window.model_notice.setToolTip(NOTICE_TIP[random_weights])
    window.model_notice.setVisible(bool(note))


def show_saliency_legend(window, visible: bool) -> None:
    """The legend and opacity slider are shown while the saliency overlay is."""
    for widget in (
        window.saliency_caption,
        window.saliency_legend,
        window.saliency_high,
        window.saliency_opacity,
        window.saliency_opacity_value,
    ):
        widget.setVisible(visible)
