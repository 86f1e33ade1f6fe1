"""What the desktop and the CLI say about a model's weights in one line: random, trained here on N photos, or
nothing (a real checkpoint speaks for itself)."""

from __future__ import annotations

import json
from pathlib import Path

from gencurve_desktop.document.safe_files import read_regular
from gencurve_desktop.errors import ModelLoadError

TRAINING_FILE = "training.json"  # written by scripts/train_mini.py --export beside the weights
MAX_TRAINING_BYTES = 4096


def trained_photos(folder: Path) -> int | None:
    """The number of training photos recorded in ``folder/training.json`` (None when it is not recorded)."""
    path = Path(folder) / TRAINING_FILE
    if not path.exists():
        return None
    data = read_regular(path, MAX_TRAINING_BYTES, what="training record", error=ModelLoadError)
    try:
        photos = json.loads(data).get("photos")
    except (ValueError, AttributeError) as e:
        raise ModelLoadError(f"{path}: not a training record ({e})") from e
    if isinstance(photos, bool) or not isinstance(photos, int) or not 0 < photos < 10**9:
        return None
    return photos


def model_note(name: str, random_weights: bool, folder: Path | None = None) -> str:
    """``"demo: random weights"``, ``"mini: small model trained on 14 photos"``, or ``""`` for other models."""
    if random_weights:
        return f"{name}: random weights"
    photos = trained_photos(folder) if folder is not None else None
    if photos is None:
        return ""
    return f"{name}: small model trained on {photos} photos"
