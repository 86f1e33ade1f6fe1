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
from gencurve_desktop.engine.model_budget import check_model_budget
from gencurve_desktop.engine.model_limits import (
    MAX_TOKENS,
    check_configs,
    check_tokenizer_files,
    regular_file,
    safetensors_header,
)
from gencurve_desktop.engine.model_notes import model_note
from gencurve_desktop.engine.precision import weight_dtype
from gencurve_desktop.errors import BadInputError, GenCurveError, ModelLoadError
from gencurve_desktop.paths import resources_dir

BUILTIN_MODELS = ("demo", "sd21-arch")  # shipped as configs: seeded random weights
TRAINED_MODELS = ("mini",)  # shipped with trained weights (resources/models/mini, see its README)
DEFAULT_SEED = 0
PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth", ".pkl")
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
PREDICTION_TYPES = ("auto", "epsilon", "v_prediction")


@dataclass
class DiffusionModel:
    """The parts of a Stable Diffusion pipeline that GenCurve uses, on one device."""

    model_id: str
    unet: torch.nn.Module
    vae: torch.nn.Module
    scheduler: object  # a diffusers DDIMScheduler
    empty_cond: torch.Tensor  # text encoder output for "" (1 x 77 x D), computed once
    device: torch.device
    dtype: torch.dtype  # the working dtype (engine/precision.py); the VAE always runs in float32
    random_weights: bool = False
    note: str = ""  # one line on the weights: "demo: random weights", "mini: small model trained on 14 photos"
    prediction_source: str = "the model's scheduler config"  # why prediction_type is what it is

    @property
    def prediction_type(self) -> str:
        return self.scheduler.config.prediction_type

    @property
    def weight_dtype(self) -> torch.dtype:
        """The U-Net's weights' dtype: float32 under a half working dtype (autocast runs the half parts)."""
        return weight_dtype(self.dtype)

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
    prediction_type: str = "auto",
) -> DiffusionModel:
    """Load a model from ``demo``, ``sd21-arch``, a repo id, a diffusers folder or a .safetensors file.

    A hub download shows huggingface_hub's own progress bars on stderr, or, with ``download_progress``,
    reports ``("download", bytes_done, bytes_total)`` through it instead (the desktop's progress dialog).
    ``prediction_type`` (``auto``, ``epsilon`` or ``v_prediction``) overrides what the model's scheduler config
    or the single-file family says. Raises :class:`ModelLoadError` (exit code 3) with one clear line for
    anything that cannot be loaded, and :class:`~gencurve_desktop.errors.OutOfMemoryError` (exit code 4) for a
    model whose configs ask for more memory than ``$GENCURVE_MAX_MODEL_GB`` or the memory available now allow
    (checked before anything is built, see :mod:`~gencurve_desktop.engine.model_limits`).
    """
    if prediction_type not in PREDICTION_TYPES:
        raise BadInputError(f"unknown prediction type {prediction_type!r} (use auto, epsilon or v_prediction)")
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    progress("load model", 0, 1)
    _quiet_libraries()
    try:
        parts, random_weights = _load_parts(source, seed, download_progress)
        model = _assemble(source, parts, dev, dt, random_weights)
        _set_prediction_type(model, parts, prediction_type)
        trained = resources_dir() / "models" / source if source in TRAINED_MODELS else None
        model.note = model_note(source, random_weights, trained)
    except GenCurveError:  # ModelLoadError, the weights' memory budget (OutOfMemoryError, exit code 4)
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
    if source in TRAINED_MODELS:
        return load_folder(resources_dir() / "models" / source), False
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
        from gencurve_desktop.engine.single_file import load_single_file

        return load_single_file(path), False
    if path.exists():  # a FIFO, a device or a socket (or a link to one): refused, never opened
        regular_file(path, "model file")
    if _looks_like_path(source, path):
        raise ModelLoadError(f"{source}: no such model folder or file")
    if REPO_ID.match(source):
        from gencurve_desktop.engine.hub import resolve_repo

        return load_folder(resolve_repo(source, download_progress)), False
    raise ModelLoadError(
        f"{source!r} is not a model: use demo, mini, sd21-arch, a Hugging Face repo id (owner/name), "
        "a diffusers folder or a .safetensors file"
    )


def _looks_like_path(source: str, path: Path) -> bool:
    """A source that names a file or folder that is not there (rather than a hub repo id)."""
    if source.startswith((".", "/", "~")) or "\\" in source or source.count("/") > 1:
        return True
    if path.suffix.lower() in (".safetensors", *PICKLE_SUFFIXES):
        return True
    first = source.split("/")[0]
    return "/" in source and Path(first).expanduser().is_dir()  # e.g. models/sd21 with a models/ folder here


