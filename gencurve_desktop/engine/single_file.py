"""Original-format SD 1.x / 2.x ``.safetensors`` checkpoints, loaded offline and strictly.

The family is detected from the checkpoint's keys (the text encoder: CLIP for SD 1.x, OpenCLIP for SD 2.x)
and, for SD 2.x, base (512, epsilon) versus v (768, v-prediction) from a ``v_pred`` marker key or the file
name. The architecture comes from the configs shipped in ``resources/models/single-file/<family>`` (never from
the hub); diffusers' own converters rename the weights, and every part is loaded with ``strict=True``: a
checkpoint with missing or unexpected layers is refused, naming them, instead of leaving layers random.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import torch

from gencurve_desktop.errors import ModelLoadError
from gencurve_desktop.paths import resources_dir

FAMILIES = ("sd1", "sd2-base", "sd2-v")
SD1_TEXT_KEY = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
SD2_TEXT_KEY = "cond_stage_model.model.token_embedding.weight"
UNET_KEY = "model.diffusion_model.input_blocks.0.0.weight"
#: converted text-encoder keys that CLIPTextModel has no use for (projection head, buffers)
TEXT_EXTRAS = ("text_projection.weight", "logit_scale")
V_NAME = re.compile(r"(768|v[-_]?pred|(^|[-_.])v($|[-_.]))", re.IGNORECASE)


def family_configs() -> Path:
    """The folder of per-family configs: ``$GENCURVE_SINGLE_FILE_CONFIGS`` or the shipped one."""
    override = os.environ.get("GENCURVE_SINGLE_FILE_CONFIGS")
    return Path(override) if override else resources_dir() / "models" / "single-file"


def detect_family(keys: set[str], file_name: str) -> tuple[str, str]:
    """(family, why) from the checkpoint's keys and file name; raises ModelLoadError for other models."""
    if UNET_KEY not in keys:
        raise ModelLoadError(f"{file_name}: not a Stable Diffusion 1.x / 2.x checkpoint (no U-Net weights)")
    if SD1_TEXT_KEY in keys:
        return "sd1", "CLIP text encoder keys"
    if SD2_TEXT_KEY not in keys:
        if any(k.startswith("conditioner.embedders") for k in keys):
            raise ModelLoadError(f"{file_name}: an SDXL checkpoint; GenCurve supports SD 1.x and 2.x")
        raise ModelLoadError(f"{file_name}: no text encoder weights (CLIP or OpenCLIP) in the checkpoint")
    if "v_pred" in keys:
        return "sd2-v", "OpenCLIP text encoder and a v_pred marker"
    if V_NAME.search(Path(file_name).stem.replace("v2", "")):
        return "sd2-v", "OpenCLIP text encoder and a 768/v name"
    return "sd2-base", "OpenCLIP text encoder (no v-prediction marker or 768/v name)"


def load_single_file(path: Path, configs: Path | None = None) -> dict:
    """The five parts of an SD 1.x / 2.x single-file checkpoint, offline; ``family`` and ``why`` describe it."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    # 1. read the keys without the tensors, then detect the family
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
    except Exception as e:
        raise ModelLoadError(f"{path}: not a valid .safetensors file ({_first_line(e)})") from None
    family, why = detect_family(keys, path.name)
    folder = (configs or family_configs()) / family
    if not (folder / "family.json").is_file():
        raise ModelLoadError(f"configs for {family} not found in {folder.parent}")
    # 2. build each part from the family's configs, then load the converted weights strictly
    checkpoint = load_file(str(path))
    unet, vae, text_encoder, scheduler = _build(folder)
    _load_strict("U-Net", unet, _convert_unet(checkpoint, unet), ())
    _load_strict("VAE", vae, _convert_vae(checkpoint, vae), ())
    text = _match_prefix(_convert_text(checkpoint, text_encoder, family), text_encoder, "text_model.")
    _load_strict("text encoder", text_encoder, text, TEXT_EXTRAS)
    meta = json.loads((folder / "family.json").read_text(encoding="utf-8"))
    return dict(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=None,
        empty_ids=empty_prompt_ids(meta["empty_prompt_ids"]),
        scheduler=scheduler,
        family=family,
        family_reason=why,
    )


def empty_prompt_ids(spec: dict) -> torch.Tensor:
    """Token ids of the empty prompt: ``[bos, eos, pad, …]`` of the family's length (1 x length)."""
    ids = [spec["bos"], spec["eos"]] + [spec["pad"]] * (spec["length"] - 2)
    return torch.tensor([ids], dtype=torch.long)


def _build(folder: Path):
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
        scheduler = DDIMScheduler.from_config(DDIMScheduler.load_config(folder / "scheduler"))
    return unet, vae, text_encoder, scheduler


def _convert_unet(checkpoint: dict, unet) -> dict:
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

    return convert_ldm_unet_checkpoint(checkpoint, dict(unet.config))


def _convert_vae(checkpoint: dict, vae) -> dict:
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    return convert_ldm_vae_checkpoint(checkpoint, dict(vae.config))


def _convert_text(checkpoint: dict, text_encoder, family: str) -> dict:
    from diffusers.loaders.single_file_utils import convert_ldm_clip_checkpoint, convert_open_clip_checkpoint

    if family == "sd1":
        return convert_ldm_clip_checkpoint(checkpoint)
    # OpenCLIP checkpoints carry one transformer block more than SD 2.x uses (the penultimate layer's output
    # is the conditioning); diffusers' converter drops it only for the full-size model, so drop it here.
    n = text_encoder.config.num_hidden_layers
    extra = f"cond_stage_model.model.transformer.resblocks.{n}."
    trimmed = {k: v for k, v in checkpoint.items() if not k.startswith(extra)}
    return convert_open_clip_checkpoint(text_encoder, trimmed)


def _match_prefix(state: dict, module: torch.nn.Module, prefix: str) -> dict:
    """Checkpoints name CLIP weights ``text_model.…``; newer transformers keep them without that prefix."""
    if any(k.startswith(prefix) for k in module.state_dict()):
        return state
    return {k.removeprefix(prefix): v for k, v in state.items()}


def _load_strict(part: str, module: torch.nn.Module, state: dict, extras: tuple[str, ...]) -> None:
    expected = set(module.state_dict())
    state = {k: v for k, v in state.items() if not (k in extras and k not in expected)}
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    missing = [k for k in missing if not k.endswith("position_ids")]  # a buffer that some exports omit
    if missing or unexpected:
        what = []
        if missing:
            what.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            what.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise ModelLoadError(f"the checkpoint's {part} does not match its architecture: {'; '.join(what)} layers")
    try:
        module.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise ModelLoadError(f"the checkpoint's {part} does not match its architecture: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__
