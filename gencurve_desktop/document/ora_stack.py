"""stack.xml of OpenRaster files: the layer tree read from nested ``<stack>`` elements and written back.

Groups keep their own opacity, visibility, ``composite-op`` and ``isolation`` (and any attribute another editor
wrote); layers keep theirs. GenCurve's ids live in its own namespace, which other editors ignore.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from gencurve_desktop.document.document import MYPAINT_NS, SCHEMA_VERSION, Document
from gencurve_desktop.document.layers import Group, Layer, Node, layer_tree
from gencurve_desktop.errors import BadInputError

NS = "urn:gencurve:openraster:1"
GC = f"{{{NS}}}"
MAX_LAYERS = 512
MAX_DEPTH = 64
LAYER_ATTRS = {"name", "src", "x", "y", "opacity", "visibility", "composite-op", "selected"}
GROUP_ATTRS = {"name", "x", "y", "opacity", "visibility", "composite-op", "isolation"}

ET.register_namespace("gencurve", NS)
ET.register_namespace("mypaint", MYPAINT_NS.strip("{}"))  # MyPaint's attributes keep their usual prefix


# ----------------------------------------------------------------------------------------------- writing
def _opacity(value: float) -> str:
    return f"{value:.6g}"


def _visibility(visible: bool) -> str:
    return "visible" if visible else "hidden"


def _write_children(parent_el, node: Node, srcs: dict[str, str]) -> None:
    for child in reversed(node.children):  # OpenRaster lists the topmost first
        if isinstance(child, Layer):
            attrs = dict(child.extra_attrs)
            attrs.update(
                {
                    "name": child.name,
                    "src": srcs[child.id],
                    "x": "0",
                    "y": "0",
                    "opacity": _opacity(child.opacity),
                    "visibility": _visibility(child.visible),
                    "composite-op": child.composite_op,
                    f"{GC}id": child.id,
                }
            )
            if child.edit_id:
                attrs[f"{GC}edit"] = child.edit_id
            ET.SubElement(parent_el, "layer", attrs)
        else:
            g = child.group
            attrs = dict(g.extra_attrs)
            attrs.update(
                {
                    "name": g.name,
                    "opacity": _opacity(g.opacity),
                    "visibility": _visibility(g.visible),
                    "composite-op": g.composite_op,
                    "isolation": g.extra_attrs.get("isolation", "auto"),
                    f"{GC}id": g.id,
                }
            )
            _write_children(ET.SubElement(parent_el, "stack", attrs), child, srcs)


def stack_xml(doc: Document, srcs: dict[str, str]) -> bytes:
    """stack.xml for ``doc``: the tree as nested stacks, each layer pointing at ``srcs[layer.id]``."""
    root = ET.Element("image", {"version": "0.0.5", "w": str(doc.width), "h": str(doc.height)})
    for k, v in doc.extra_image_attrs.items():
        root.set(k, v)
    root.set(f"{GC}schema", str(SCHEMA_VERSION))
    _write_children(ET.SubElement(root, "stack"), layer_tree(doc.layers, doc.groups), srcs)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# ----------------------------------------------------------------------------------------------- reading
def float_attr(el, name: str, default: float) -> float:
    """A 0..1 attribute; unreadable values fall back to ``default`` (as other editors do)."""
    try:
        v = float(el.get(name, default))
    except ValueError:
        return default
    return min(1.0, max(0.0, v)) if np.isfinite(v) else default


def _kept(el, known: set[str]) -> dict[str, str]:
    extra = {k: v for k, v in el.attrib.items() if k not in known and not k.startswith(GC)}
    if el.get("composite-op"):
        extra["composite-op"] = el.get("composite-op")
    if el.tag.split("}")[-1] == "stack" and el.get("isolation"):
        extra["isolation"] = el.get("isolation")
    return extra


def read_tree(stack, path: Path) -> tuple[list[tuple[object, Layer, int, int]], dict[str, Group]]:
    """The layers, bottom first, as (element, Layer without pixels, x and y offset of the groups around it) with
    their group ids, and the groups by id."""
    layers: list[tuple[object, Layer, int, int]] = []
    groups: dict[str, Group] = {}

    def walk(el_stack, parent: str | None, depth: int, ox: int, oy: int) -> None:
        if depth > MAX_DEPTH:
            raise BadInputError(f"{path}: groups nested more than {MAX_DEPTH} deep")
        for el in reversed(list(el_stack)):  # bottom first
            tag = el.tag.split("}")[-1]
            visible = el.get("visibility", "visible") != "hidden"
            opacity = float_attr(el, "opacity", 1.0)
            if tag == "layer":
                layer = Layer(el.get("name") or "Layer", np.zeros((0, 0, 4), np.uint8), visible, opacity)
                layer.extra_attrs = _kept(el, LAYER_ATTRS)
                layer.id = el.get(f"{GC}id") or layer.id
                layer.edit_id = el.get(f"{GC}edit")
                layer.parent = parent
                layers.append((el, layer, ox, oy))
            elif tag == "stack":
                group = Group(el.get("name") or "Group", visible, opacity, parent=parent)
                group.id = el.get(f"{GC}id") or group.id
                while group.id in groups:  # a file that repeats an id: keep both groups apart
                    group.id = Group("").id
                group.extra_attrs = _kept(el, GROUP_ATTRS)
                groups[group.id] = group
                walk(el, group.id, depth + 1, ox + stack_offset(el, "x", path), oy + stack_offset(el, "y", path))
            if len(layers) > MAX_LAYERS:
                raise BadInputError(f"{path}: more than {MAX_LAYERS} layers")

    walk(stack, None, 0, 0, 0)
    return layers, groups


def stack_offset(el, name: str, path: Path) -> int:
    """A stack's own x/y offset (added to its layers' offsets), bounded."""
    raw = el.get(name, "0")
    try:
        value = int(float(raw))
    except (ValueError, OverflowError):  # "inf", "1e400", "nan"
        raise BadInputError(f"{path}: stack.xml: {name}={raw!r} is not a number (a finite integer)") from None
    if not -(2**20) <= value <= 2**20:
        raise BadInputError(f"{path}: stack.xml: {name}={value} is out of range")
    return value