def build_from_config(folder: Path, seed: int = DEFAULT_SEED) -> dict:
    """Build the five parts from the configs in ``folder`` with seeded random weights (demo, sd21-arch).

    The configs, the tokenizer files and the weights' memory are checked first (:func:`check_model_files`).
    """
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    if not os.path.lexists(folder / "unet" / "config.json"):
        raise ModelLoadError(f"model config not found in {folder}")
    check_model_files(folder, folder.name)
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
    """Load the five parts from a diffusers folder or hub snapshot: safetensors only, full or fp16 variant."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from gencurve_desktop.engine.hub import WEIGHT_FILES, weight_variant

    folder = Path(folder)
    for part in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        if not (folder / part).is_dir():
            raise ModelLoadError(f"{folder}: not a Stable Diffusion folder (no {part}/ inside)")
    check_model_files(folder, str(folder), budget=False)
    variant = weight_variant(folder)  # None (full precision) or "fp16"; raises naming a part without weights
    for part, names in WEIGHT_FILES.items():  # regular files with sane headers, before any library reads them
        safetensors_header(folder / part / names[0 if variant is None else 1])
    check_model_budget(str(folder), folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(use_safetensors=True, variant=variant, torch_dtype=torch.float32)
        unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", **kw)
        vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", **kw)
        text_encoder = CLIPTextModel.from_pretrained(
            folder / "text_encoder", use_safetensors=True, variant=variant, dtype=torch.float32
        )
        tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
        scheduler = DDIMScheduler.from_pretrained(folder, subfolder="scheduler")
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)


def check_model_files(folder: Path, source: str, budget: bool = True) -> None:
    """Before any library reads ``folder``: regular, small configs with bounded values, a tokenizer with a
    vocabulary and a length that fits the text encoder, and (``budget``) weights that fit in memory."""
    configs = check_configs(folder)
    check_tokenizer_files(folder / "tokenizer", configs["text_encoder"])
    if budget:
        check_model_budget(source, folder)


def empty_prompt_ids(tokenizer, text_encoder) -> torch.Tensor:
    """The token ids of the empty prompt (1 x model_max_length), checked to be ``[bos, eos, pad, …]`` with ids
    the text encoder has: damaged tokenizer files give other ids, and would silently change every result."""
    where = getattr(tokenizer, "name_or_path", "") or "the tokenizer"
    length = tokenizer.model_max_length
    positions = text_encoder.config.max_position_embeddings
    if isinstance(length, bool) or not isinstance(length, int) or not 2 <= length <= min(positions, MAX_TOKENS):
        raise ModelLoadError(
            f"{where}: model_max_length must be a whole number from 2 to {min(positions, MAX_TOKENS)}, got {length!r}"
        )
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    if bos is None or eos is None or pad is None or bos == eos:
        raise ModelLoadError(f"{where}: the tokenizer has no distinct start, end and padding tokens")
    vocab = text_encoder.config.vocab_size
    if max(bos, eos, pad) >= vocab:
        raise ModelLoadError(
            f"{where}: the tokenizer's special tokens ({bos}, {eos}, {pad}) are outside the text encoder's "
            f"vocabulary of {vocab}"
        )
    ids = tokenizer("", padding="max_length", max_length=length, truncation=True, return_tensors="pt").input_ids
    row = ids[0].tolist()
    if row != [bos, eos] + [pad] * (length - 2):
        raise ModelLoadError(
            f"{where}: the tokenizer turns the empty prompt into {row[:4]}…, not [{bos}, {eos}, {pad}, …] "
            "(start, end, padding); its files are damaged"
        )
    words = tokenizer("a photo of a cat", add_special_tokens=False).input_ids
    known = [w for w in words if w not in (tokenizer.unk_token_id, bos, eos, pad)]
    if not known or max(words) >= vocab:
        raise ModelLoadError(
            f"{where}: the tokenizer's vocabulary is empty or does not fit the text encoder "
            f"({len(tokenizer)} tokens; 'a photo of a cat' gives {words[:6]}); its files are damaged"
        )
    return ids


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
    if tokenizer is None:  # single files: the family's empty-prompt ids (no tokenizer vocabulary needed)
        ids = parts["empty_ids"]
    else:
        ids = empty_prompt_ids(tokenizer, text_encoder)
    empty = text_encoder(ids)[0]
    # 2. move: U-Net weights in float32 under a half working dtype (engine/precision.py runs each part in half
    #    or float32 by autocast), VAE in float32 (decoding in half precision can overflow)
    unet.to(device=device, dtype=weight_dtype(dtype))
    if dtype in (torch.float16, torch.bfloat16):
        _group_norms_in_float32(unet)
    vae.to(device=device, dtype=torch.float32)
    return DiffusionModel(
        model_id=source,
        unet=unet,
        vae=vae,
        scheduler=parts["scheduler"],
        empty_cond=empty.to(device=device, dtype=weight_dtype(dtype)),
        device=device,
        dtype=dtype,
        random_weights=random_weights,
    )


def _set_prediction_type(model: DiffusionModel, parts: dict, override: str) -> None:
    """Epsilon or v-prediction: the user's override, else the single-file family, else the scheduler config."""
    from diffusers import DDIMScheduler

    if override != "auto":
        kind, why = override, "--prediction-type"
    elif "family" in parts:
        kind = model.scheduler.config.prediction_type
        why = f"detected {parts['family']} from {parts['family_reason']}"
    else:
        return
    if kind != model.scheduler.config.prediction_type:
        model.scheduler = DDIMScheduler.from_config(model.scheduler.config, prediction_type=kind)
    model.prediction_source = why


class _Float32GroupNorm(torch.nn.GroupNorm):
    """GroupNorm whose statistics (and their forward-mode derivative) are computed in float32.

    In half precision the variance of large activations, and the JVP terms built from it, overflow to inf and
    then NaN; the result is cast back to the input dtype.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = None if self.weight is None else self.weight.float()
        b = None if self.bias is None else self.bias.float()
        return torch.nn.functional.group_norm(x.float(), self.num_groups, w, b, self.eps).to(x.dtype)


def _group_norms_in_float32(module: torch.nn.Module) -> None:
    for child in module.modules():
        if type(child) is torch.nn.GroupNorm:
            child.__class__ = _Float32GroupNorm
