"""Faults on the command line: outputs refused before the model loads, outputs that commit together, real
signals at any moment, full and read-only disks, CPU out of memory, closed and broken pipes."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.document.atomic import TEMP_MARK

CLI = [sys.executable, "-m", "gencurve_desktop.cli.entry"]
FAST = ["--iterations", "3", "--steps", "4", "--refresh-every", "2", "--device", "cpu", "--model", "demo"]
NO_MODEL = ["--model", "/no/such/model.safetensors"]  # exit 3 if the model were loaded first


def gencurve(*args, timeout=300, **kw):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout, **kw)


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("gencurve:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if TEMP_MARK in p.name or p.name.endswith(".tmp")]


@pytest.fixture
def files(tmp_path, sample_rgb):
    Image.fromarray(sample_rgb).save(tmp_path / "in.png")
    m = np.zeros(sample_rgb.shape[:2], np.uint8)
    m[40:80, 40:88] = 255
    Image.fromarray(m).save(tmp_path / "mask.png")
    return tmp_path


def edit(tmp: Path, *extra):
    return [
        "edit",
        tmp / "in.png",
        "--task",
        "saliency-down",
        "--mask",
        tmp / "mask.png",
        *extra,
    ]


@pytest.mark.parametrize(
    "output, message",
    [
        ("x.psd", "cannot write .psd"),
        ("x.xbm", "cannot write .xbm"),
        ("x.xyz", "cannot write .xyz"),
        ("missing/x.png", "does not exist"),
        ("in.png", "is an input of this command"),
        ("mask.png", "is an input of this command"),
    ],
)
def test_outputs_are_refused_before_the_model_loads(files, output, message):
    r = gencurve(*edit(files, "-o", files / output), *NO_MODEL)
    assert r.returncode == 2 and message in one_line(r.stderr) and r.stdout == ""


def test_project_path_is_checked_too_and_overwrite_allows_replacing_an_input(files):
    r = gencurve(*edit(files, "-o", files / "o.png", "--project", files / "p.psd"), *NO_MODEL)
    assert r.returncode == 2 and ".ora" in one_line(r.stderr)
    r = gencurve(*edit(files, "-o", files / "in.png", "--overwrite"), *NO_MODEL)
    assert r.returncode == 3  # the output passed; the (missing) model is what stops it


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--seed", str(2**70)], "--seed"),
        (["--seed", "-1"], "--seed"),
        (["--erode", "100000"], "--erode"),
        (["--lr", "nan"], "--lr"),
        (["--steps", "1"], "--steps"),
    ],
)
def test_numbers_are_range_checked_before_the_model_loads(files, extra, message):
    r = gencurve(*edit(files, "-o", files / "o.png", *extra), *NO_MODEL)
    assert r.returncode == 2 and message in one_line(r.stderr)


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()}); needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_read_only_folder_is_refused_up_front(files):
    with tmpfs(files / "ro", "size=1m,ro") as ro:
        r = gencurve(*edit(files, "-o", ro / "o.png"), *NO_MODEL)
        line = one_line(r.stderr)
        assert r.returncode == 2 and str(ro) in line and "Read-only" in line and TEMP_MARK not in line


def test_full_disk_leaves_neither_output_nor_temporary_files(files):
    with tmpfs(files / "full", "size=48k") as full:
        r = gencurve(*edit(files, "-o", full / "o.png", "--project", full / "o.ora"), *FAST)
        line = one_line(r.stderr)
        assert r.returncode == 2 and str(full) in line and "No space left" in line
        assert list(full.iterdir()) == []


def first_line_delay() -> float:
    """Seconds until a new interpreter runs our first line: Python's own start-up (site, .pth files) is not ours."""
    starts = []
    for _ in range(3):
        t = time.monotonic()
        subprocess.run([sys.executable, "-c", "import gencurve_desktop.cli.entry"], check=True)
        starts.append(time.monotonic() - t)
    return 1.5 * max(starts)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_at_any_moment_leaves_both_outputs_or_neither(files, sig, code):
    rng = np.random.default_rng(int(sig))
    out, project = files / "o.png", files / "o.ora"
    seen = set()
    start = first_line_delay()
    for delay in [start, start + 0.3, *rng.uniform(1.0, 9.0, 4)]:
        for p in (out, project):
            p.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [*CLI, *map(str, edit(files, "-o", out, "--project", project)), *FAST],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        assert proc.returncode in (0, code), stderr
        both = out.exists() and project.exists()
        neither = not out.exists() and not project.exists()
        assert both if proc.returncode == 0 else neither
        assert temps(files) == []
        seen.add(proc.returncode)
    assert code in seen  # at least one run was really interrupted


