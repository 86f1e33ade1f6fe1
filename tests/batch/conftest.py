"""A small image set for batch runs: 64 x 64 crops of the bundled sample, written as PNG files."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_helpers import crops
from PIL import Image


@pytest.fixture
def image_folder(tmp_path, sample_rgb) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for k, crop in enumerate(crops(sample_rgb, 3)):
        Image.fromarray(crop).save(folder / f"img{k}.png")
    return folder
