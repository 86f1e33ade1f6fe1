"""Hostile model files on disk (issue 24): tokenizer limits, missing vocabularies, configs that ask for tens of GB,
single ``.safetensors`` checkpoints that only look like Stable Diffusion, FIFOs and device links.

Every hostile file is made here (a copy of a tiny diffusers folder or of ``resources``, or a small safetensors
file) and loaded by the real command line in a subprocess. Each test states its bound: the exit code (3: the
model cannot be loaded, 4: it would not fit in memory), exactly one ``gencurve:`` line naming the problem, no
traceback, the child's peak resident memory (from ``os.wait4``, so it is measured even for a child that aborts)
and its wall time. Children run with an 8 GB address-space limit, so a regression fails here instead of
taking the machine's memory.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from gencurve_desktop.paths import resources_dir

sys.path.insert(0, str(Path(__file__).parent))
from layouts import clip_to_ldm, unet_to_ldm, vae_to_ldm  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "wait4"), reason="POSIX: os.wait4, FIFOs and /dev/zero")

SAMPLE = resources_dir() / "samples" / "astronaut.png"
#: the bound for every refusal: the CLI with torch (and, for the memory and single-file checks, diffusers)
#: imported; loading the demo model and computing its curve takes about 500 MB
PEAK_MB = 1536
#: seconds per refusal, start-up included (python, torch and diffusers take a few seconds on a busy 2-core CPU)
WALL_S = 40
CHILD_TIMEOUT_S = 150
ADDRESS_SPACE_LIMIT = 8 << 30
SD1_UNET = "model.diffusion_model.input_blocks.0.0.weight"
SD1_TEXT = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
KEEP_ENV = ("GENCURVE_MAX_MODEL_GB", "GENCURVE_SINGLE_FILE_CONFIGS", "GENCURVE_RESOURCES")


@dataclass
class Run:
    code: int
    stderr: str
    peak_mb: float
    seconds: float


#: Runs the command in its argv, from a small Python process, and prints its exit code, peak RSS and seconds.
#: The child is forked from this small process, not from pytest: Linux carries the forking process's resident
#: size into the child's ru_maxrss across exec, so a child of pytest (torch and diffusers loaded) would start
#: at pytest's 500 MB. The child also gets the address-space limit and is killed after the timeout.
MEASURE = r"""
import os, resource, subprocess, sys, time
limit, timeout = int(sys.argv[1]), float(sys.argv[2])
def cap():
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass
start = time.monotonic()
proc = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=cap)
while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() - start > timeout:
        proc.kill()
        pid, status, usage = os.wait4(proc.pid, 0)
        break
    time.sleep(0.02)
