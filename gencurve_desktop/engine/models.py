"""Loading Stable Diffusion components from every supported source into one `DiffusionModel`.

Sources: ``demo`` and ``sd21-arch`` (architectures shipped as configs in ``resources/models``, seeded random
weights), a Hugging Face repo id (downloaded through huggingface_hub into its standard cache, safetensors
only), a local diffusers folder, or a single ``.safetensors`` checkpoint. Pickle-based weights
(``.ckpt``, ``.bin``, ``.pt``) are refused: unpickling runs arbitrary code.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from gencurve_desktop.engine.cancel import ProgressFn, no_progress
from gencurve_desktop.engine.devices import resolve_device, resolve_dtype
from gencurve_desktop.errors import ModelLoadError
from gencurve_desktop.paths import resources_dir

BUILTIN_MODELS = ("demo", "sd21-arch")
DEFAULT_SEED = 0
PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth", ".pkl")
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
#: What we take from a hub repository: configs, tokenizer and safetensors weights of the five parts.
HUB_PATTERNS = [
    "model_index.json",
    "scheduler/*.json",
    "tokenizer/*",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
]


@dataclass
class DiffusionModel:
    """The parts of a Stable Diffusion pipeline that GenCurve uses, on one device."""

    model_id: str
    unet: torch.nn.Module
    vae: torch.nn.Module
    scheduler: object  # a diffusers DDIMScheduler
    empty_cond: torch.Tensor  # text encoder output for "" (1 x 77 x D), computed once
    device: torch.device
    dtype: torch.dtype  # U-Net dtype; the VAE always runs in float32
    random_weights: bool = False

    @property
    def prediction_type(self) -> str:
        return self.scheduler.config.prediction_type

    @property
    def scaling_factor(self) -> float:
        return float(self.vae.config.scaling_factor)


def load_model(
    source: str = "demo",
    device: str = "auto",
    dtype: str = "auto",
    progress: ProgressFn = no_progress,
    seed: int = DEFAULT_SEED,
    download_progress: ProgressFn | None = None,
) -> DiffusionModel:
    """Load a model from ``demo``, ``sd21-arch``, a repo id, a diffusers folder or a .safetensors file.

    A hub download shows huggingface_hub's own progress bars on stderr, or, with ``download_progress``,
    reports ``("download", bytes_done, bytes_total)`` through it instead (the desktop's progress dialog).
    Raises :class:`ModelLoadError` (exit code 3) with one clear line for anything that cannot be loaded.
    """
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    progress("load model", 0, 1)
    _quiet_libraries()
    try:
        parts, random_weights = _load_parts(source, seed, download_progress)
        model = _assemble(source, parts, dev, dt, random_weights)
    except ModelLoadError:
        raise
    except torch.OutOfMemoryError:
        raise
    except Exception as e:  # diffusers / transformers / safetensors raise many kinds of errors
        raise ModelLoadError(f"cannot load model {source!r}: {_one_line(e)}") from e
    progress("load model", 1, 1)
    return model


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _load_parts(source: str, seed: int, download_progress: ProgressFn | None) -> tuple[dict, bool]:
    if source in BUILTIN_MODELS:
        return build_from_config(resources_dir() / "models" / source, seed), True
    path = Path(source).expanduser()
    if path.is_dir():
        return load_folder(path), False
    if path.is_file():
        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise ModelLoadError(
                f"{path}: refusing to load a pickle checkpoint ({path.suffix}); unpickling can run arbitrary "
                "code. Convert it to .safetensors or use a diffusers folder."
            )
        if path.suffix.lower() != ".safetensors":
            raise ModelLoadError(f"{path}: not a model file (expected a .safetensors checkpoint)")
        return load_single_file(path), False
    if source.startswith((".", "/", "~")) or os.sep in source.strip("/") and not REPO_ID.match(source):
        raise ModelLoadError(f"{source}: no such model folder or file")
    if REPO_ID.match(source):
        return load_folder(download_repo(source, download_progress)), False
    raise ModelLoadError(
        f"{source!r} is not a model: use demo, sd21-arch, a Hugging Face repo id (owner/name), "
        "a diffusers folder or a .safetensors file"
    )


def build_from_config(folder: Path, seed: int = DEFAULT_SEED) -> dict:
    """Build the five parts from the configs in ``folder`` with seeded random weights (demo, sd21-arch)."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    if not (folder / "unet" / "config.json").is_file():
        raise ModelLoadError(f"model config not found in {folder}")
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        torch.manual_seed(seed + 1)
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        torch.manual_seed(seed + 2)
        text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
    finally:
        torch.random.set_rng_state(generator_state)
    scheduler = DDIMScheduler.from_config(DDIMScheduler.load_config(folder / "scheduler"))
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)


