"""What a batch runs: items read from a folder or a manifest (CSV/JSONL), each one single-image command.

A manifest row names an ``image`` and, optionally, an ``id``, a ``mask``, a ``ref``, a ``task`` and any option of
the single-image command by its long name (``iterations``, ``seed``, ``probes``, ``t_min`` or ``t-min`` …). Values
given on the batch's own command line are the defaults that a row's non-empty cells override. Relative paths are
read from the manifest's folder. Every problem with the source itself is a :class:`BadInputError` before any
model loads; a problem with one item is that item's error at run time.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from gencurve_desktop.commands.checks import parse_point
from gencurve_desktop.commands.options import ITEM_OPTIONS
from gencurve_desktop.document.safe_files import read_regular
from gencurve_desktop.errors import BadInputError

MANIFEST_SUFFIXES = (".csv", ".jsonl")
TRUE = {"1", "true", "yes", "y", "on"}
FALSE = {"", "0", "false", "no", "n", "off"}


@dataclass(frozen=True)
class BatchItem:
    """One unit of work: one single-image command, the files it reads and writes, and its options. ``argv`` is
    the same item as the command line it equals: ``results.jsonl`` records it, and a resumed batch skips an item
    only if it finished under the same one."""

    id: str
    command: str  # curve | saliency | edit | study-saliency
    argv: tuple[str, ...]  # everything after the command name, paths absolute
    inputs: dict[str, str] = field(default_factory=dict)  # role (image, mask, fixation) -> path
    outputs: tuple[str, ...] = ()  # the files the command writes
    options: Mapping[str, object] = field(default_factory=dict)  # option name -> value as given (text in a row)

    def record(self, error: dict | None = None) -> dict:
        """The item's fields as they appear in ``results.jsonl``, before a result (or with ``error``)."""
        return {
            "id": self.id,
            "command": self.command,
            "argv": list(self.argv),
            "inputs": dict(self.inputs),
            "outputs": list(self.outputs),
            "result": None,
            "error": error,
        }


def image_suffixes() -> set[str]:
    """File extensions that Pillow can open (what a folder scan picks up)."""
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def scan_images(folder: Path, recursive: bool = False) -> list[Path]:
    """The image files of ``folder`` (by extension, hidden files skipped), sorted by relative path."""
    suffixes = image_suffixes()
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        (p for p in found if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")),
        key=lambda p: p.relative_to(folder).as_posix(),
    )


