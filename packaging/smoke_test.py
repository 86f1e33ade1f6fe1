"""Smoke test of the frozen build in dist/: run it the way a user would, measure size and start-up.

    python3 packaging/smoke_test.py [dist/gencurve-desktop] [--archive dist/ARCHIVE]

Runs from an empty temporary folder with private settings, no network and no access to the source tree, so
everything it needs must come from the bundle. Prints one line per check and writes dist/smoke-report.json;
exits 1 when any check fails. Standard library only: it runs under whatever Python drives the build.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def isolated_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GENCURVE_", "VIRTUAL_ENV"))}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HF_HUB_OFFLINE="1",
        HF_HOME=str(home / "hf"),
        GENCURVE_SETTINGS_DIR=str(home / "settings"),
        GENCURVE_RECOVERY_DIR=str(home / "recovery"),
    )
    return env


def timed_run(cmd: list[str], env: dict, cwd: Path, timeout: float = 900) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return done, time.perf_counter() - start


def mini_intact(folder: Path) -> bool:
    """Every file SHA256SUMS lists is there with that hash (the desktop's default model, shipped as trained)."""
    import hashlib

    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        return False
    for line in sums.read_text().splitlines():
        digest, name = line.split("  ", 1)
        if not (folder / name).is_file() or hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
            return False
    return True


def run_with_milestones(cmd: list[str], env: dict, cwd: Path, timeout: float = 900) -> tuple[int, dict, str]:
    """Run ``cmd``; the seconds since launch at which each ``self-test: ...`` line appeared on stderr."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen, lines = {}, []

    def read() -> None:
        for line in proc.stderr:
            lines.append(line.rstrip())
            if line.startswith("self-test"):
                seen.setdefault(line.strip(), round(time.perf_counter() - start, 2))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = -9
    reader.join(5)
    return rc, seen, "\n".join(lines[-15:])


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        print(f"{'PASS' if ok else 'FAIL'}  {name}{': ' + detail if detail else ''}", flush=True)
        if not ok:
            self.failures.append(name)
        return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", default="dist/gencurve-desktop", help="the one-folder build")
    parser.add_argument("--archive", help="the distribution archive, for its size")
    args = parser.parse_args()
    bundle = Path(args.bundle).resolve()
    cli, desktop = bundle / f"gencurve{EXE_SUFFIX}", bundle / f"gencurve-desktop{EXE_SUFFIX}"
    sample = bundle / "_internal" / "resources" / "samples" / "astronaut.png"
    checks = Checks()
    report: dict = {"bundle": str(bundle), "platform": sys.platform}

    # 1. the folder holds both executables and the bundled resources; the only weights are mini's, unchanged
    for exe in (cli, desktop):
        checks.check(f"{exe.name} exists", exe.is_file() and os.access(exe, os.X_OK))
    checks.check("bundled sample image", sample.is_file())
    mini = bundle / "_internal" / "resources" / "models" / "mini"
    weights = [p for p in bundle.rglob("*") if p.suffix in (".safetensors", ".ckpt", ".bin", ".pt", ".pth")]
    stray = [p.name for p in weights if mini not in p.parents]
    checks.check("no model weights in the bundle but mini's", not stray, ", ".join(stray[:5]))
    checks.check("mini's files match its SHA256SUMS", mini_intact(mini))
    report["bundle_mb"] = round(folder_size(bundle) / 2**20, 1)
    if args.archive:
        report["archive"] = Path(args.archive).name
        report["archive_mb"] = round(Path(args.archive).stat().st_size / 2**20, 1)
    if checks.failures:
        print("the bundle is incomplete; nothing to run", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="gencurve-smoke-") as tmp:
        home = Path(tmp)
        env = isolated_env(home)
        work = home / "work"
        work.mkdir()

        # 2. CLI start-up: the median of three cold-ish `gencurve --version` runs
        times, version = [], ""
        for _ in range(3):
            done, seconds = timed_run([str(cli), "--version"], env, work)
            times.append(seconds)
            version = done.stdout.strip()
        checks.check("gencurve --version", done.returncode == 0 and version.startswith("gencurve "), version)
        report["cli_version_s"] = round(statistics.median(times), 2)

        # 3. the frozen CLI computes a generation curve on the bundled sample with the demo model
        cmd = [str(cli), "curve", str(sample), "--at", "256,256", "--model", "demo", "--steps", "10"]
        done, seconds = timed_run(cmd, env, work)
        ok = done.returncode == 0
        detail = f"{seconds:.1f} s"
        if ok:
            result = json.loads(done.stdout)
            rates = result["curves"][0]["rates"]
            ok = (
                result["model"] == "demo"
                and len(result["timesteps"]) == 10
                and len(rates) == 10
                and all(math.isfinite(r) and r > 0 for r in rates)
            )
        else:
            detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        checks.check("gencurve curve (demo, bundled sample)", ok, detail)
        report["cli_curve_s"] = round(seconds, 2)

        # 4. bad input in the frozen CLI: one line, exit 2, no traceback
        done, _ = timed_run([str(cli), "curve", str(work / "missing.png"), "--at", "1,1", "--model", "demo"], env, work)
        err = done.stderr.strip()
        checks.check("frozen CLI: missing image exits 2 with one line", done.returncode == 2 and "\n" not in err, err)

        # 5. the frozen desktop app's self-test, offscreen; start-up = launch until the window is shown
        rc, seen, tail = run_with_milestones([str(desktop), "--self-test"], env, work)
        # a windowed executable (Windows, macOS) has no stderr: there the exit code is all it reports
        windowed = sys.platform in ("win32", "darwin")
        ok = rc == 0 and (windowed or "self-test passed" in seen)
        checks.check("gencurve-desktop --self-test", ok, "" if ok else tail or f"exit {rc}")
        report["desktop_window_shown_s"] = seen.get("self-test: window shown")
        report["desktop_model_ready_s"] = seen.get("self-test: model ready (mini)")
        report["desktop_self_test_s"] = seen.get("self-test passed")

        # 6. Linux: install.sh puts both commands on PATH through links that work, and removes them again
        installer = bundle / "install.sh"
        if sys.platform.startswith("linux") and installer.is_file():
            user = dict(env, HOME=str(home / "user"))
            user.pop("XDG_BIN_HOME", None), user.pop("XDG_DATA_HOME", None)
            done, _ = timed_run(["bash", str(installer)], user, work)
            link = home / "user" / ".local" / "bin" / "gencurve"
            entry = home / "user" / ".local" / "share" / "applications" / "gencurve-desktop.desktop"
            ok = done.returncode == 0 and link.is_symlink() and entry.is_file()
            if ok:
                linked, _ = timed_run([str(link), "--version"], user, work)
                ok = linked.returncode == 0 and linked.stdout.startswith("gencurve ")
            removed, _ = timed_run(["bash", str(installer), "--uninstall"], user, work)
            ok = ok and removed.returncode == 0 and not link.exists() and not entry.exists()
            checks.check("install.sh links, menu entry, --uninstall", ok, done.stderr.strip()[-200:])

    report["passed"] = not checks.failures
    out = bundle.parent / "smoke-report.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"smoke test {'passed' if report['passed'] else 'FAILED: ' + ', '.join(checks.failures)}; report: {out}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
