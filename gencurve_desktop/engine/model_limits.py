"""Limits on what a model's files may ask of the machine, checked before anything is read in bulk or built.

A model folder or checkpoint comes from anywhere (a download, a shared drive) and is read by libraries that
trust it: a FIFO or a link to ``/dev/zero`` makes them block or read forever, a tokenizer limit of 10⁹ tokens
aborts the process inside the tokenizer's Rust code, a config with huge widths allocates tens of GB before any
weight is read, and a safetensors header can list millions of tensors. Everything here reads only small files
(configs, the safetensors header) and refuses with one line:

* model files must be regular files (``os.stat`` / ``fstat``, links resolved); configs at most 1 MiB, other
  tokenizer / config files at most 32 MiB;
* config values: integers below 2³¹, at most 8 resolution levels, 8 layers per block, 16 transformer layers
  per block, 128 text-encoder layers, 10 000 training timesteps;
* the tokenizer: a vocabulary (``tokenizer.json``, or ``vocab.json`` + ``merges.txt``) and a ``model_max_length``
  from 2 to the text encoder's ``max_position_embeddings`` (and at most 1024);
* safetensors headers: at most 32 MiB and 100 000 tensors, each with a known dtype and offsets inside the file;
* the weights' memory (parameters x 4 bytes, counted on torch's ``meta`` device, nothing allocated): at most the
  memory available now and at most 32 GB, or ``$GENCURVE_MAX_MODEL_GB`` when set (exit code 4 above it).
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

from gencurve_desktop.document.safe_files import check_regular, open_regular, read_regular
from gencurve_desktop.errors import ModelLoadError

MODEL_GB_ENV = "GENCURVE_MAX_MODEL_GB"
GB = 1 << 30
#: The weights may use at most this much memory unless $GENCURVE_MAX_MODEL_GB says otherwise (SD 2.x in float32
#: needs 5.2 GB; the ceiling keeps a hostile config from taking a large machine's memory).
DEFAULT_CEILING_GB = 32
CONFIG_MAX_BYTES = 1 << 20
AUX_MAX_BYTES = 32 << 20
MAX_TOKENS = 1024
MAX_HEADER_BYTES = 32 << 20
MAX_TENSORS = 100_000
MAX_CONFIG_INT = 2**31 - 1
MAX_LEVELS = 8
MAX_LAYERS_PER_BLOCK = 8
MAX_TRANSFORMER_LAYERS = 16
MAX_TEXT_LAYERS = 128
MAX_TRAIN_TIMESTEPS = 10_000
#: bytes per element of every safetensors dtype GenCurve accepts
DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
}
#: files that the loaders parse whole (weights, and pickles that are never read, may be any size)
TEXT_SUFFIXES = (".json", ".txt", ".jinja")
CONFIG_FILES = {
    "unet": "config.json",
    "vae": "config.json",
    "text_encoder": "config.json",
    "scheduler": "scheduler_config.json",
}


# --- files ---------------------------------------------------------------------------------------------


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def _shown(path: Path) -> str:
    """The path, and where it leads when it is a link (``unet/x.safetensors -> /dev/zero``)."""
    if os.path.islink(path):
        return f"{path} -> {os.path.realpath(path)}"
    return str(path)


def _not_regular(path: Path, mode: int) -> ModelLoadError:
    return ModelLoadError(f"{_shown(path)}: not a regular file ({_kind(mode)}); model files must be regular files")


def regular_file(path: Path, what: str = "file") -> os.stat_result:
    """``os.stat`` of ``path`` (links followed); ModelLoadError when it is missing or not a regular file."""
    return check_regular(path, what, ModelLoadError)


def read_limited(path: Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; opened without blocking and checked with fstat,
    so a FIFO or device put in its place is refused, never read."""
    return read_regular(path, limit, what=what, error=ModelLoadError)


def read_json(path: Path, limit: int = CONFIG_MAX_BYTES, what: str = "config") -> dict:
    """A JSON object from a small regular file; ModelLoadError naming the file otherwise."""
    data = read_limited(path, limit, what)
    if not data.strip():
        raise ModelLoadError(f"{path}: empty {what}")
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise ModelLoadError(f"{path}: not valid JSON ({_first_line(e)})") from None
    if not isinstance(value, dict):
        raise ModelLoadError(f"{path}: not a JSON object")
    return value


