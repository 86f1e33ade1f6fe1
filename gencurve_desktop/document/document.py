"""The in-memory document: layers, the current mask, reference points and edits with provenance.

Every change goes through :mod:`gencurve_desktop.document.changes` so it can be undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gencurve_desktop.document.blend import KRITA, Rendering, is_supported
from gencurve_desktop.document.layers import Group, Layer, composite, new_id
from gencurve_desktop.document.metadata import PhotoMetadata
from gencurve_desktop.errors import BadInputError

SCHEMA_VERSION = 1
MYPAINT_NS = "{http://mypaint.org/ns/openraster}"  # as ElementTree spells namespaced attributes


@dataclass
class EditRecord:
    """One finished edit: its provenance (task, params, seed, model, loss, curves, timing) and its inputs."""

    provenance: dict
    mask: np.ndarray  # bool H x W, the mask the edit used
    id: str = field(default_factory=new_id)

    @property
    def task(self) -> str:
        return self.provenance.get("task", "")

    @property
    def seed(self):
        return self.provenance.get("params", {}).get("seed")


@dataclass
class Document:
    """A layered image. ``layers`` is bottom-first; the bottom layer is normally the original photo."""

    size: tuple[int, int]  # (width, height)
    layers: list[Layer] = field(default_factory=list)
    groups: dict[str, Group] = field(default_factory=dict)  # by id; layers and groups name their parent group
    mask: np.ndarray | None = None  # bool H x W
    references: list[tuple[int, int]] = field(default_factory=list)
    edits: list[EditRecord] = field(default_factory=list)
    # what other editors put in the file, kept for the next save
    extra_files: dict[str, bytes] = field(default_factory=dict)
    extra_image_attrs: dict[str, str] = field(default_factory=dict)
    # what loading had to change (e.g. unsafe or repeated ids renamed), one line each; never saved
    load_notes: list[str] = field(default_factory=list)
    # the photo's ICC profile, EXIF, XMP and DPI, written back on export and into the .ora (document/metadata.py)
    metadata: PhotoMetadata | None = None

    def __post_init__(self) -> None:
        if self.mask is None:
            self.mask = np.zeros((self.size[1], self.size[0]), bool)

    @classmethod
    def from_image(cls, rgb: np.ndarray, name: str = "Original", metadata: PhotoMetadata | None = None) -> Document:
        """A new document whose only layer is the photo ``rgb`` (H x W x 3 uint8, or uint16: a 16-bit layer),
        keeping its ``metadata``."""
        doc = cls(size=(rgb.shape[1], rgb.shape[0]), metadata=metadata)
        doc.layers.append(Layer.from_rgb(name, rgb))
        return doc

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def composite(self, layers: list[Layer] | None = None, alpha: bool = False, depth: int = 8) -> np.ndarray:
        """The merged image as shown: H x W x 3 over white, or H x W x 4 keeping transparency (``alpha``), as
        written to mergedimage.png. ``layers`` draws only those (e.g. the original alone), in their groups.
        ``depth`` 16: uint16, from the 16-bit layers' own values (what 16-bit exports write)."""
        return composite(
            self.layers if layers is None else layers,
            self.size,
            None if alpha else (255, 255, 255),
            self.groups,
            self.rendering,
            depth,
        )

    @property
    def has_deep_layers(self) -> bool:
        """Whether some layer carries 16-bit pixels (then PNG and TIFF exports are 16-bit)."""
        return any(layer.deep is not None for layer in self.layers)

    @property
    def rendering(self) -> Rendering:
        """The compositing rules of the editor that wrote the file (MyPaint's are in its image attributes)."""
        attrs = self.extra_image_attrs
        if MYPAINT_NS + "version" not in attrs and MYPAINT_NS + "eotf" not in attrs:
            return KRITA
        try:
            eotf = float(attrs.get(MYPAINT_NS + "eotf", "1"))
        except ValueError:
            eotf = 1.0
        return Rendering.mypaint(eotf if 0.1 <= eotf <= 10.0 else 1.0)  # the range check also refuses nan and inf

    def unsupported_modes(self) -> list[tuple[str, str]]:
        """(layer or group name, composite-op) for every blend mode drawn as normal because it is not implemented."""
        nodes = [*self.groups.values(), *self.layers]
        return [(n.name, n.composite_op) for n in nodes if not is_supported(n.composite_op)]

    def layer_index(self, layer_id: str) -> int:
        for i, layer in enumerate(self.layers):
            if layer.id == layer_id:
                return i
        raise KeyError(layer_id)

    def edit(self, edit_id: str) -> EditRecord:
        for record in self.edits:
            if record.id == edit_id:
                return record
        raise KeyError(edit_id)

    def check_pixels(self, pixels: np.ndarray, what: str = "layer", dtype: type = np.uint8) -> None:
        """Raise BadInputError unless ``pixels`` is H x W x 4 ``dtype`` (uint8) of this document's size."""
        if pixels.shape != (self.height, self.width, 4) or pixels.dtype != dtype:
            name = np.dtype(dtype).name
            raise BadInputError(f"{what} must be {self.width}x{self.height} RGBA {name}, got {pixels.shape}")

    def check_layer(self, layer: Layer) -> None:
        """Raise BadInputError unless the layer's pixels (and 16-bit pixels, if any) fit this document."""
        self.check_pixels(layer.pixels)
        if layer.deep is not None:
            self.check_pixels(layer.deep, "16-bit layer", np.uint16)
