"""The photographs `mini` is trained and judged on, where they come from, and their licences.

Only the sources issue 21 names: Debian's mate-backgrounds, plasma-workspace-wallpapers and gnome-backgrounds
packages (``apt-get install mate-backgrounds plasma-workspace-wallpapers gnome-backgrounds``) and
``../shared/data/images``. Only the *photographs* among the wallpapers are used (drawn and abstract art is
left out; gnome-backgrounds 43 holds no photograph, so it contributes none). Each photo is one entry,
whatever number of sizes or dark variants its package ships: a photo is in exactly one split.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

MATE = Path("/usr/share/backgrounds/mate")
PLASMA = Path("/usr/share/wallpapers")
MATE_PHOTOS = (
    "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
    "TwoWings", "Wood", "YellowFlower",
)  # fmt: skip
PLASMA_PHOTOS = (
    "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
    "MilkyWay", "OneStandsOut", "Path", "Volna", "summer_1am",
)  # fmt: skip
SHARED = {  # file: licence (../shared/data/images/LICENSES.md, from scikit-image's bundled data)
    "astronaut.png": "public domain (NASA)",
    "chelsea.png": "CC0, Stefan van der Walt",
    "coffee.png": "CC0, Rachel Michetti",
    "rocket.jpg": "public domain (SpaceX)",
}
#: held out of training always: the samples the README and quick start show, so what a reader sees is a photo
#: the model never saw.
ALWAYS_HELD_OUT = ("astronaut", "coffee")


@dataclass(frozen=True)
class Photo:
    name: str
    path: Path
    package: str
    licence: str


def shared_images_dir() -> Path:
    """``$GENCURVE_SHARED_IMAGES`` or ``../shared/data/images`` beside the repository."""
    env = os.environ.get("GENCURVE_SHARED_IMAGES")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data" / "images"


def _debian_licences(copyright_file: Path) -> list[tuple[str, str, str]]:
    """(files pattern, copyright, licence) stanzas of a machine-readable Debian copyright file."""
    stanzas = []
    for block in copyright_file.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        files = re.search(r"^Files:((?:.*\n?)(?:[ \t]+.*\n?)*)", block, re.M)  # continuation lines indented
        lic = re.search(r"^License:\s*(.+)$", block, re.M)
        holder = re.search(r"^Copyright:\s*(.+)$", block, re.M)
        if files and lic:
            stanzas.append((files.group(1).strip(), holder.group(1).strip() if holder else "", lic.group(1).strip()))
    return stanzas


def _licence_for(relative: str, stanzas: list[tuple[str, str, str]]) -> str:
    import fnmatch

    found = ""
    for patterns, holder, lic in stanzas:  # Debian: the last matching stanza wins
        if any(fnmatch.fnmatch(relative, p) for p in patterns.split()):
            found = f"{lic}, {holder}".strip(", ")
    return found or "unknown"


def _largest(folder: Path) -> Path:
    """The biggest size of a wallpaper (its files are named WIDTHxHEIGHT)."""

    def pixels(p: Path) -> int:
        m = re.fullmatch(r"(\d+)x(\d+)", p.stem)
        return int(m.group(1)) * int(m.group(2)) if m else 0

    files = [p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    return max(files, key=pixels)


def all_photos() -> list[Photo]:
    """Every photograph of the named sources that is installed here (missing packages are skipped)."""
    photos = []
    mate_copy = Path("/usr/share/doc/mate-backgrounds/copyright")
    if MATE.is_dir() and mate_copy.is_file():
        stanzas = _debian_licences(mate_copy)
        for name in MATE_PHOTOS:
            path = MATE / "nature" / f"{name}.jpg"
            if path.is_file():
                photos.append(Photo(name, path, "mate-backgrounds", _licence_for(f"nature/{name}.jpg", stanzas)))
    plasma_copy = Path("/usr/share/doc/plasma-workspace-wallpapers/copyright")
    if PLASMA.is_dir() and plasma_copy.is_file():
        stanzas = _debian_licences(plasma_copy)
        for name in PLASMA_PHOTOS:
            folder = PLASMA / name / "contents" / "images"
            if folder.is_dir():
                lic = _licence_for(f"{name}/contents/images/x", stanzas)
                photos.append(Photo(name, _largest(folder), "plasma-workspace-wallpapers", lic))
    shared = shared_images_dir()
    for file, lic in SHARED.items():
        if (shared / file).is_file():
            photos.append(Photo(Path(file).stem, shared / file, "shared/data/images", lic))
    return photos


def split(photos: list[Photo], held_out: int = 10, tune: int = 4) -> dict[str, list[Photo]]:
    """Whole photos into train / tune / held-out, by a hash of each name (no photo's pixels decide)."""
    fixed = [p for p in photos if p.name in ALWAYS_HELD_OUT]
    rest = sorted((p for p in photos if p.name not in ALWAYS_HELD_OUT),
                  key=lambda p: hashlib.sha256(p.name.encode()).hexdigest())  # fmt: skip
    n_held = max(0, held_out - len(fixed))
    return {
        "held_out": fixed + rest[:n_held],
        "tune": rest[n_held : n_held + tune],
        "train": rest[n_held + tune :],
    }