def check_entries(folder: Path, limit: int = AUX_MAX_BYTES) -> None:
    """Every entry of ``folder``: a sub-folder or a regular file, and the text files loaders parse (``.json``,
    ``.txt``, ``.jinja``) at most ``limit`` bytes; broken links are ignored (loaders see them as absent)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        raise ModelLoadError(f"{folder}: cannot list it ({e.strerror or e})") from None
    for entry in entries:
        path = Path(entry.path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise ModelLoadError(f"{path}: cannot read it ({e.strerror or e})") from None
        if stat.S_ISDIR(st.st_mode):
            continue
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(path, st.st_mode)
        if entry.name.endswith(TEXT_SUFFIXES) and st.st_size > limit:
            raise ModelLoadError(f"{path}: {_size(st.st_size)}, more than the {_size(limit)} a config may have")


# --- configs -------------------------------------------------------------------------------------------


def _ints(value, where: str = ""):
    """(key, value) of every integer in a config, nested lists and objects included."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield where, value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _ints(v, where)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _ints(v, f"{where}.{k}" if where else str(k))


def _bound(cfg: dict, key: str, limit: int, path: Path, length: bool = False) -> None:
    value = cfg.get(key)
    if value is None:
        return
    if length:
        if not isinstance(value, (list, tuple)):
            raise ModelLoadError(f"{path}: {key} must be a list, got {_short(value)}")
        if len(value) > limit:
            raise ModelLoadError(f"{path}: {key} has {len(value)} entries, more than the {limit} allowed")
        return
    for _, v in _ints(value):
        if v > limit:
            raise ModelLoadError(f"{path}: {key} = {v} is more than the {limit} allowed")


def text_config(cfg: dict) -> dict:
    """The text model's part of a text-encoder config (a full CLIP config nests it under ``text_config``)."""
    if cfg.get("model_type") == "clip" and isinstance(cfg.get("text_config"), dict):
        return cfg["text_config"]
    return cfg


def check_config(part: str, cfg: dict, path: Path) -> None:
    """Values that multiply layers, memory or time, bounded before any library sees the config."""
    if part in ("unet", "vae"):
        for key in ("block_out_channels", "down_block_types", "up_block_types"):
            _bound(cfg, key, MAX_LEVELS, path, length=True)
        _bound(cfg, "layers_per_block", MAX_LAYERS_PER_BLOCK, path)
        for key in ("transformer_layers_per_block", "reverse_transformer_layers_per_block"):
            _bound(cfg, key, MAX_TRANSFORMER_LAYERS, path)
    elif part == "text_encoder":
        _bound(text_config(cfg), "num_hidden_layers", MAX_TEXT_LAYERS, path)
    elif part == "scheduler":
        steps = cfg.get("num_train_timesteps", 1000)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_TRAIN_TIMESTEPS:
            raise ModelLoadError(
                f"{path}: num_train_timesteps must be a whole number from 1 to {MAX_TRAIN_TIMESTEPS}, "
                f"got {_short(steps)}"
            )
    for key, v in _ints(cfg):
        if abs(v) > MAX_CONFIG_INT:
            raise ModelLoadError(f"{path}: {key} = {v} is out of range (at most {MAX_CONFIG_INT})")


def check_configs(folder: Path) -> dict[str, dict]:
    """Read and bound the configs of ``unet``, ``vae``, ``text_encoder`` and ``scheduler`` in ``folder``."""
    configs = {}
    for part, name in CONFIG_FILES.items():
        path = folder / part / name
        if (folder / part).is_dir():
            check_entries(folder / part)
        configs[part] = read_json(path, what=f"{part} config")
        check_config(part, configs[part], path)
    return configs


# --- the tokenizer -------------------------------------------------------------------------------------


