"""Atomic writes keep the replaced file's mode, honour the umask for new files, replace a symlink instead of writing
through it (issue 24) and clean up the temporary files that interrupted writes of ours left behind."""

import os
import stat
import time

import pytest

from gencurve_desktop.document import recovery
from gencurve_desktop.document.atomic import TEMP_MARK, current_umask, remove_stale_temps, write_atomic
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.ora import load_ora, save_ora


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_file_gets_the_umask_mode(tmp_path, umask_022, sample_rgb):
    assert current_umask() == 0o022
    save_ora(Document.from_image(sample_rgb), tmp_path / "new.ora")
    assert mode(tmp_path / "new.ora") == 0o644  # not mkstemp's 0600


def test_overwriting_keeps_the_files_mode(tmp_path, umask_022):
    target = tmp_path / "shared.png"
    target.write_bytes(b"old")
    os.chmod(target, 0o664)
    write_atomic(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new" and mode(target) == 0o664


def test_a_symlinked_target_is_replaced_and_its_target_left_alone(tmp_path, sample_rgb):
    real = tmp_path / "projects" / "real.ora"
    real.parent.mkdir()
    first = Document.from_image(sample_rgb)
    save_ora(first, real)
    link = tmp_path / "link.ora"
    link.symlink_to(real)
    doc = Document.from_image(255 - sample_rgb)
    save_ora(doc, link)
    assert not link.is_symlink() and link.is_file()  # the link itself became the new project
    assert (load_ora(link).composite() == doc.composite()).all()
    assert (load_ora(real).composite() == first.composite()).all()  # what it pointed at is untouched


def test_stale_temp_files_of_ours_are_removed_on_the_next_save(tmp_path):
    stale = tmp_path / f".a.png{TEMP_MARK}x1y2.tmp"
    fresh = tmp_path / f".b.png{TEMP_MARK}z3.tmp"
    foreign = tmp_path / ".c.png.other.tmp"  # not ours: left alone
    for p in (stale, fresh, foreign):
        p.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    write_atomic(tmp_path / "a.png", lambda f: f.write(b"x"))
    assert not stale.exists() and fresh.exists() and foreign.exists()
    assert remove_stale_temps(tmp_path, older_than_s=-1) == 1 and not fresh.exists()


def test_a_live_instances_snapshot_is_not_offered(tmp_path, monkeypatch, sample_rgb):
    monkeypatch.setenv("GENCURVE_RECOVERY_DIR", str(tmp_path))
    live = recovery.InstanceLock()
    recovery.autosave(Document.from_image(sample_rgb), "doc-live", instance=live.id)
    recovery.autosave(Document.from_image(sample_rgb), "doc-orphan", instance="gone-instance")
    recovery.autosave(Document.from_image(sample_rgb), "doc-old-format")  # written before instances existed
    offered = {e.document_key for e in recovery.list_recovery()}
    assert offered == {"doc-orphan", "doc-old-format"}
    assert recovery.instance_alive(live.id) and not recovery.instance_alive("gone-instance")
    live.release()
    assert "doc-live" in {e.document_key for e in recovery.list_recovery()}  # its owner is gone now