def read_rows(source: Path) -> list[dict]:
    """The rows of a CSV (with a header) or JSONL manifest as dicts; paths stay as written."""
    try:
        text = read_regular(source, MAX_MANIFEST_BYTES, what="manifest").decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInputError(f"{source}: cannot read the manifest ({getattr(e, 'strerror', None) or e})") from None
    if source.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "image" not in reader.fieldnames:
            raise BadInputError(f"{source}: a CSV manifest needs a header row with an 'image' column")
        rows = []
        for n, row in enumerate(reader, start=2):
            if None in row:
                raise BadInputError(f"{source}:{n}: more cells than the header has columns")
            rows.append({k.strip(): (v or "").strip() for k, v in row.items() if k is not None})
        return rows
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInputError(f"{source}:{n}: not JSON ({e.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("image"), str):
            raise BadInputError(f"{source}:{n}: each line must be an object with an 'image' path")
        rows.append(row)
    return rows


def row_options(command: str) -> dict[str, tuple[str, str]]:
    """name -> (flag, form) for the options a manifest row may set; form is 'flag', 'list' or 'value'."""
    return {option.name: (option.flag, option.form) for option in ITEM_OPTIONS[command]}


def row_defaults(values: Mapping[str, object], command: str) -> dict:
    """The item options among ``values`` (the batch's own command line): every row's defaults."""
    return {o.name: values[o.name] for o in ITEM_OPTIONS[command] if values.get(o.name) is not None}


def _read_values(values: dict, table: dict, where: str) -> tuple[list[str], dict]:
    """Command-line words for ``values`` (name -> value) under ``table``, and the options they set: switches as
    booleans, lists as tuples of ``X,Y`` texts (both checked here), values as given (read when the item runs)."""
    argv: list[str] = []
    options: dict = {}
    for name, value in values.items():
        flag, form = table[name]
        if form == "flag":
            text = str(value).strip().lower()
            if text not in TRUE | FALSE:
                raise BadInputError(f"{where}: {name} must be true or false, got {value!r}")
            argv += [flag] if text in TRUE else []
            options[name] = text in TRUE
        elif form == "list":
            points = value if isinstance(value, list | tuple) else [p for p in str(value).split(";") if p.strip()]
            texts = []
            for point in points:
                text = ",".join(str(v) for v in point) if isinstance(point, list | tuple) else str(point)
                parse_point(text)
                texts.append(text.replace(" ", ""))
                argv += [flag, texts[-1]]
            options[name] = tuple(texts)
        elif value is not None and str(value) != "":
            argv += [flag, str(value)]
            options[name] = value
    return argv, options


@dataclass(frozen=True)
class Plan:
    """How to turn rows into items: the command, its defaults, where outputs go and the model options."""

    command: str
    outdir: Path
    defaults: dict  # option name -> value, from the batch's command line
    common: list[str]  # the model options as command-line words, the same for every item
    masks: Path | None = None  # folder of <image stem>.png masks
    projects: bool = False  # edit: also write <id>.ora
    fixed: Mapping[str, object] = field(default_factory=dict)  # the same for every item: steps, max_side


MAX_MANIFEST_BYTES = 64 * 2**20
MAX_ID_BYTES = 160  # leaves room in a 255-byte file name for "_saliency.png" and our temporary-file marks
ROLES = {"curve": ("mask",), "saliency": (), "edit": ("mask",), "study-saliency": ("fixation",)}
OUTPUT_NAMES = {"saliency": "{id}_saliency.png", "edit": "{id}.png"}


def make_items(plan: Plan, source: str | os.PathLike) -> list[BatchItem]:
    """The items of a folder (every image in it) or of a manifest (one per row), validated as far as can be
    done without a model: unknown columns, unreadable manifests, duplicate ids."""
    src = Path(source)
    if src.is_dir():
        rows = [{"image": str(p.resolve())} for p in scan_images(src)]
        base = src
        if not rows:
            raise BadInputError(f"{src}: the folder holds no image files")
    elif src.is_file() and src.suffix.lower() in MANIFEST_SUFFIXES:
        rows, base = read_rows(src), src.parent
        if not rows:
            raise BadInputError(f"{src}: the manifest lists no items")
    elif src.exists():
        raise BadInputError(f"{src}: give a folder of images or a manifest ({', '.join(MANIFEST_SUFFIXES)})")
    else:
        raise BadInputError(f"{src}: no such folder or manifest")
    return items_from_rows(plan, rows, base, str(src))


def items_from_rows(plan: Plan, rows: list[dict], base: Path, where: str) -> list[BatchItem]:
    """One item per row (relative paths read from ``base``); unknown columns and duplicate ids are refused."""
    table = row_options(plan.command)
    items, seen = [], {}
    for n, row in enumerate(rows, start=1):
        item = _item(plan, row, base, table, f"{where}: item {n}")
        if item.id in seen:
            raise BadInputError(
                f"{where}: items {seen[item.id]} and {n} would both be '{item.id}'; give them distinct 'id' values"
            )
        seen[item.id] = n
        items.append(item)
    return items


def _item(plan: Plan, row: dict, base: Path, table: dict, where: str) -> BatchItem:
    row = {str(k).strip().replace("-", "_"): v for k, v in row.items()}
    for key, value in row.items():
        if "\0" in key or "\0" in str(value):
            raise BadInputError(f"{where}: the {key!r} value contains a NUL character")
    image = (base / str(row.pop("image"))).resolve()
    item_id = str(row.pop("id", "") or image.stem)
    if not item_id or "/" in item_id or "\\" in item_id or item_id.startswith("."):
        raise BadInputError(f"{where}: the id {item_id!r} cannot name a file")
    if len(item_id.encode()) > MAX_ID_BYTES:
        raise BadInputError(f"{where}: the id is longer than {MAX_ID_BYTES} bytes ({item_id[:40]}…)")
    inputs = {"image": str(image)}
    for role in ("mask", "fixation"):
        value = row.pop(role, None)
        if value and role not in ROLES[plan.command]:
            raise BadInputError(f"{where}: {plan.command} takes no {role}")
        if value:
            inputs[role] = str((base / str(value)).resolve())
        elif role == "mask" and plan.masks is not None:
            inputs[role] = str((plan.masks / f"{image.stem}.png").resolve())
    unknown = sorted(set(row) - set(table))
    if unknown:
        allowed = ", ".join(["id", "image", "mask", *sorted(table)])
        raise BadInputError(f"{where}: unknown column {', '.join(unknown)} (allowed: {allowed})")
    values = {**plan.defaults, **{k: v for k, v in row.items() if v is not None and str(v) != ""}}
    argv = [inputs["image"]]
    if "fixation" in inputs:
        argv.append(inputs["fixation"])
    if "mask" in inputs:
        argv += ["--mask", inputs["mask"]]
    outputs = []
    if plan.command in OUTPUT_NAMES:
        outputs.append(str((plan.outdir / OUTPUT_NAMES[plan.command].format(id=item_id)).resolve()))
        argv += ["-o", outputs[-1]]
    if plan.command == "edit" and plan.projects:
        outputs.append(str((plan.outdir / f"{item_id}.ora").resolve()))
        argv += ["--project", outputs[-1]]
    words, options = _read_values(values, table, where)
    argv += words + plan.common
    return BatchItem(item_id, plan.command, tuple(argv), inputs, tuple(outputs), {**plan.fixed, **options})