def check_tokenizer_files(folder: Path, text_encoder: dict) -> int:
    """The tokenizer folder holds a vocabulary and a sane ``model_max_length``; returns that length.

    ``tokenizer.json`` (what transformers writes) or ``vocab.json`` + ``merges.txt`` (what the SD repositories
    ship) must be there and not empty: without them CLIPTokenizer quietly builds a 2-token tokenizer whose
    empty prompt has other ids. The length must fit the text encoder, else the tokenizer pads to it (10⁹
    tokens abort the process in the tokenizer's Rust code).
    """
    check_entries(folder)
    config_path = folder / "tokenizer_config.json"
    config = read_json(config_path, what="tokenizer config")
    positions = text_config(text_encoder).get("max_position_embeddings", 77)
    limit = min(positions, MAX_TOKENS) if isinstance(positions, int) and not isinstance(positions, bool) else 0
    if limit < 1:
        raise ModelLoadError(
            f"{folder.parent / 'text_encoder' / 'config.json'}: max_position_embeddings must be a positive whole "
            f"number, got {_short(positions)}"
        )
    length = config.get("model_max_length")
    if isinstance(length, bool) or not isinstance(length, int) or not 2 <= length <= limit:
        raise ModelLoadError(
            f"{config_path}: model_max_length must be a whole number from 2 to {limit} (the text encoder's "
            f"max_position_embeddings {positions}, at most {MAX_TOKENS}), got {_short(length)}"
        )
    whole = folder / "tokenizer.json"
    if os.path.exists(whole):
        read_json(whole, AUX_MAX_BYTES, "tokenizer file")
        return length
    missing = [name for name in ("vocab.json", "merges.txt") if not os.path.exists(folder / name)]
    if missing:
        raise ModelLoadError(
            f"{folder}: the tokenizer has no vocabulary (no tokenizer.json, and no {' or '.join(missing)}); "
            "copy the model's tokenizer files again"
        )
    if not read_json(folder / "vocab.json", AUX_MAX_BYTES, "tokenizer vocabulary"):
        raise ModelLoadError(f"{folder / 'vocab.json'}: the tokenizer vocabulary is empty")
    if not read_limited(folder / "merges.txt", AUX_MAX_BYTES, "tokenizer merges file").strip():
        raise ModelLoadError(f"{folder / 'merges.txt'}: empty tokenizer merges file")
    return length


# --- safetensors headers -------------------------------------------------------------------------------


def safetensors_header(path: Path) -> tuple[dict[str, dict], int]:
    """The tensor entries of a safetensors file's header (name -> dtype, shape, data_offsets) and the bytes of
    tensor data they declare, read from the header alone (8-byte little-endian length, then JSON).

    Refused: not a regular file, a header above 32 MiB or running past the end of the file, more than 100 000
    entries (counted before the JSON is parsed), unknown dtypes, offsets outside the file or not matching the
    shape.
    """
    path = Path(path)
    f, st = open_regular(path, "weights file", ModelLoadError)
    with f:
        first = f.read(8)
        if len(first) < 8:
            raise ModelLoadError(f"{path}: not a valid .safetensors file ({st.st_size} bytes, no header)")
        length = int.from_bytes(first, "little")
        if length > MAX_HEADER_BYTES:
            raise ModelLoadError(
                f"{path}: the safetensors header claims {_size(length)}, more than the {_size(MAX_HEADER_BYTES)} "
                "allowed"
            )
        if 8 + length > st.st_size:
            raise ModelLoadError(f"{path}: not a valid .safetensors file (the header runs past the end of the file)")
        raw = f.read(length)
    data_size = st.st_size - 8 - length
    count = raw.count(b'"data_offsets"')
    if count > MAX_TENSORS:
        raise ModelLoadError(
            f"{path}: the safetensors header lists {count} tensors, more than the {MAX_TENSORS} allowed"
        )
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise ModelLoadError(f"{path}: not a valid .safetensors file (header: {_first_line(e)})") from None
    if not isinstance(header, dict):
        raise ModelLoadError(f"{path}: not a valid .safetensors file (the header is not a JSON object)")
    header.pop("__metadata__", None)
    if len(header) > MAX_TENSORS:
        raise ModelLoadError(
            f"{path}: the safetensors header lists {len(header)} tensors, more than the {MAX_TENSORS} allowed"
        )
    total = 0
    for name, entry in header.items():
        problem = _entry_problem(entry, data_size)
        if problem:
            raise ModelLoadError(f"{path}: not a valid .safetensors file (tensor {name[:80]!r}: {problem})")
        total += entry["data_offsets"][1] - entry["data_offsets"][0]
    return header, total


def _entry_problem(entry, data_size: int) -> str | None:
    if not isinstance(entry, dict):
        return "not an entry"
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        return f"unsupported dtype {_short(dtype)}"
    if not isinstance(shape, list) or len(shape) > 8 or not all(_natural(n) for n in shape):
        return f"bad shape {_short(shape)}"
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_natural(n) for n in offsets):
        return f"bad data_offsets {_short(offsets)}"
    begin, end = offsets
    if not begin <= end <= data_size:
        return f"data_offsets {offsets} outside the file's {data_size} bytes of data"
    if end - begin != math.prod(shape) * DTYPE_BYTES[dtype]:
        return f"data_offsets {offsets} do not match the shape {shape}"
    return None


def _natural(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 1 << 62


# --- text ----------------------------------------------------------------------------------------------


def _size(n: int) -> str:
    if n >= GB:
        return f"{n / GB:.1f} GB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} KB"
    return f"{n} bytes"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__
