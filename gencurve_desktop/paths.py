"""Where the bundled resources live (source checkout, editable install or frozen bundle)."""

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """The `resources/` folder: $GENCURVE_RESOURCES, the PyInstaller bundle, or the source tree."""
    override = os.environ.get("GENCURVE_RESOURCES")
    if override:
        return Path(override)
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def sample_image() -> Path:
    """The bundled sample photograph (public domain, see README "Sample images")."""
    return resources_dir() / "samples" / "astronaut.png"


def icon_path() -> Path:
    """The application icon (PNG; the .ico beside it is for the Windows executable)."""
    return resources_dir() / "icons" / "gencurve.png"
