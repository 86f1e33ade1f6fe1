"""The layers dock: one row per layer (top first) with visibility, opacity, rename, delete and reorder."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class LayersPanel(QDockWidget):
    visibilityToggled = Signal(str, bool)
    renamed = Signal(str, str)
    opacityChanged = Signal(str, float)  # committed: one undo step
    opacityPreview = Signal(str, float)  # while the slider is dragged: shown, not yet a change
    deleteRequested = Signal(str)
    moveRequested = Signal(str, int)  # layer id, +1 up / -1 down

    def __init__(self, parent=None) -> None:
        super().__init__("Layers", parent)
        self.setObjectName("layersDock")
        body = QWidget()
        self.list = QListWidget(body)
        self.list.setObjectName("layersList")
        self.opacity = QSlider(Qt.Horizontal, body)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the selected layer")
        self.opacity.setObjectName("layerOpacity")
        self.opacity_value = QLabel("100 %", body)
        self.opacity_value.setObjectName("layerOpacityValue")
        self.opacity_value.setMinimumWidth(40)
        row = QHBoxLayout()
        self.up, self.down, self.delete = QToolButton(body), QToolButton(body), QToolButton(body)
        for button, text, tip in (
            (self.up, "▲", "Move up"),
            (self.down, "▼", "Move down"),
            (self.delete, "✕", "Delete layer"),
        ):
            button.setText(text)
            button.setToolTip(tip)
            row.addWidget(button)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_value)
        layout = QVBoxLayout(body)
        layout.addWidget(self.list)
        layout.addLayout(row)
        self.setWidget(body)
        self._filling = False
        self.list.itemChanged.connect(self._item_changed)
        self.list.currentItemChanged.connect(self._current_changed)
        self.opacity.sliderReleased.connect(self._opacity_released)
        self.opacity.valueChanged.connect(self._opacity_moved)
        self.up.clicked.connect(lambda: self._move(+1))
        self.down.clicked.connect(lambda: self._move(-1))
        self.delete.clicked.connect(self._delete)

    def show_layers(self, layers) -> None:
        """Refill from the document's layers (bottom first in the document, top first here)."""
        current = self.current_id()
        self._filling = True
        self.list.clear()
        for layer in reversed(layers):
            item = QListWidgetItem(layer.name)
            item.setData(Qt.UserRole, layer.id)
            item.setData(Qt.UserRole + 1, layer.opacity)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsEditable)
            item.setCheckState(Qt.Checked if layer.visible else Qt.Unchecked)
            self.list.addItem(item)
            if layer.id == current:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._filling = False
        self._current_changed(self.list.currentItem(), None)

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.UserRole)

    def _item_changed(self, item) -> None:
        if self._filling:
            return
        # read everything first: handling the first signal refills the list and deletes the item
        layer_id, visible, name = item.data(Qt.UserRole), item.checkState() == Qt.Checked, item.text()
        self.visibilityToggled.emit(layer_id, visible)
        self.renamed.emit(layer_id, name)

    def _current_changed(self, item, _previous) -> None:
        if item is not None:
            self.opacity.blockSignals(True)
            self.opacity.setValue(round(100 * float(item.data(Qt.UserRole + 1))))
            self.opacity.blockSignals(False)
            self.opacity_value.setText(f"{self.opacity.value()} %")

    def _opacity_moved(self, value: int) -> None:
        """Dragging shows the opacity live; a keyboard or track click commits at once."""
        self.opacity_value.setText(f"{value} %")
        layer_id = self.current_id()
        if layer_id and not self._filling:
            if self.opacity.isSliderDown():
                self.opacityPreview.emit(layer_id, value / 100)
            else:
                self.opacityChanged.emit(layer_id, value / 100)

    def _opacity_released(self) -> None:
        layer_id = self.current_id()
        if layer_id:
            self.opacityChanged.emit(layer_id, self.opacity.value() / 100)

    def _move(self, direction: int) -> None:
        layer_id = self.current_id()
        if layer_id:
            self.moveRequested.emit(layer_id, direction)

    def _delete(self) -> None:
        layer_id = self.current_id()
        if layer_id:
            self.deleteRequested.emit(layer_id)
