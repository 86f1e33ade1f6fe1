"""The packaging scripts that run outside the frozen build: shell syntax, install.sh, the smoke test's helpers.

The build itself (PyInstaller, minutes) runs with `packaging/build.sh`, not in this suite.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or sys.platform == "win32", reason="needs bash")


@pytest.mark.parametrize("script", ["build.sh", "linux/install.sh"])
def test_shell_scripts_parse(script):
    done = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def fake_bundle(folder: Path) -> Path:
    """A folder shaped like dist/gencurve-desktop/, with shell scripts standing in for the executables."""
    folder.mkdir()
    for name in ("gencurve", "gencurve-desktop"):
        exe = folder / name
        exe.write_text(f'#!/bin/sh\necho "{name} from $0"\n')
        exe.chmod(0o755)
    shutil.copy(PACKAGING / "linux" / "install.sh", folder / "install.sh")
    return folder


def test_install_sh_links_both_commands_and_uninstalls(tmp_path):
    bundle = fake_bundle(tmp_path / "GenCurve Desktop")  # a space in the path must survive
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    done = subprocess.run(["bash", str(bundle / "install.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    link = home / ".local" / "bin" / "gencurve"
    entry = home / ".local" / "share" / "applications" / "gencurve-desktop.desktop"
    assert link.resolve() == (bundle / "gencurve").resolve()
    assert subprocess.run([str(link)], capture_output=True, text=True).stdout.startswith("gencurve from")
    text = entry.read_text()
    assert f'Exec="{bundle}/gencurve-desktop" %f' in text and "Name=GenCurve Desktop" in text

    done = subprocess.run(["bash", str(bundle / "install.sh"), "--uninstall"], env=env, capture_output=True)
    assert done.returncode == 0
    assert not link.exists() and not link.is_symlink() and not entry.exists()
    assert (bundle / "gencurve").is_file()  # the folder itself is left alone


def test_install_sh_outside_a_bundle_refuses(tmp_path):
    script = tmp_path / "install.sh"
    shutil.copy(PACKAGING / "linux" / "install.sh", script)
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "unpacked gencurve-desktop folder" in done.stderr
    assert not (tmp_path / "home").exists()


def test_smoke_test_isolates_the_frozen_app_from_this_checkout(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("smoke_test", PACKAGING / "smoke_test.py")
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    monkeypatch.setenv("GENCURVE_RESOURCES", str(ROOT / "resources"))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    env = smoke.isolated_env(tmp_path)
    assert "PYTHONPATH" not in env and "GENCURVE_RESOURCES" not in env
    assert env["HF_HUB_OFFLINE"] == "1" and env["GENCURVE_SETTINGS_DIR"].startswith(str(tmp_path))
