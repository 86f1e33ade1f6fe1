"""Untrusted image files: every bad input gives BadInputError; odd-but-valid formats load correctly."""

import io

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.document import images
from gencurve_desktop.document.images import load_mask, load_rgb, save_image_atomic
from gencurve_desktop.errors import BadInputError


def test_missing_file(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        load_rgb(tmp_path / "nope.png")


def test_directory(tmp_path):
    with pytest.raises(BadInputError, match="directory"):
        load_rgb(tmp_path)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    with pytest.raises(BadInputError, match="empty"):
        load_rgb(p)


def test_non_image(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("hello, I am not a picture")
    with pytest.raises(BadInputError, match="not an image"):
        load_rgb(p)


def test_truncated(tmp_path, sample_rgb):
    buf = io.BytesIO()
    Image.fromarray(sample_rgb).save(buf, "PNG")
    p = tmp_path / "cut.png"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(BadInputError, match="damaged or truncated"):
        load_rgb(p)


def test_decompression_bomb(tmp_path, monkeypatch):
    # a 1-bit 12000 x 12000 PNG is tiny on disk but 144 megapixels
    p = tmp_path / "bomb.png"
    Image.new("1", (12000, 12000)).save(p, optimize=True)
    assert p.stat().st_size < 200_000
    with pytest.raises(BadInputError, match="too large"):
        load_rgb(p)


def test_cmyk_jpeg(tmp_path):
    p = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(p)  # pure red in CMYK
    rgb = load_rgb(p)
    assert rgb.shape == (30, 40, 3)
    assert rgb[..., 0].mean() > 200 and rgb[..., 1].mean() < 60


def test_16_bit_grey(tmp_path):
    a = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(a).save(p)
    with Image.open(p) as stored:
        assert stored.mode.startswith("I")
    rgb = load_rgb(p)
    assert rgb.shape == (32, 64, 3)
    assert rgb.min() == 0 and rgb.max() == 255  # full range kept, not clipped


def test_palette_with_transparency_over_white(tmp_path):
    im = Image.new("P", (16, 16), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (0, 0, 8, 16))
    im.info["transparency"] = 0
    p = tmp_path / "pal.png"
    im.save(p, transparency=0)
    rgb = load_rgb(p)
    assert tuple(rgb[0, 0]) == (255, 0, 0)
    assert tuple(rgb[0, 15]) == (255, 255, 255)  # transparent -> white


def test_rgba(tmp_path):
    a = np.zeros((8, 8, 4), np.uint8)
    a[..., 2] = 255
    a[:, :4, 3] = 255
    p = tmp_path / "rgba.png"
    Image.fromarray(a, "RGBA").save(p)
    rgb = load_rgb(p)
    assert tuple(rgb[0, 0]) == (0, 0, 255) and tuple(rgb[0, 7]) == (255, 255, 255)


def test_exif_rotation_applied(tmp_path):
    a = np.zeros((20, 40, 3), np.uint8)
    a[:, :20] = 255  # left half white in storage
    im = Image.fromarray(a)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    p = tmp_path / "rot.jpg"
    im.save(p, exif=exif, quality=95)
    rgb = load_rgb(p)
    assert rgb.shape == (40, 20, 3)  # width and height swapped
    assert rgb[:15].mean() > 200 and rgb[25:].mean() < 50  # white now on top


def test_animated_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 255, 0))]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgb = load_rgb(p)
    assert rgb[..., 0].mean() > 200 and rgb[..., 1].mean() < 50


def test_webp(tmp_path, sample_rgb):
    p = tmp_path / "im.webp"
    Image.fromarray(sample_rgb).save(p, lossless=True)
    assert np.array_equal(load_rgb(p), sample_rgb)


def test_mask_threshold_and_size(tmp_path):
    a = np.array([[0, 127, 128, 255]], np.uint8)
    p = tmp_path / "m.png"
    Image.fromarray(a).save(p)
    assert load_mask(p).tolist() == [[False, False, True, True]]
    with pytest.raises(BadInputError, match="mask is 4x1"):
        load_mask(p, (5, 1))


def test_atomic_save_leaves_no_temporary(tmp_path, sample_rgb):
    out = tmp_path / "o.png"
    save_image_atomic(sample_rgb, out)
    assert np.array_equal(load_rgb(out), sample_rgb)
    assert [f.name for f in tmp_path.iterdir()] == ["o.png"]


def test_atomic_save_failure_keeps_old_file(tmp_path, sample_rgb, monkeypatch):
    out = tmp_path / "o.png"
    save_image_atomic(sample_rgb, out)
    before = out.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(images.os, "fsync", boom)
    with pytest.raises(BadInputError, match=f"{out}: cannot write \\(disk full\\)"):  # one line naming the path
        save_image_atomic(np.zeros_like(sample_rgb), out)
    assert out.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["o.png"]


def test_a_damaged_or_non_rgb_profile_never_costs_the_picture(tmp_path):
    """A profile LittleCMS cannot read is dropped: the pixels stay as they are, untagged."""
    from gencurve_desktop.document.images import load_photo

    rgb = np.full((8, 8, 3), 120, np.uint8)
    Image.fromarray(rgb).save(tmp_path / "broken.png", icc_profile=b"not a profile at all" * 10)
    pixels, meta = load_photo(tmp_path / "broken.png")
    assert np.array_equal(pixels, rgb) and meta.icc_profile is None