proc.returncode = os.waitstatus_to_exitcode(status)
print(proc.returncode, usage.ru_maxrss, time.monotonic() - start)
"""


def gencurve_curve(model, tmp_path: Path, **env) -> Run:
    """``gencurve curve <sample> --at 10,10 --model <model>`` in a child; its exit code, stderr, peak RSS."""
    child_env = {k: v for k, v in os.environ.items() if k not in KEEP_ENV}
    child_env.update(HF_HUB_OFFLINE="1", **env)
    cmd = [sys.executable, "-m", "gencurve_desktop.cli", "curve", str(SAMPLE), "--at", "10,10"]
    cmd += ["--model", str(model), "--steps", "2", "--max-side", "64", "--device", "cpu"]
    limit = ADDRESS_SPACE_LIMIT if sys.platform.startswith("linux") else 0
    r = subprocess.run(
        [sys.executable, "-c", MEASURE, str(limit), str(CHILD_TIMEOUT_S), *cmd],
        capture_output=True,
        text=True,
        errors="replace",
        env=child_env,
        timeout=CHILD_TIMEOUT_S + 60,
    )
    code, maxrss, seconds = r.stdout.split()
    peak = int(maxrss) / (1 << 20 if sys.platform == "darwin" else 1024)
    run = Run(int(code), r.stderr, peak, float(seconds))
    print(f"exit {run.code}, peak {run.peak_mb:.0f} MB, {run.seconds:.1f} s: {run.stderr.strip()[-300:]}")
    return run


def refused(run: Run, code: int, *words: str) -> str:
    """The one ``gencurve:`` line of a refusal with exit ``code`` that names ``words``, fast and small."""
    lines = [ln for ln in run.stderr.replace("\r", "\n").splitlines() if ln.startswith("gencurve:")]
    assert "Traceback" not in run.stderr, run.stderr
    assert len(lines) == 1, run.stderr
    assert run.code == code, (run.code, run.stderr)
    for word in words:
        assert word in lines[0], lines[0]
    assert run.peak_mb < PEAK_MB, run.peak_mb
    assert run.seconds < WALL_S, run.seconds
    return lines[0]


@pytest.fixture
def model_copy(tmp_path, tiny_sd_folder) -> Path:
    """A private copy of the tiny diffusers folder (weights included) to corrupt."""
    return Path(shutil.copytree(tiny_sd_folder, tmp_path / "model"))


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


# --- 1. tokenizer limits --------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [10**9, 1e9, 78], ids=["1000000000", "1e9-float", "past-77-positions"])
def test_tokenizer_length_beyond_the_text_encoder_is_refused_before_tokenizing(model_copy, tmp_path, length):
    """10⁹ aborted the process in the tokenizer's Rust code (SIGABRT, exit 134); 78 indexed past the
    position embeddings."""
    edit_json(model_copy / "tokenizer" / "tokenizer_config.json", model_max_length=length)
    line = refused(gencurve_curve(model_copy, tmp_path), 3, "tokenizer_config.json", "model_max_length")
    assert repr(length) in line and "77" in line


def test_builtin_model_checks_its_tokenizer_too(tmp_path):
    resources = Path(shutil.copytree(resources_dir(), tmp_path / "resources"))
    edit_json(resources / "models" / "demo" / "tokenizer" / "tokenizer_config.json", model_max_length=10**9)
    run = gencurve_curve("demo", tmp_path, GENCURVE_RESOURCES=str(resources))
    refused(run, 3, "tokenizer_config.json", "1000000000")


# --- 2. tokenizer files ---------------------------------------------------------------------------------


def _no_tokenizer_json(tokenizer: Path) -> None:
    (tokenizer / "tokenizer.json").unlink()


def _empty_tokenizer_json(tokenizer: Path) -> None:
    (tokenizer / "tokenizer.json").write_bytes(b"")


def _vocab_without_merges(tokenizer: Path) -> None:
    (tokenizer / "tokenizer.json").unlink()
    shutil.copy(resources_dir() / "models" / "demo" / "tokenizer" / "vocab.json", tokenizer / "vocab.json")


@pytest.mark.parametrize(
    "damage, words",
    [
        (_no_tokenizer_json, ("no vocabulary", "tokenizer.json", "vocab.json", "merges.txt")),
        (_empty_tokenizer_json, ("tokenizer.json", "empty")),
        (_vocab_without_merges, ("no vocabulary", "merges.txt")),
    ],
    ids=["no-tokenizer-json", "empty-tokenizer-json", "vocab-without-merges"],
)
def test_tokenizer_without_its_vocabulary_is_refused(model_copy, tmp_path, damage, words):
    """Without tokenizer.json (nor vocab.json + merges.txt) CLIPTokenizer built a 2-token tokenizer and the run
    succeeded with other empty-prompt ids ([0, 2, 2, …] instead of [512, 513, 513, …])."""
    damage(model_copy / "tokenizer")
    refused(gencurve_curve(model_copy, tmp_path), 3, *words)


def test_shipped_tokenizers_pass_the_checks():
    from gencurve_desktop.engine.model_limits import check_tokenizer_files

    for name in ("demo", "sd21-arch"):
        folder = resources_dir() / "models" / name
        text = json.loads((folder / "text_encoder" / "config.json").read_text())
        assert check_tokenizer_files(folder / "tokenizer", text) == 77


# --- 3. configs that ask for tens of GB -----------------------------------------------------------------


@pytest.mark.parametrize(
    "part, changes",
    [
        ("unet", dict(block_out_channels=[32, 32, 64, 16384])),
        ("text_encoder", dict(hidden_size=100_000)),
        ("text_encoder", dict(vocab_size=10**9)),
    ],
    ids=["unet-widths", "text-hidden-size", "text-vocab-size"],
)
def test_config_needing_more_memory_than_allowed_exits_4_before_allocating(model_copy, tmp_path, part, changes):
    """Each config needs 119 GB to 298 GB of weights: refused from the configs alone (counted on the meta
    device), above the default ceiling of 32 GB whatever the machine has. The old code began to allocate."""
    edit_json(model_copy / part / "config.json", **changes)
    line = refused(gencurve_curve(model_copy, tmp_path), 4, "GB", "set GENCURVE_MAX_MODEL_GB=")
    assert "more than the" in line


def test_memory_limit_from_the_environment(tmp_path):
    run = gencurve_curve("demo", tmp_path, GENCURVE_MAX_MODEL_GB="0.001")
    line = refused(run, 4, "demo", "MB", "GENCURVE_MAX_MODEL_GB=0.001", "set GENCURVE_MAX_MODEL_GB=1 ")
    assert "1.0 MB allowed" in line


def test_bad_memory_limit_is_a_usage_error(tmp_path):
    run = gencurve_curve("demo", tmp_path, GENCURVE_MAX_MODEL_GB="lots")
    refused(run, 2, "GENCURVE_MAX_MODEL_GB", "'lots'")


def test_scheduler_with_huge_timestep_count_is_refused(model_copy, tmp_path):
    edit_json(model_copy / "scheduler" / "scheduler_config.json", num_train_timesteps=10**10)
    refused(gencurve_curve(model_copy, tmp_path), 3, "scheduler_config.json", "num_train_timesteps", "10000")


def test_pickle_weights_beside_the_safetensors_do_not_count_as_configs(model_copy, tmp_path):
    """A full clone of a hub repository keeps its (never read) .bin weights beside the safetensors: not refused."""
    with open(model_copy / "unet" / "diffusion_pytorch_model.bin", "wb") as f:
        f.truncate(64 << 20)
    run = gencurve_curve(model_copy, tmp_path)
    assert run.code == 0, run.stderr


# --- 4. single .safetensors checkpoints (the shipped SD 1.x family: 1.07 G parameters, 4.3 GB) ---------


def _raw_safetensors(path: Path, entries: dict[str, tuple[str, list[int]]], sparse: bool = False) -> Path:
    """A safetensors file written by hand: ``entries`` name -> (dtype, shape), zero data (sparse: a hole)."""
    size = {"F32": 4, "F16": 2}
    header, offset = {}, 0
    for name, (dtype, shape) in entries.items():
        n = size[dtype] * int(torch.tensor(shape).prod()) if shape else size[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        if sparse:
            f.truncate(8 + len(raw) + offset)
        else:
            f.write(bytes(offset))
    return path


def test_single_file_holding_only_the_detection_keys_is_refused_from_the_header(tmp_path):
    """240 bytes that pass the family detection: the old code built the whole SD 1.x model first."""
    from safetensors.torch import save_file

    path = tmp_path / "tiny.safetensors"
    save_file({SD1_UNET: torch.zeros(1), SD1_TEXT: torch.zeros(1)}, str(path))
    assert path.stat().st_size < 300
    refused(gencurve_curve(path, tmp_path), 3, "tiny.safetensors", "U-Net")


def test_single_file_with_too_many_tensors_is_refused_before_parsing_the_header(tmp_path):
    """150 000 empty tensors beside the detection keys (a 9 MB header)."""
    entries = {SD1_UNET: ("F32", [320, 4, 3, 3]), SD1_TEXT: ("F32", [49408, 768])}
    entries.update({f"junk.{i}": ("F32", [0]) for i in range(150_000)})
    path = _raw_safetensors(tmp_path / "many.safetensors", entries, sparse=True)
    refused(gencurve_curve(path, tmp_path), 3, "many.safetensors", "150002 tensors", "100000")


@pytest.fixture(scope="module")
def sd1_shapes() -> dict[str, list[int]]:
    """Every tensor of a full-size SD 1.x checkpoint, name -> shape, from the shipped configs on the meta device."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = resources_dir() / "models" / "single-file" / "sd1"
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
    state = {**unet_to_ldm(unet), **vae_to_ldm(vae), **clip_to_ldm(text)}
    return {k: list(v.shape) for k, v in state.items()}


