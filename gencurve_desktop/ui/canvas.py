"""The canvas: a QGraphicsView of the document with mask overlay, brush, reference marker and probe."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QLabel

from gencurve_desktop.ui.compare_split import SplitCompare
from gencurve_desktop.ui.qimage import heat_overlay, mask_overlay, soft_mask_overlay, to_pixmap
from gencurve_desktop.workers.previews import feathered_mask

TOOLS = ("brush", "eraser", "reference", "probe", "move")
ZOOM_STEP = 1.25  # one wheel notch, one Ctrl++ / Ctrl+-
MIN_BRUSH, MAX_BRUSH = 1, 512


class CanvasView(QGraphicsView):
    """Shows the composite; paints the mask; emits clicks in image pixel coordinates."""

    cursorMoved = Signal(int, int)  # image x, y (or -1, -1 outside)
    strokeFinished = Signal(object, bool)  # bool H x W stroke, erase
    referenceClicked = Signal(int, int)
    probeClicked = Signal(int, int)
    brushSizeChanged = Signal(int)
    moveStarted = Signal()  # the Move tool was pressed: the window floats the selected layer (float_layer)
    moveFinished = Signal(int, int)  # dx, dy in image pixels
    zoomChanged = Signal(float)  # view scale, 1.0 = 100 %

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.fitting = False  # True from zoom_fit until the user zooms: resizes re-fit the image
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setMouseTracking(True)
        self.setBackgroundBrush(QBrush(QColor(48, 48, 52)))
        self.image_item = QGraphicsPixmapItem()
        self.saliency_item = QGraphicsPixmapItem()
        self.saliency_item.setVisible(False)
        self.mask_item = QGraphicsPixmapItem()
        self.marker = QGraphicsEllipseItem(-6, -6, 12, 12)
        self.marker.setPen(QPen(QColor(40, 220, 255), 2))
        self.marker.pen().setCosmetic(True)
        self.marker.setVisible(False)
        self.outline = QGraphicsEllipseItem()
        pen = QPen(QColor(255, 255, 255, 200), 1, Qt.DashLine)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        self.outline.setVisible(False)
        for z, item in enumerate((self.image_item, self.saliency_item, self.mask_item, self.marker, self.outline)):
            item.setZValue(z)
            self.scene().addItem(item)
        self.split = SplitCompare(self, 0.5)  # the original over the result, under the overlays
        self.floating = QGraphicsPixmapItem()  # the layer being moved, drawn over the rest while dragged
        self.floating.setZValue(0.4)
        self.floating.setVisible(False)
        self.scene().addItem(self.floating)
        self._move_from: QPointF | None = None
        self.tool = "brush"
        self.brush_size = 24
        self.feather_px = 0  # the overlay shows the edge an edit will blend with (the Edit dock's feather)
        self.mask = np.zeros((1, 1), bool)
        self._stroke: np.ndarray | None = None
        self._last: tuple[int, int] | None = None
        self._pan_from: QPointF | None = None
        self._space = False
        self.probe_markers: list[QGraphicsEllipseItem] = []
        self.hint = QLabel("Open an image (Ctrl+O) or drop one here", self)
        self.hint.setObjectName("canvasHint")
        self.hint.setAlignment(Qt.AlignCenter)
        self.hint.setStyleSheet("QLabel#canvasHint{color:#b8b8c0;font-size:15px;background:transparent}")
        self.hint.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.hint.hide()

    # ---------------------------------------------------------------- content
    def set_image(self, rgb: np.ndarray, fit: bool = False) -> None:
        first = self.image_item.pixmap().isNull() or self.image_item.pixmap().size().toTuple() != rgb.shape[1::-1]
        self.image_item.setPixmap(to_pixmap(rgb))
        self.image_rect = QRectF(0, 0, rgb.shape[1], rgb.shape[0])
        self._scroll_past()
        if fit or first:
            self.zoom_fit()

    def set_compare(self, original: np.ndarray | None) -> None:
        """Split the view: ``original`` left of a draggable divider, the result right of it; None ends it."""
        self.split.show(original)

    def float_layer(self, under: np.ndarray, layer_rgba: np.ndarray, opacity: float) -> None:
        """While the Move tool drags: ``under`` (the other layers) as the image, the moved layer floating on top."""
        self.image_item.setPixmap(to_pixmap(under))
        self.floating.setPixmap(to_pixmap(layer_rgba))
        self.floating.setOpacity(opacity)
        self.floating.setPos(0, 0)
        self.floating.setVisible(True)

    def set_mask(self, mask: np.ndarray) -> None:
        """Show ``mask`` with its feathered edge (the edit's blend weight fading out over ``feather_px``)."""
        self.mask = mask
        weights, (x, y) = feathered_mask(mask, self.feather_px)
        if weights.size == 0:
            self._render_mask(np.zeros((1, 1), bool))
            return
        self.mask_item.setPixmap(to_pixmap(soft_mask_overlay(weights)))
        self.mask_item.setOffset(x, y)

    def set_feather(self, feather_px: int) -> None:
        """The feather the overlay previews (pixels outside the mask over which the edit fades out)."""
        self.feather_px = max(0, int(feather_px))
        self.set_mask(self.mask)

    def _render_mask(self, mask: np.ndarray) -> None:
        """The hard-edged overlay, drawn while a stroke is painted (cheap); the stroke's end shows the feather."""
        self.mask_item.setPixmap(to_pixmap(mask_overlay(mask)))
        self.mask_item.setOffset(0, 0)

    def set_reference(self, point) -> None:
        self.marker.setVisible(point is not None)
        if point is not None:
            self.marker.setPos(point[0] + 0.5, point[1] + 0.5)

    def set_saliency(self, values: np.ndarray | None, visible: bool, opacity: float) -> None:
        if values is not None:
            self.saliency_item.setPixmap(to_pixmap(heat_overlay(values)))
        self.saliency_item.setVisible(visible and not self.saliency_item.pixmap().isNull())
        self.saliency_item.setOpacity(opacity)

    def set_mask_visible(self, visible: bool) -> None:
        """Show or hide the red mask overlay (the mask itself is kept)."""
        self.mask_item.setVisible(visible)

    def add_probe_marker(self, x: int, y: int, color: str) -> None:
        """A ring in the probe curve's colour on the probed pixel."""
        ring = QGraphicsEllipseItem(-5, -5, 10, 10)
        pen = QPen(QColor(color), 2)
        pen.setCosmetic(True)
        ring.setPen(pen)
        ring.setFlag(QGraphicsEllipseItem.ItemIgnoresTransformations)
        ring.setPos(x + 0.5, y + 0.5)
        ring.setZValue(self.marker.zValue())
        self.scene().addItem(ring)
        self.probe_markers.append(ring)

    def clear_probe_markers(self) -> None:
        for ring in self.probe_markers:
            self.scene().removeItem(ring)
        self.probe_markers.clear()

    # ---------------------------------------------------------------- view
    def _scroll_past(self) -> None:
        """Let the view scroll a viewport past every edge of the image (as Krita's canvas does), so zooming about
        the cursor keeps the point under it fixed even while the image is smaller than the view."""
        rect = getattr(self, "image_rect", None)
        if rect is None:
            return
        scale = max(self.transform().m11(), 1e-6)
        mx, my = self.viewport().width() / scale, self.viewport().height() / scale
        self.scene().setSceneRect(rect.adjusted(-mx, -my, mx, my))

    def zoom_fit(self) -> None:
        """Fit the image in the view; the view keeps fitting it on every resize until the user zooms."""
        self.fitting = True
        rect = getattr(self, "image_rect", self.scene().sceneRect())
        self.fitInView(rect, Qt.KeepAspectRatio)
        self._scroll_past()
        self.centerOn(rect.center())
        self.zoomChanged.emit(self.transform().m11())

    def zoom_100(self) -> None:
        self.fitting = False
        self.resetTransform()
        self._scroll_past()
        self.zoomChanged.emit(1.0)

    def show_hint(self, shown: bool) -> None:
        """The empty window's line: what to do first (Krita and IOPaint show one too)."""
        self.hint.setVisible(shown)
        self._place_hint()

    def _place_hint(self) -> None:
        self.hint.setGeometry(0, 0, self.viewport().width(), self.viewport().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fitting and getattr(self, "image_rect", None) is not None:
            self.zoom_fit()  # a dock closed, the window resized: still the whole image, as Krita's fit mode does
        self._scroll_past()
        self._place_hint()
        self.split.place()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.split.place()  # its labels sit on the viewport, beside the divider

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def zoom_by(self, factor: float) -> None:
        scale = self.transform().m11() * factor
        if 0.02 <= scale <= 64:
            self.fitting = False
            self.scale(factor, factor)
            self._scroll_past()
            self.split.place()
            self.zoomChanged.emit(scale)

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self._tool_cursor()

    def _tool_cursor(self) -> None:
        shape = {"reference": Qt.CrossCursor, "probe": Qt.CrossCursor, "move": Qt.SizeAllCursor}
        self.viewport().setCursor(shape.get(self.tool, Qt.BlankCursor))

    def set_brush_size(self, size: int) -> None:
        self.brush_size = int(min(MAX_BRUSH, max(MIN_BRUSH, size)))
        self.brushSizeChanged.emit(self.brush_size)
        self._update_outline(self._last_scene_pos if hasattr(self, "_last_scene_pos") else None)

    def _image_xy(self, scene_pos: QPointF) -> tuple[int, int] | None:
        x, y = self._raw_xy(scene_pos)
        h, w = self.mask.shape
        return (x, y) if 0 <= x < w and 0 <= y < h else None

    @staticmethod
    def _raw_xy(scene_pos: QPointF) -> tuple[int, int]:
        """Image coordinates, possibly outside the image (strokes that start or pass outside are clipped)."""
        return int(np.floor(scene_pos.x())), int(np.floor(scene_pos.y()))

    def _update_outline(self, scene_pos) -> None:
        if scene_pos is None or self.tool not in ("brush", "eraser"):
            self.outline.setVisible(False)
            return
        r = self.brush_size / 2
        self.outline.setRect(scene_pos.x() - r, scene_pos.y() - r, 2 * r, 2 * r)
        self.outline.setVisible(True)

    # ---------------------------------------------------------------- painting
    def _dab(self, x: int, y: int) -> None:
        r = max(0, self.brush_size // 2)
        canvas = self._stroke.view(np.uint8)
        if self._last is None:
            cv2.circle(canvas, (x, y), r, 1, -1)
        else:
            cv2.line(canvas, self._last, (x, y), 1, max(1, 2 * r + 1))
            cv2.circle(canvas, (x, y), r, 1, -1)
        self._last = (x, y)
        preview = (self.mask & ~self._stroke) if self.tool == "eraser" else (self.mask | self._stroke)
        self._render_mask(preview)

    def begin_stroke(self, x: int, y: int) -> None:
        self._stroke = np.zeros(self.mask.shape, bool)
        self._last = None
        self._dab(x, y)

    def continue_stroke(self, x: int, y: int) -> None:
        if self._stroke is not None:
            self._dab(x, y)

    def end_stroke(self) -> None:
        if self._stroke is not None and self._stroke.any():
            self.strokeFinished.emit(self._stroke, self.tool == "eraser")  # the window shows the new mask
        elif self._stroke is not None:
            self.set_mask(self.mask)  # nothing painted: back to the feathered overlay
        self._stroke = None
        self._last = None

    # ---------------------------------------------------------------- events
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            return
        if event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        if self.split.near(event.position().x()):  # the compare divider is dragged with any tool
            self.split.dragging = True
            return
        scene_pos = self.mapToScene(event.position().toPoint())
        if self.tool == "move":
            self._move_from = scene_pos
            self.moveStarted.emit()
            return
        if self.tool in ("brush", "eraser"):  # also from the margin: the stroke paints where it meets the image
            self.begin_stroke(*self._raw_xy(scene_pos))
            return
        xy = self._image_xy(scene_pos)
        if xy is None:
            return
        if self.tool == "reference":
            self.referenceClicked.emit(*xy)
        elif self.tool == "probe":
            self.probeClicked.emit(*xy)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        scene_pos = self.mapToScene(event.position().toPoint())
        if self.split.dragging:
            self.split.drag_to(scene_pos.x())
            return
        if self._move_from is not None and self.floating.isVisible():
            self.floating.setPos(*self._move_delta(scene_pos))
            return
        if self.split.near(event.position().x()):
            self.viewport().setCursor(Qt.SplitHCursor)
        elif self.split.active and self._pan_from is None and not self._space:
            self._tool_cursor()
        self._last_scene_pos = scene_pos
        self._update_outline(scene_pos)
        xy = self._image_xy(scene_pos)
        self.cursorMoved.emit(*(xy or (-1, -1)))
        if event.buttons() & Qt.LeftButton:  # outside the image too: the segment up to the edge is painted
            self.continue_stroke(*self._raw_xy(scene_pos))
        super().mouseMoveEvent(event)  # keeps the view's idea of the mouse position current

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            self.set_tool(self.tool)
            return
        if event.button() == Qt.LeftButton and self._move_from is not None:
            dx, dy = self._move_delta(self.mapToScene(event.position().toPoint()))
            self._move_from = None
            if self.floating.isVisible():
                self.moveFinished.emit(dx, dy)  # the window applies the move and redraws the image
            self.floating.setVisible(False)
            return
        if event.button() == Qt.LeftButton:
            self.split.dragging = False
            self.end_stroke()

    def _move_delta(self, scene_pos: QPointF) -> tuple[int, int]:
        d = scene_pos - self._move_from
        return round(d.x()), round(d.y())

    def wheelEvent(self, event) -> None:
        """Zoom about the image point under the cursor: it stays under the cursor."""
        pos = event.position().toPoint()
        before = self.mapToScene(pos)
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)
        self.setTransformationAnchor(anchor)
        drift = self.mapFromScene(before) - pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
        elif event.key() == Qt.Key_BracketLeft:
            self.set_brush_size(round(self.brush_size / 1.25))
        elif event.key() == Qt.Key_BracketRight:
            self.set_brush_size(round(self.brush_size * 1.25) + 1)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.set_tool(self.tool)
        else:
            super().keyReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self.outline.setVisible(False)
        self.cursorMoved.emit(-1, -1)
        super().leaveEvent(event)
