"""Atomic saving survives a kill at any moment; autosave and recovery; export."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.document import recovery
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.export import export_mask, export_merged
from gencurve_desktop.document.ora import load_ora, save_ora
from gencurve_desktop.errors import BadInputError

SAVER = r"""
import sys, numpy as np
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.ora import save_ora
rng = np.random.default_rng(0)
i = 0
while True:
    doc = Document.from_image(rng.integers(0, 255, (768, 768, 3), dtype=np.uint8))
    doc.layers[0].name = f"version {i}"
    save_ora(doc, sys.argv[1])
    print(i, flush=True)
    i += 1
"""


def test_kill_during_save_leaves_old_or_new(tmp_path, sample_rgb):
    target = tmp_path / "p.ora"
    save_ora(Document.from_image(sample_rgb), target)
    rng = np.random.default_rng(1)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(target)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # at least one full save happened in this process
        time.sleep(float(rng.uniform(0.0, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        doc = load_ora(target)  # never a broken file
        assert doc.layers[0].name.startswith("version")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "p.ora"]
    # a killed writer may leave its temporary file behind, never a damaged target
    assert all(name.startswith(".p.ora.") and name.endswith(".tmp") for name in leftovers)


def test_autosave_list_restore_discard(tmp_path, monkeypatch, sample_rgb):
    monkeypatch.setenv("GENCURVE_RECOVERY_DIR", str(tmp_path / "rec"))
    doc = Document.from_image(sample_rgb)
    doc.mask[1:3, 1:3] = True
    recovery.autosave(doc, "doc1", source="/photos/a.png")
    time.sleep(0.01)
    recovery.autosave(Document.from_image(255 - sample_rgb), "doc2")
    entries = recovery.list_recovery()
    assert [e.document_key for e in entries] == ["doc2", "doc1"]
    assert entries[1].source == "/photos/a.png"
    restored = recovery.restore(entries[1])
    assert np.array_equal(restored.mask, doc.mask)
    recovery.discard("doc1")
    assert [e.document_key for e in recovery.list_recovery()] == ["doc2"]
    (tmp_path / "rec" / "junk.json").write_text("{not json")
    assert [e.document_key for e in recovery.list_recovery()] == ["doc2"]


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif"])
def test_export_formats(tmp_path, sample_rgb, suffix):
    doc = Document.from_image(sample_rgb)
    out = tmp_path / f"e{suffix}"
    export_merged(doc, out)
    with Image.open(out) as im:
        assert im.size == (128, 128)
        if suffix in (".png", ".tif"):
            assert np.array_equal(np.array(im.convert("RGB")), sample_rgb)


def test_export_mask_and_bad_names(tmp_path, sample_rgb):
    doc = Document.from_image(sample_rgb)
    doc.mask[:, :10] = True
    export_mask(doc, tmp_path / "m.png")
    assert (np.array(Image.open(tmp_path / "m.png")) == 255).sum() == 1280
    with pytest.raises(BadInputError):
        export_merged(doc, tmp_path / "x.gif")
    with pytest.raises(BadInputError):
        save_ora(doc, tmp_path / "missing" / "x.ora")
    assert not os.path.exists(tmp_path / "x.gif")
