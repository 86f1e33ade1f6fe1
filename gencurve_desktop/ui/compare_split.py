"""Compare with the original as a split view: the original photo left of a divider, the result right of it, each
side labelled on the canvas; the divider is dragged with the mouse (as IOPaint's and Krita's split compare).

The original sits above the result in a clip item as wide as the divider's position, so moving the divider
changes one rectangle and repaints nothing else. The position is a share of the image's width: zooming and
panning keep the divider on the same image column."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QGraphicsPixmapItem, QGraphicsRectItem, QLabel

from gencurve_desktop.ui.qimage import to_pixmap

GRAB_PX = 6  # how near the divider (in screen pixels) a press grabs it
LABEL_STYLE = "QLabel{color:white;background:rgba(20,20,24,170);padding:2px 6px;border-radius:3px;font-size:12px}"


class SplitCompare:
    """The split compare of one :class:`CanvasView` (created by it; shown while compare is on)."""

    def __init__(self, view, z: float) -> None:
        self.view = view
        self.share = 0.5  # the divider's place, a share of the image's width
        self.clip = QGraphicsRectItem()
        self.clip.setPen(QPen(Qt.NoPen))
        self.clip.setFlag(QGraphicsItem.ItemClipsChildrenToShape)
        self.original = QGraphicsPixmapItem(self.clip)
        self.divider = QGraphicsLineItem()
        pen = QPen(QColor(255, 255, 255, 230), 2)
        pen.setCosmetic(True)
        self.divider.setPen(pen)
        for item, dz in ((self.clip, 0.0), (self.divider, 0.1)):
            item.setZValue(z + dz)
            item.setVisible(False)
            view.scene().addItem(item)
        self.labels = []
        for name, text in (("compareOriginalLabel", "Original"), ("compareResultLabel", "Result")):
            label = QLabel(text, view.viewport())
            label.setObjectName(name)
            label.setStyleSheet(LABEL_STYLE)
            label.setAttribute(Qt.WA_TransparentForMouseEvents)
            label.hide()
            self.labels.append(label)
        self.dragging = False

    @property
    def active(self) -> bool:
        return self.clip.isVisible()

    def show(self, original: np.ndarray | None) -> None:
        """Split the view with ``original`` (H x W x 3 uint8) on the left, or end the split (None)."""
        if original is not None:
            self.original.setPixmap(to_pixmap(original))
        shown = original is not None
        self.clip.setVisible(shown)
        self.divider.setVisible(shown)
        self.place()

    def divider_x(self) -> float:
        """The divider's image x coordinate."""
        return self.share * self.original.pixmap().width()

    def place(self) -> None:
        """Lay out the clip, the divider and the labels for the current share and view."""
        shown = self.active
        for label in self.labels:
            label.setVisible(shown)
        if not shown:
            return
        w, h = self.original.pixmap().width(), self.original.pixmap().height()
        x = self.divider_x()
        self.clip.setRect(QRectF(0, 0, x, h))
        self.divider.setLine(x, 0, x, h)
        at = self.view.mapFromScene(x, 0)
        top = max(8, at.y() + 8)
        original, result = self.labels
        for label in self.labels:
            label.adjustSize()
        original.move(max(8, at.x() - original.width() - 8), top)
        result.move(min(self.view.viewport().width() - result.width() - 8, at.x() + 8), top)
        original.setVisible(x > 0)
        result.setVisible(x < w)

    def near(self, view_x: float) -> bool:
        """Whether a press at this view x grabs the divider."""
        return self.active and abs(self.view.mapFromScene(self.divider_x(), 0).x() - view_x) <= GRAB_PX

    def drag_to(self, scene_x: float) -> None:
        width = max(1, self.original.pixmap().width())
        self.share = float(min(1.0, max(0.0, scene_x / width)))
        self.place()
