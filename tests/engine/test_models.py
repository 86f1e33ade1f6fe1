"""Model sources: built-in configs, diffusers folders, single files, hub ids; refusals and clear errors."""

import shutil

import pytest
import torch

from gencurve_desktop.engine.devices import resolve_device, resolve_dtype
from gencurve_desktop.engine.models import load_model
from gencurve_desktop.errors import BadInputError, ModelLoadError


def test_demo_is_seeded_and_has_empty_prompt_conditioning(demo_model):
    again = load_model("demo", device="cpu")
    a = dict(demo_model.unet.named_parameters())
    for name, p in again.unet.named_parameters():
        assert torch.equal(p, a[name])
    assert demo_model.empty_cond.shape == (1, 77, 32)
    assert torch.equal(again.empty_cond, demo_model.empty_cond)
    assert demo_model.random_weights and demo_model.dtype == torch.float32


def test_folder_loads_through_from_pretrained(tiny_sd_folder):
    m = load_model(str(tiny_sd_folder), device="cpu")
    assert not m.random_weights and m.prediction_type == "epsilon"
    assert m.empty_cond.shape == (1, 77, 32)


def test_folder_with_only_pickle_weights_is_refused(tiny_sd_folder, tmp_path):
    copy = tmp_path / "pickled"
    shutil.copytree(tiny_sd_folder, copy)
    weights = copy / "unet" / "diffusion_pytorch_model.safetensors"
    weights.rename(copy / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="refusing to unpickle"):
        load_model(str(copy), device="cpu")


@pytest.mark.parametrize("suffix", [".ckpt", ".bin", ".pt"])
def test_pickle_checkpoint_is_refused(tmp_path, suffix):
    f = tmp_path / f"model{suffix}"
    f.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(ModelLoadError, match="refusing to load a pickle"):
        load_model(str(f), device="cpu")


def test_garbage_safetensors(tmp_path):
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"\xff" * 64)
    with pytest.raises(ModelLoadError):
        load_model(str(f), device="cpu")


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="not a Stable Diffusion folder"):
        load_model(str(tmp_path), device="cpu")


def test_missing_path():
    with pytest.raises(ModelLoadError, match="no such model"):
        load_model("./no/such/model", device="cpu")


def test_repo_id_offline_and_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="not in the Hugging Face cache"):
        load_model("someone/some-sd-model", device="cpu")


def test_device_and_dtype_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("bf16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(BadInputError):
        resolve_dtype("fp8", torch.device("cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(BadInputError, match="no CUDA"):
            resolve_device("cuda")


def test_download_progress_reports_bytes_written_only(capsys):
    from tqdm.contrib.concurrent import thread_map

    from gencurve_desktop.engine.download_progress import byte_progress_class

    reports = []
    bar_class = byte_progress_class(lambda *a: reports.append(a), interval_s=0.0)
    thread_map(lambda i: i, range(3), tqdm_class=bar_class)  # the files bar: counts files, not bytes
    transfer = bar_class(total=0, unit="B", desc="Downloading bytes")  # network bytes: total is a guess
    transfer.update(500)
    written = bar_class(total=0, unit="B", desc="Reconstructing")
    written.total = 3000  # huggingface_hub grows the total as each file's size becomes known
    for _ in range(3):
        written.update(1000)
    assert reports == [("download", 1000, 3000), ("download", 2000, 3000), ("download", 3000, 3000)]
    assert capsys.readouterr().err == ""  # the bars draw into strings, never onto the terminal
