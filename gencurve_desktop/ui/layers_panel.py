"""The layers dock: the layer tree (groups expand and collapse, top first) with visibility, opacity, rename,
delete and reorder. Layers and groups have distinct ids, so every signal carries one id and the window decides
whether it names a layer or a group."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gencurve_desktop.document.layers import Layer, layer_tree

ID, OPACITY, KIND, EDIT = Qt.UserRole, Qt.UserRole + 1, Qt.UserRole + 2, Qt.UserRole + 3


def edit_summary(provenance: dict) -> str:
    """An edit layer's tooltip from its provenance (what the .ora keeps): task, model, seed, iterations, the
    learning rate, the time, and its figure before → after."""
    p = provenance if isinstance(provenance, dict) else {}
    params = p.get("params") if isinstance(p.get("params"), dict) else {}
    lines = [
        f"{p.get('task', 'edit')} with {p.get('model_id', '?')}: seed {params.get('seed', '?')},"
        f" {p.get('iterations', '?')} iterations, lr {params.get('lr', '?')}",
    ]
    seconds = p.get("seconds")
    if isinstance(seconds, int | float):
        lines[0] += f", {seconds:.1f} s"
    for name, key in (("curve distance", "curve_distance"), ("fluctuation", "fluctuation")):
        before, after = p.get(f"{key}_before"), p.get(f"{key}_after")
        if isinstance(before, int | float) and isinstance(after, int | float):
            lines.append(f"{name} {before:.4g} → {after:.4g} (measured on the images)")
            break
    return "\n".join(lines)


class LayersPanel(QDockWidget):
    visibilityToggled = Signal(str, bool)  # layer or group id
    renamed = Signal(str, str)
    opacityChanged = Signal(str, float)  # committed: one undo step
    opacityPreview = Signal(str, float)  # while the slider is dragged: shown, not yet a change
    deleteRequested = Signal(str)
    propertiesRequested = Signal(str)  # layer id: open its properties
    moveRequested = Signal(str, int)  # layer id, +1 up / -1 down (one step past a group's edge enters or leaves it)

    def __init__(self, parent=None) -> None:
        super().__init__("Layers", parent)
        self.setObjectName("layersDock")
        body = QWidget()
        self.tree = QTreeWidget(body)
        self.tree.setObjectName("layersList")  # the automation name (DESIGN §7): a tree, one row per top-level item
        self.tree.setHeaderHidden(True)
        self.tree.setToolTip("Double-click to rename; the box shows or hides; groups fold with the arrow")
        self.opacity = QSlider(Qt.Horizontal, body)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the selected layer or group")
        self.opacity.setObjectName("layerOpacity")
        self.opacity_value = QLabel("100 %", body)
        self.opacity_value.setObjectName("layerOpacityValue")
        self.opacity_value.setMinimumWidth(40)
        row = QHBoxLayout()
        self.up, self.down, self.delete = QToolButton(body), QToolButton(body), QToolButton(body)
        self.properties = QToolButton(body)
        self.properties.setObjectName("layerPropertiesButton")
        for button, text, tip in (
            (self.up, "▲", "Move up (past a group's edge: into or out of the group)"),
            (self.down, "▼", "Move down (past a group's edge: into or out of the group)"),
            (self.delete, "✕", "Delete layer"),
            (self.properties, "ⓘ", "Properties of the edit layer: task, parameters, curves, loss (F3)"),
        ):
            button.setText(text)
            button.setToolTip(tip)
            row.addWidget(button)
        row.addWidget(QLabel("Opacity"))
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_value)
        layout = QVBoxLayout(body)
        layout.addWidget(self.tree)
        layout.addLayout(row)
        self.setWidget(body)
        self._filling = False
        self._in_change = False
        self._latest: tuple = ([], None)
        self._collapsed: set[str] = set()
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemCollapsed.connect(lambda item: self._collapsed.add(item.data(0, ID)))
        self.tree.itemExpanded.connect(lambda item: self._collapsed.discard(item.data(0, ID)))
        self.opacity.sliderReleased.connect(self._opacity_released)
        self.opacity.valueChanged.connect(self._opacity_moved)
        self.up.clicked.connect(lambda: self._move(+1))
        self.down.clicked.connect(lambda: self._move(-1))
        self.delete.clicked.connect(self._delete)
        self.properties.clicked.connect(self._properties)
        self.tree.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)

    def show_layers(self, layers, groups=None, edits=None) -> None:
        """Refill from the document's layers and groups (bottom first there, top first here); ``edits`` (edit id
        → provenance) gives an edit layer's tooltip.

        Inside a row's own change signal the refill waits for the event loop: clearing the tree there would
        delete the row while Qt is still in its setData (a crash)."""
        self._edits = dict(edits or {})
        self._latest = (layers, groups)
        if self._in_change:
            QTimer.singleShot(0, lambda: self._fill(*self._latest))
            return
        self._fill(layers, groups)

    def _fill(self, layers, groups) -> None:
        current = self.current_id()
        self._filling = True
        self.tree.clear()
        keep = None
        for child in reversed(layer_tree(list(layers), groups or {}).children):
            keep = self._add(self.tree.invisibleRootItem(), child, current) or keep
        if keep is not None:
            self.tree.setCurrentItem(keep)
        elif self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self._filling = False
        self._current_changed(self.tree.currentItem(), None)

    def _add(self, parent_item, node, current):
        item = QTreeWidgetItem(parent_item)
        found = None
        if isinstance(node, Layer):
            thing, kind = node, "layer"
        else:
            thing, kind = node.group, "group"
            for child in reversed(node.children):
                found = self._add(item, child, current) or found
        item.setText(0, thing.name if kind == "layer" else f"▸ {thing.name}")
        item.setData(0, ID, thing.id)
        item.setData(0, OPACITY, thing.opacity)
        item.setData(0, KIND, kind)
        item.setData(0, EDIT, kind == "layer" and thing.edit_id in getattr(self, "_edits", {}))
        item.setFlags(item.flags() | Qt.ItemIsUserCheckable | Qt.ItemIsEditable)
        item.setCheckState(0, Qt.Checked if thing.visible else Qt.Unchecked)
        tips = []
        if kind == "layer" and thing.edit_id in getattr(self, "_edits", {}):
            tips.append(edit_summary(self._edits[thing.edit_id]))
        if thing.composite_op != "svg:src-over":
            tips.append(f"blend mode {thing.composite_op.split(':')[-1]}")
        if tips:
            item.setToolTip(0, "\n".join(tips))
        if kind == "group":
            item.setExpanded(thing.id not in self._collapsed)
        return item if thing.id == current else found

    def items(self) -> list[QTreeWidgetItem]:
        """Every row, top first, depth first (as shown when expanded)."""
        out = []

        def walk(item):
            for i in range(item.childCount()):
                out.append(item.child(i))
                walk(item.child(i))

        walk(self.tree.invisibleRootItem())
        return out

    def select(self, item_id: str) -> None:
        for item in self.items():
            if item.data(0, ID) == item_id:
                self.tree.setCurrentItem(item)

    def current_id(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, ID)

    def current_is_group(self) -> bool:
        item = self.tree.currentItem()
        return item is not None and item.data(0, KIND) == "group"

    def _item_changed(self, item, _column=0) -> None:
        if self._filling:
            return
        # read everything first: handling the first signal refills the tree and deletes the item
        item_id, visible = item.data(0, ID), item.checkState(0) == Qt.Checked
        name = item.text(0).removeprefix("▸ ")
        self._in_change = True
        try:
            self.visibilityToggled.emit(item_id, visible)
            self.renamed.emit(item_id, name)
        finally:
            self._in_change = False

    def _current_changed(self, item, _previous) -> None:
        if item is not None:
            self.opacity.blockSignals(True)
            self.opacity.setValue(round(100 * float(item.data(0, OPACITY))))
            self.opacity.blockSignals(False)
            self.opacity_value.setText(f"{self.opacity.value()} %")
            group = item.data(0, KIND) == "group"
            for button in (self.up, self.down, self.delete):
                button.setEnabled(not group)
        self.properties.setEnabled(item is not None and bool(item.data(0, EDIT)))

    def _opacity_moved(self, value: int) -> None:
        """Dragging shows the opacity live; a keyboard or track click commits at once."""
        self.opacity_value.setText(f"{value} %")
        item_id = self.current_id()
        if item_id and not self._filling:
            if self.opacity.isSliderDown():
                self.opacityPreview.emit(item_id, value / 100)
            else:
                self.opacityChanged.emit(item_id, value / 100)

    def _opacity_released(self) -> None:
        item_id = self.current_id()
        if item_id:
            self.opacityChanged.emit(item_id, self.opacity.value() / 100)

    def _move(self, direction: int) -> None:
        item_id = self.current_id()
        if item_id and not self.current_is_group():
            self.moveRequested.emit(item_id, direction)

    def _delete(self) -> None:
        item_id = self.current_id()
        if item_id and not self.current_is_group():
            self.deleteRequested.emit(item_id)

    def _properties(self) -> None:
        item = self.tree.currentItem()
        if item is not None and item.data(0, EDIT):
            self.propertiesRequested.emit(item.data(0, ID))

    def _context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        self.tree.setCurrentItem(item)
        menu = QMenu(self.tree)
        menu.setObjectName("layerMenu")
        shown = menu.addAction("Properties…", self._properties)
        shown.setEnabled(bool(item.data(0, EDIT)))
        if item.data(0, KIND) == "layer":
            menu.addAction("Delete", self._delete)
        menu.popup(self.tree.viewport().mapToGlobal(pos))
        self.menu = menu