# A real signal sent at a fixed moment, from inside the child:
# - while a library imports, which then does what real libraries do with the exception: a pybind11 extension's
#   initialisation raises ImportError("initialization failed") from it (diffusers' lazy import wraps that in
#   RuntimeError), mpmath's back-end probe swallows it with a bare ``except:``. The sleeps of the test above hit
#   that moment by chance (CI did, once: exit 3, "cannot load model").
# - right after the output's rename, while the renames hold signals back: the outputs are in place, so the
#   command must end as it succeeded, not as "cancelled" with its outputs written.
SIGNAL_AT_A_MOMENT = """
import importlib.abc, importlib.machinery, os, signal, sys, time
TARGET, SIG, MODE = "diffusers.models.autoencoders.autoencoder_kl", int(sys.argv[1]), sys.argv[2]

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        real = spec.loader.exec_module
        def exec_module(module):
            try:
                os.kill(os.getpid(), SIG)
                time.sleep(5)  # the handler runs here
            except BaseException as e:
                if MODE == "convert":
                    raise ImportError("initialization failed") from e
            real(module)
        spec.loader.exec_module = exec_module
        return spec

if MODE == "after-rename":
    real_replace = os.replace
    def replace(src, dst):
        real_replace(src, dst)
        if str(dst).endswith(".ora"):  # the last of the two renames
            os.kill(os.getpid(), SIG)
    os.replace = replace
else:
    sys.meta_path.insert(0, Hook())
sys.argv = ["gencurve", *sys.argv[3:]]
from gencurve_desktop.cli.entry import run
run()
"""


def signal_at_a_moment(files, mode, sig):
    out, project = files / "o.png", files / "o.ora"
    args = edit(files, "-o", out, "--project", project)
    return subprocess.run(
        [sys.executable, "-c", SIGNAL_AT_A_MOMENT, str(int(sig)), mode, *map(str, args), *FAST],
        capture_output=True,
        text=True,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
        timeout=300,
    )


@pytest.mark.parametrize(
    "mode, sig, code, word",
    [("convert", signal.SIGINT, 130, "cancelled"), ("swallow", signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_a_library_converts_or_swallows_still_cancels(files, mode, sig, code, word):
    r = signal_at_a_moment(files, mode, sig)
    assert r.returncode == code and one_line(r.stderr) == f"gencurve: {word}"
    assert not (files / "o.png").exists() and not (files / "o.ora").exists() and temps(files) == []


def test_a_signal_once_the_outputs_are_in_place_ends_nothing(files):
    r = signal_at_a_moment(files, "after-rename", signal.SIGINT)
    assert r.returncode == 0 and "cancelled" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert json.loads(r.stdout)["project"] == str(files / "o.ora")
    assert (files / "o.png").exists() and (files / "o.ora").exists() and temps(files) == []


def test_cpu_out_of_memory_exits_4_with_a_hint(tmp_path):
    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((4096, 4096, 3), np.uint8)).save(big)
    limit = 4 * 2**30  # the demo model runs in ~1.5 GB; a 4096² VAE pass needs far more
    r = gencurve(
        "curve",
        big,
        "--at",
        "5,5",
        "--max-side",
        "4096",
        "--steps",
        "2",
        "--model",
        "demo",
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
    )
    line = one_line(r.stderr)
    assert r.returncode == 4 and "out of memory" in line and "--max-side" in line


def test_broken_pipe_and_closed_stdout_are_quiet(tmp_path, sample_rgb):
    from gencurve_desktop.document.document import Document
    from gencurve_desktop.document.ora import save_ora

    project = tmp_path / "p.ora"
    save_ora(Document.from_image(sample_rgb), project)
    cli = " ".join(CLI)
    r = subprocess.run(
        ["bash", "-c", f"{cli} project info {project} | head -c 10; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.stdout == '{"size": [' and r.stderr == "" and r.returncode in (0, 141)
    r = subprocess.run(["bash", "-c", f"{cli} project info {project} >&-"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "standard output is closed" in one_line(r.stderr)


def test_ctrl_c_at_the_very_start_is_quiet(files):
    """From the program's first line on (the interpreter's own start-up, measured here, comes before it)."""
    first_line = first_line_delay()
    for delay in (first_line, first_line + 0.05, first_line + 0.15, first_line + 0.4):
        proc = subprocess.Popen(
            [*CLI, "curve", str(files / "in.png"), "--at", "1,1", "--model", "demo"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 130 and "Traceback" not in stderr and stdout == "", (delay, stderr)


def test_every_declared_parameter_is_a_flag_with_its_default():
    from gencurve_desktop.cli.parser import build_parser
    from gencurve_desktop.engine.params import PARAMS

    parser = build_parser()
    args = parser.parse_args(["edit", "i.png", "--task", "blend", "--mask", "m.png", "-o", "o.png"])
    for param in PARAMS:
        assert getattr(args, param.name) == param.default
    assert json.dumps([p.flag for p in PARAMS])  # flags are unique strings
    assert len({p.flag for p in PARAMS}) == len(PARAMS)


FINALISER_SIGNAL = """
import os, signal
from gencurve_desktop.cli.signals import Terminated, raise_if_swallowed, unwinding_signals

class Finaliser:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs here, inside __del__, where its exception cannot unwind
            pass

try:
    with unwinding_signals():
        f = Finaliser()
        del f
        raise_if_swallowed()
except Terminated:
    print("terminated")
"""


def test_a_signal_that_lands_in_a_finaliser_ends_the_command_without_a_traceback():
    """CI saw "Exception ignored in: <function Group.__del__>… raise Terminated" on stderr: SIGTERM arrived while
    regex ran a finaliser. The signal is remembered and raised again; nothing is printed for it."""
    r = subprocess.run([sys.executable, "-c", FINALISER_SIGNAL], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "terminated"
    assert r.stderr == "", r.stderr