def test_full_size_single_file_missing_one_layer_is_refused_before_reading_the_weights(tmp_path, sd1_shapes):
    """A 2.1 GB (sparse) SD 1.x checkpoint with every tensor but one: the converted header shapes are checked
    against the architecture on the meta device; the old code read 2 GB and built 4.3 GB first."""
    entries = {k: ("F16", shape) for k, shape in sd1_shapes.items()}
    del entries["model.diffusion_model.output_blocks.4.0.in_layers.2.weight"]
    path = _raw_safetensors(tmp_path / "sd15-cut.safetensors", entries, sparse=True)
    assert path.stat().st_size > 2 * 10**9
    refused(gencurve_curve(path, tmp_path), 3, "sd15-cut.safetensors", "U-Net")


# --- 5. FIFOs and device links --------------------------------------------------------------------------


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _dev_zero(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to("/dev/zero")


@pytest.mark.parametrize("make, kind", [(_fifo, "a FIFO"), (_dev_zero, "a character device")], ids=["fifo", "dev-zero"])
@pytest.mark.parametrize(
    "rel",
    ["unet/diffusion_pytorch_model.safetensors", "text_encoder/config.json", "tokenizer/tokenizer.json"],
    ids=["weights", "config", "tokenizer"],
)
def test_model_folder_file_that_is_not_a_regular_file_is_refused_unread(model_copy, tmp_path, make, kind, rel):
    """Weights were reported as "no weights found"; a config or tokenizer FIFO blocked forever, /dev/zero was
    read until memory ran out."""
    make(model_copy / rel)
    refused(gencurve_curve(model_copy, tmp_path), 3, rel.split("/")[-1], "not a regular file", kind)


@pytest.mark.parametrize("make, kind", [(_fifo, "a FIFO"), (_dev_zero, "a character device")], ids=["fifo", "dev-zero"])
def test_safetensors_path_that_is_not_a_regular_file_is_refused_unread(tmp_path, make, kind):
    """Was "no such model folder or file"."""
    path = tmp_path / "model.safetensors"
    make(path)
    refused(gencurve_curve(path, tmp_path), 3, "model.safetensors", "not a regular file", kind)