def load_folder(folder: Path) -> dict:
    """Load the five parts from a diffusers folder (as written by ``save_pretrained``), safetensors only."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        if not (folder / part).is_dir():
            raise ModelLoadError(f"{folder}: not a Stable Diffusion folder (no {part}/ inside)")
    for part in ("unet", "vae", "text_encoder"):
        files = list((folder / part).iterdir())
        if not any(f.name.endswith(".safetensors") for f in files):
            pickles = [f.name for f in files if f.suffix in PICKLE_SUFFIXES]
            if pickles:
                raise ModelLoadError(
                    f"{folder / part}: only pickle weights ({pickles[0]}); refusing to unpickle them. "
                    "Convert the model to safetensors."
                )
            raise ModelLoadError(f"{folder / part}: no weights found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", use_safetensors=True)
        vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", use_safetensors=True)
        text_encoder = CLIPTextModel.from_pretrained(folder / "text_encoder", use_safetensors=True)
        tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
        scheduler = DDIMScheduler.from_pretrained(folder, subfolder="scheduler")
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)


def load_single_file(path: Path) -> dict:
    """Load an original-format SD 1.x / 2.x ``.safetensors`` checkpoint through diffusers' single-file loader."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8 or int.from_bytes(head, "little") > os.path.getsize(path):
        raise ModelLoadError(f"{path}: not a valid .safetensors file")
    pipe = StableDiffusionPipeline.from_single_file(
        str(path), safety_checker=None, requires_safety_checker=False, use_safetensors=True
    )
    scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    return dict(
        unet=pipe.unet, vae=pipe.vae, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer, scheduler=scheduler
    )


def download_repo(repo_id: str, progress: ProgressFn | None = None) -> Path:
    """Download (or find in the cache) the parts of a hub repository; honours HF_HUB_OFFLINE.

    ``progress`` receives ``("download", bytes_done, bytes_total)``; without it huggingface_hub draws its bars.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    tqdm_class = None if progress is None else byte_progress_class(progress)
    try:
        return Path(snapshot_download(repo_id, allow_patterns=HUB_PATTERNS, tqdm_class=tqdm_class))
    except LocalEntryNotFoundError:
        raise ModelLoadError(
            f"{repo_id}: not in the Hugging Face cache and the hub cannot be reached "
            "(offline or HF_HUB_OFFLINE=1); download it once while online"
        ) from None


def byte_progress_class(progress: ProgressFn, interval_s: float = 0.1) -> type:
    """A silent tqdm class that forwards the byte counts of huggingface_hub's download bars to ``progress``.

    Bars counted in files (unit "it") and the network-transfer bar ("Downloading bytes", whose total is a
    guess) are ignored; the bytes-written bar is reported at most every ``interval_s`` seconds and at its end.
    """
    import io
    import time

    from tqdm.auto import tqdm

    class ByteProgress(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs.update(disable=False, file=io.StringIO(), leave=False)
            super().__init__(*args, **kwargs)
            self.reports = self.unit == "B" and not str(self.desc).startswith("Downloading bytes")
            self.last_report = 0.0

        def update(self, n=1):
            shown = super().update(n)
            now = time.monotonic()
            if self.reports and (now - self.last_report >= interval_s or self.n >= (self.total or 0)):
                self.last_report = now
                progress("download", int(self.n), int(max(self.total or 0, self.n)))
            return shown

    return ByteProgress


def _quiet_libraries() -> None:
    """diffusers / transformers chatter (dtype casts, missing safety checker) stays off stderr."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()
    for module in (diffusers_logging, transformers_logging):
        module.disable_progress_bar()


@torch.no_grad()
def _assemble(source: str, parts: dict, device: torch.device, dtype: torch.dtype, random_weights: bool):
    unet, vae, text_encoder, tokenizer = parts["unet"], parts["vae"], parts["text_encoder"], parts["tokenizer"]
    for m in (unet, vae, text_encoder):
        m.eval().requires_grad_(False)
    # 1. the empty-prompt conditioning, once per model
    ids = tokenizer(
        "", padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
    ).input_ids
    empty = text_encoder(ids)[0]
    # 2. move: U-Net in the working dtype, VAE in float32 (decoding in half precision can overflow)
    unet.to(device=device, dtype=dtype)
    vae.to(device=device, dtype=torch.float32)
    return DiffusionModel(
        model_id=source,
        unet=unet,
        vae=vae,
        scheduler=parts["scheduler"],
        empty_cond=empty.to(device=device, dtype=dtype),
        device=device,
        dtype=dtype,
        random_weights=random_weights,
    )
