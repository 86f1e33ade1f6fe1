"""Hostile files on disk (issue 24): crafted projects, recovery sidecars, FIFOs, device links and full disks, each
run through the real command line in a subprocess whose peak memory is measured.

Every test states its bound: exit code, exactly one ``gencurve:`` line naming the problem, no traceback, nothing
written outside the test's folder, and the child's peak resident memory.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.document import recovery
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.ora import load_ora, save_ora

#: runs the CLI in-process in the measured child
WRAPPER = (
    "import os, sys\nfrom gencurve_desktop.cli.main import main\n"
    "code = main(sys.argv[1:])\nsys.stdout.flush()\nos._exit(code)\n"
)
#: a small launcher between pytest and the CLI: Linux carries the forking process's resident size into the child's
#: ru_maxrss across exec, so the CLI is forked from this small process, not from pytest (which grows to ~1 GB in a
#: full run), and its peak (KiB, from wait4) goes to $RSS_FILE
LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open(os.environ['RSS_FILE'], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)
PEAK_MB = 600  # the bound for every refusal here: a bare CLI process with numpy, Pillow and torch imported


def gencurve(tmp_path: Path, *args, timeout=120):
    rss = tmp_path / "rss.txt"
    env = dict(os.environ, HF_HUB_OFFLINE="1", RSS_FILE=str(rss))
    start = time.monotonic()
    command = [sys.executable, "-c", LAUNCHER, sys.executable, "-c", WRAPPER, *map(str, args)]
    r = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    r.seconds = time.monotonic() - start
    r.peak_mb = int(rss.read_text()) / 1024 if rss.exists() else None
    return r


def one_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("gencurve:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def refused(r, code: int, *words: str) -> str:
    line = one_line(r)
    assert r.returncode == code, (r.returncode, r.stderr)
    for word in words:
        assert word in line, line
    assert r.peak_mb is not None and r.peak_mb < PEAK_MB, r.peak_mb
    return line


def png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def crafted_ora(path: Path, stack: str, entries: dict[str, bytes], w: int = 8, h: int = 8) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "image/openraster")
        zf.writestr("stack.xml", f'<image version="0.0.5" w="{w}" h="{h}" xmlns:gencurve="urn:gencurve:openraster:1">'
                                 f"<stack>{stack}</stack></image>")  # fmt: skip
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def layer(src: str, gid: str | None = None, x: str = "0", y: str = "0") -> str:
    id_attr = f' gencurve:id="{gid}"' if gid is not None else ""
    return f'<layer name="{src}" src="{src}" x="{x}" y="{y}"{id_attr}/>'


PIXEL = png(np.full((8, 8, 4), 200, np.uint8))


# ---------------------------------------------------------------------------------------------- 3. unsafe ids
def test_traversal_and_repeated_ids_are_renamed_and_the_saved_project_reopens_whole(tmp_path):
    red, blue = np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 4), np.uint8)
    red[..., 0] = red[..., 3] = 255
    blue[..., 2] = blue[..., 3] = 255
    stack = layer("a.png", "../../escape") + layer("b.png", "same") + layer("c.png", "same")
    src = crafted_ora(tmp_path / "hostile.ora", stack, {"a.png": png(red), "b.png": png(blue), "c.png": PIXEL})
    doc = load_ora(src)
    ids = [ly.id for ly in doc.layers]
    assert len(set(ids)) == 3 and all("/" not in i and "." not in i for i in ids)
    assert len(doc.load_notes) == 2 and any("../../escape" in n for n in doc.load_notes)
    out = tmp_path / "saved" / "p.ora"
    out.parent.mkdir()
    save_ora(doc, out)
    names = zipfile.ZipFile(out).namelist()
    assert not any(".." in n for n in names) and len(names) == len(set(names))
    back = load_ora(out)  # reopening works and no layer's pixels were lost
    assert [ly.pixels.tobytes() for ly in back.layers] == [ly.pixels.tobytes() for ly in doc.layers]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.ora", "saved"]
    r = gencurve(tmp_path, "project", "info", src)
    assert r.returncode == 0 and len(json.loads(r.stdout)["layers"]) == 3


# ---------------------------------------------------------------------------------------------- 4. amplification
@pytest.mark.parametrize(
    "shape",
    ["64 layers sharing one entry on 8000x8000", "512 one-pixel layers on 8000x8000", "3000 edit masks on 8000x8000"],
)
def test_a_tiny_project_that_would_take_gigabytes_is_refused_before_allocating(tmp_path, shape):
    one = png(np.zeros((1, 1, 4), np.uint8))
    if shape.startswith("64"):
        entries = {"l.png": one}
        stack = "".join(layer("l.png") for i in range(64))
    elif shape.startswith("512"):
        entries = {f"l{i}.png": one for i in range(512)}
        stack = "".join(layer(f"l{i}.png") for i in range(512))
    else:
        entries = {"l.png": one, "data/gencurve/mask.png": one}
        edits = [{"id": f"e{i}", "mask": "l.png", "provenance": {}} for i in range(3000)]
        entries["data/gencurve/document.json"] = json.dumps({"schema_version": 1, "edits": edits}).encode()
        stack = layer("l.png")
    src = crafted_ora(tmp_path / "bomb.ora", stack, entries, w=8000, h=8000)
    assert src.stat().st_size < 400_000
    r = gencurve(tmp_path, "project", "info", src)
    refused(r, 2, "GENCURVE_MAX_DOCUMENT_MB", "MiB")
    assert r.seconds < 30


def test_the_document_limit_can_be_raised(tmp_path, monkeypatch):
    src = crafted_ora(tmp_path / "p.ora", layer("a.png") + layer("b.png"), {"a.png": PIXEL, "b.png": PIXEL}, 2000, 2000)
    monkeypatch.setenv("GENCURVE_MAX_DOCUMENT_MB", "20")  # 2 layers of 2000² RGBA are 30.5 MiB
    refused(gencurve(tmp_path, "project", "info", src), 2, "20 MiB document limit")
    monkeypatch.setenv("GENCURVE_MAX_DOCUMENT_MB", "64")
    assert gencurve(tmp_path, "project", "info", src).returncode == 0


# ---------------------------------------------------------------------------------------------- 7/8. odd contents
DOC_JSON = "data/gencurve/document.json"


@pytest.mark.parametrize(
    ("stack", "document", "words"),
    [
        (layer("a.png", x="inf"), None, ["x='inf'"]),
        (layer("a.png", y="1e400"), None, ["y='1e400'"]),
        ('<stack x="inf">' + layer("a.png") + "</stack>", None, ["x='inf'"]),
        (layer("a.png"), b'{"schema_version": 1, "edits": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ["nested"]),
        (layer("a.png"), b'{"schema_version": 1, "edits": [{"id": "e", "mask": "a.png", "provenance": NaN}]}',
         ["NaN"]),
        (layer("a.png"), b'{"schema_version": 1, "edits": [{"id": "e", "mask": "a.png", "provenance": []}]}',
         ["provenance"]),
        (layer("a.png"), b'{"schema_version": 1, "edits": {"params": []}}', ["edits"]),
        (layer("a.png"), b'{"schema_version": 1, "references": [[1e1000, 3]]}', ["damaged"]),
    ],
    ids=["inf-offset", "1e400-offset", "inf-group", "deep-json", "nan-provenance", "list-provenance",
         "edits-object", "huge-reference"],
)  # fmt: skip
def test_odd_project_contents_exit_2_with_one_line(tmp_path, stack, document, words):
    entries = {"a.png": PIXEL}
    if document is not None:
        entries[DOC_JSON] = document
    src = crafted_ora(tmp_path / "odd.ora", stack, entries)
    refused(gencurve(tmp_path, "project", "info", src), 2, str(src), *words)


# ---------------------------------------------------------------------------------------------- 6. non-regular files
@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.ora"
    os.mkfifo(path)
    return path


def test_a_fifo_or_a_dev_zero_link_as_a_project_or_image_is_refused_at_once(tmp_path, fifo):
    refused(r := gencurve(tmp_path, "project", "info", fifo), 2, "FIFO")
    assert r.seconds < 20
    zero = tmp_path / "zero.ora"
    zero.symlink_to("/dev/zero")
    refused(gencurve(tmp_path, "project", "info", zero), 2, "character device")
    image = tmp_path / "zero.png"
    image.symlink_to("/dev/zero")
    refused(gencurve(tmp_path, "saliency", image, "-o", tmp_path / "s.png", "--model", "/no/model"), 2, "device")


def test_an_output_that_is_a_fifo_is_refused_and_a_link_to_a_device_is_replaced_not_written(tmp_path, sample_rgb):
    src = tmp_path / "p.ora"
    save_ora(Document.from_image(sample_rgb), src)
    out_fifo = tmp_path / "out.png"
    os.mkfifo(out_fifo)
    refused(gencurve(tmp_path, "project", "export", src, "-o", out_fifo), 2, "FIFO")
    link = tmp_path / "link.png"
    link.symlink_to("/dev/null")
    r = gencurve(tmp_path, "project", "export", src, "-o", link)
    assert r.returncode == 0, r.stderr
    assert not link.is_symlink() and Image.open(link).size == (128, 128)
    assert Path("/dev/null").is_char_device()


def test_a_results_file_that_is_a_fifo_or_a_symlink_is_refused(tmp_path, sample_rgb):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(sample_rgb).save(images / "a.png")
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "results.jsonl")
    args = ["batch", "saliency", images, "-o", out, "--model", "demo", "--steps", "2", "--probes", "1"]
    refused(r := gencurve(tmp_path, *args), 2, "FIFO")
    assert r.seconds < 60
    (out / "results.jsonl").unlink()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (out / "results.jsonl").symlink_to(victim)
    refused(gencurve(tmp_path, *args), 2, "symbolic link")
    assert victim.read_text() == "keep\n"


# ---------------------------------------------------------------------------------------------- 8. names
def test_nul_in_a_manifest_and_an_overlong_output_name_exit_2(tmp_path, sample_rgb):
    Image.fromarray(sample_rgb).save(tmp_path / "a.png")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"image": "a.png", "id": "x\u0000y"}) + "\n")
    refused(gencurve(tmp_path, "batch", "saliency", manifest, "-o", tmp_path / "o", "--model", "/no/model"), 2, "NUL")
    long_name = tmp_path / ("n" * 300 + ".png")
    r = gencurve(tmp_path, "saliency", tmp_path / "a.png", "-o", long_name, "--model", "/no/model")
    refused(r, 2, "too long")


# ---------------------------------------------------------------------------------------------- 8. full disk
def test_a_full_disk_in_saliency_and_project_export_exits_2_naming_the_path(tmp_path, sample_rgb):
    from tests.test_cli_faults import tmpfs

    src = tmp_path / "p.ora"
    big = np.random.default_rng(0).integers(0, 255, (512, 512, 3), np.uint8)  # incompressible: > 48 KB as PNG
    save_ora(Document.from_image(big), src)
    Image.fromarray(big).save(tmp_path / "a.png")
    with tmpfs(tmp_path / "full", "size=48k") as full:
        line = refused(gencurve(tmp_path, "project", "export", src, "-o", full / "m.png"), 2, str(full / "m.png"))
        assert "No space left" in line
        r = gencurve(tmp_path, "saliency", tmp_path / "a.png", "-o", full / "s.png", "--model", "demo",
                     "--steps", "6", "--probes", "1", timeout=300)  # fmt: skip
        assert r.returncode == 2 and "No space left" in one_line(r) and str(full) in one_line(r), r.stderr
        assert list(full.iterdir()) == []


# ---------------------------------------------------------------------------------------------- 2. recovery keys
@pytest.fixture
def recovery_folder(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "recovery"
    monkeypatch.setenv("GENCURVE_RECOVERY_DIR", str(folder))
    return recovery.recovery_dir()


def test_a_traversal_sidecar_is_never_offered_followed_or_deleted_through(tmp_path, recovery_folder, sample_rgb):
    victim = tmp_path / "victim.ora"
    save_ora(Document.from_image(sample_rgb), victim)
    (tmp_path / "victim.json").write_text("{}")
    sidecar = {"document_key": "../victim", "source": None, "saved_at": time.time(), "instance": None}
    (recovery_folder / "evil.json").write_text(json.dumps(sidecar))
    save_ora(Document.from_image(sample_rgb), recovery_folder / "evil.ora")
    assert recovery.list_recovery() == []  # the key does not name its own sidecar: skipped
    recovery.discard("../victim")  # a key from anywhere else: refused, nothing derived from it
    with pytest.raises(ValueError):
        recovery.autosave(Document.from_image(sample_rgb), "../victim")
    assert victim.is_file() and (tmp_path / "victim.json").is_file()
    assert load_ora(victim).size == (128, 128)


@pytest.mark.parametrize("bad", ["saved_at-nan", "saved_at-huge", "source-int", "fifo", "link"])
def test_odd_sidecars_are_skipped_without_hanging(tmp_path, recovery_folder, sample_rgb, bad):
    good = {"document_key": "abc123", "source": None, "saved_at": 1.0, "instance": None}
    save_ora(Document.from_image(sample_rgb), recovery_folder / "abc123.ora")
    side = recovery_folder / "abc123.json"
    if bad == "saved_at-nan":
        side.write_text(json.dumps(good).replace("1.0", "NaN"))
    elif bad == "saved_at-huge":
        side.write_text(json.dumps(good).replace("1.0", "1e400"))
    elif bad == "source-int":
        side.write_text(json.dumps({**good, "source": 7}))
    elif bad == "fifo":
        os.mkfifo(side)
    else:
        (tmp_path / "elsewhere.json").write_text(json.dumps(good))
        side.symlink_to(tmp_path / "elsewhere.json")
    start = time.monotonic()
    assert recovery.list_recovery() == []
    assert time.monotonic() - start < 5


# ---------------------------------------------------------------------------------------------- 10. concurrent writers
def test_outputs_written_together_wait_for_another_writer_of_the_same_folder(tmp_path):
    from gencurve_desktop.document.file_lock import lock_folder

    out = tmp_path / "out"
    out.mkdir()
    writer = (
        "import sys\nfrom pathlib import Path\nfrom gencurve_desktop.document.atomic import write_together\n"
        "o = Path(sys.argv[1])\n"
        "write_together([(o / 'x.png', lambda f: f.write(b'B')), (o / 'y.ora', lambda f: f.write(b'B'))])\n"
    )
    with lock_folder(out):  # another process is in the middle of committing its x.png and y.ora
        (out / "x.png").write_bytes(b"A")
        child = subprocess.Popen([sys.executable, "-c", writer, str(out)])
        time.sleep(1.5)
        assert child.poll() is None and (out / "x.png").read_bytes() == b"A"  # it waits: no X from one, Y from other
        (out / "y.ora").write_bytes(b"A")
    assert child.wait(timeout=60) == 0
    assert (out / "x.png").read_bytes() == (out / "y.ora").read_bytes() == b"B"
