"""Original-format SD 1.x / 2.x ``.safetensors`` checkpoints, loaded offline and strictly.

The family is detected from the checkpoint's keys (the text encoder: CLIP for SD 1.x, OpenCLIP for SD 2.x)
and, for SD 2.x, base (512, epsilon) versus v (768, v-prediction) from a ``v_pred`` marker key or the file
name. The architecture comes from the configs shipped in ``resources/models/single-file/<family>`` (never from
the hub); diffusers' own converters rename the weights, and every part is loaded with ``strict=True``: a
checkpoint with missing or unexpected layers is refused, naming them, instead of leaving layers random.

All of that is decided from the file's header before a model is built or a tensor is read: the header's size
and entries are bounded (:func:`~gencurve_desktop.engine.model_limits.safetensors_header`), a few key tensors
and the tensor count of each part are compared with the family's configs, and the converters then run on
``meta`` tensors of the header's shapes against the architecture built on the meta device, so a file that
cannot fill the model (a 263-byte file holding the detection keys, 10⁵ empty tensors) is refused in about a
second with almost no memory, and one whose weights would not fit in memory exits with code 4.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import torch

from gencurve_desktop.engine.model_budget import check_budget, meta_networks
from gencurve_desktop.engine.model_limits import (
    MAX_TOKENS,
    check_configs,
    read_json,
    safetensors_header,
    text_config,
)
from gencurve_desktop.errors import ModelLoadError
from gencurve_desktop.paths import resources_dir

FAMILIES = ("sd1", "sd2-base", "sd2-v")
SD1_TEXT_KEY = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
SD2_TEXT_KEY = "cond_stage_model.model.token_embedding.weight"
UNET_KEY = "model.diffusion_model.input_blocks.0.0.weight"
#: the key prefix of each part in an original-format checkpoint
PREFIXES = {"U-Net": "model.diffusion_model.", "VAE": "first_stage_model.", "text encoder": "cond_stage_model."}
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
    from safetensors.torch import load_file

    path = Path(path)
    # 1. the header alone (bounded, regular file): the family, then key tensors and counts against its configs
    header, _ = safetensors_header(path)
    family, why = detect_family(set(header), path.name)
    folder = (configs or family_configs()) / family
    if not os.path.lexists(folder / "family.json"):
        raise ModelLoadError(f"configs for {family} not found in {folder.parent}")
    meta = read_json(folder / "family.json", what="family description")
    check_header_fits(path, header, family, check_configs(folder))
    # 2. the architecture on the meta device: the weights' memory, then the converted header shapes, strictly
    networks = meta_networks(folder)
    check_budget(str(path), networks)
    check_converted(path, header, family, *networks)
    # 3. build each part from the family's configs, then load the converted weights strictly
    checkpoint = load_file(str(path))
    unet, vae, text_encoder, scheduler = _build(folder)
    _load_strict("U-Net", unet, _convert_unet(checkpoint, unet), ())
    _load_strict("VAE", vae, _convert_vae(checkpoint, vae), ())
    text = _match_prefix(_convert_text(checkpoint, text_encoder, family), text_encoder, "text_model.")
    _load_strict("text encoder", text_encoder, text, TEXT_EXTRAS)
    return dict(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=None,
        empty_ids=empty_prompt_ids(meta.get("empty_prompt_ids"), folder / "family.json"),
        scheduler=scheduler,
        family=family,
        family_reason=why,
    )


def empty_prompt_ids(spec: dict, where: Path | str = "family.json") -> torch.Tensor:
    """Token ids of the empty prompt: ``[bos, eos, pad, …]`` of the family's length (1 x length)."""
    values = [spec.get(k) for k in ("bos", "eos", "pad", "length")] if isinstance(spec, dict) else [None]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ModelLoadError(f"{where}: empty_prompt_ids needs whole numbers bos, eos, pad and length")
    bos, eos, pad, length = values
    if not 2 <= length <= MAX_TOKENS:
        raise ModelLoadError(f"{where}: the empty prompt's length must be from 2 to {MAX_TOKENS}, got {length}")
    ids = [bos, eos] + [pad] * (length - 2)
    return torch.tensor([ids], dtype=torch.long)


def _first(value, default):
    """The first width of ``block_out_channels`` (diffusers' default when the config has none)."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], int):
        return value[0]
    return default


def _layers(value, default: int) -> int:
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return min(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def check_header_fits(path: Path, header: dict[str, dict], family: str, configs: dict[str, dict]) -> None:
    """From the header alone: each part's first and last layers have the family's shapes, and each part has at
    least as many tensors as its resnets alone need. Refuses files made only to pass the family detection."""
    unet, vae, text = configs["unet"], configs["vae"], text_config(configs["text_encoder"])
    u0 = _first(unet.get("block_out_channels"), 320)
    v0 = _first(vae.get("block_out_channels"), 64)
    k_in, k_out = unet.get("conv_in_kernel", 3), unet.get("conv_out_kernel", 3)
    hidden, vocab = text.get("hidden_size", 512), text.get("vocab_size", 49408)
    positions = text.get("max_position_embeddings", 77)
    expected = {
        UNET_KEY: ("U-Net", [u0, unet.get("in_channels", 4), k_in, k_in]),
        "model.diffusion_model.out.2.weight": ("U-Net", [unet.get("out_channels", 4), u0, k_out, k_out]),
        "first_stage_model.encoder.conv_in.weight": ("VAE", [v0, vae.get("in_channels", 3), 3, 3]),
        "first_stage_model.decoder.conv_out.weight": ("VAE", [vae.get("out_channels", 3), v0, 3, 3]),
    }
    if family == "sd1":
        text_pre = "cond_stage_model.transformer.text_model.embeddings."
        expected[SD1_TEXT_KEY] = ("text encoder", [vocab, hidden])
        expected[text_pre + "position_embedding.weight"] = ("text encoder", [positions, hidden])
    else:
        expected[SD2_TEXT_KEY] = ("text encoder", [vocab, hidden])
        expected["cond_stage_model.model.positional_embedding"] = ("text encoder", [positions, hidden])
    for key, (part, shape) in expected.items():
        if key not in header:
            raise ModelLoadError(f"{path}: the checkpoint's {part} is incomplete (no {key})")
        if header[key]["shape"] != shape:
            raise ModelLoadError(
                f"{path}: the checkpoint's {part} does not match the {family} architecture: {key} has the shape "
                f"{header[key]['shape']}, expected {shape}"
            )
    # resnets: U-Net 10 tensors each (two norms, two convolutions, the time projection), VAE 8; per level
    # layers_per_block on the way down and one more on the way up. CLIP layers 16 tensors, OpenCLIP blocks 12.
    levels_u, levels_v = len(unet.get("block_out_channels") or [0] * 4), len(vae.get("block_out_channels") or [0])
    layers = _layers(text.get("num_hidden_layers"), 12)
    needed = {
        "U-Net": 10 * levels_u * (2 * _layers(unet.get("layers_per_block"), 2) + 1),
        "VAE": 8 * levels_v * (2 * _layers(vae.get("layers_per_block"), 1) + 1),
        "text encoder": (16 if family == "sd1" else 12) * layers,
    }
    for part, prefix in PREFIXES.items():
        count = sum(1 for k in header if k.startswith(prefix))
        if count < needed[part]:
            raise ModelLoadError(
                f"{path}: the checkpoint's {part} has {count} tensors; the {family} architecture needs at least "
                f"{needed[part]} (the file is incomplete or not a full checkpoint)"
            )


def check_converted(path: Path, header: dict[str, dict], family: str, unet, vae, text_encoder) -> None:
    """diffusers' converters run on meta tensors of the header's shapes; the result must match the meta-built
    parts key for key and shape for shape (what the strict load would refuse, before anything is read)."""
    checkpoint = {k: torch.empty(e["shape"], device="meta") for k, e in header.items()}
    steps = (
        ("U-Net", unet, lambda: _convert_unet(checkpoint, unet), ()),
        ("VAE", vae, lambda: _convert_vae(checkpoint, vae), ()),
        (
            "text encoder",
            text_encoder,
            lambda: _match_prefix(_convert_text(checkpoint, text_encoder, family), text_encoder, "text_model."),
            TEXT_EXTRAS,
        ),
    )
    for part, module, convert, extras in steps:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                state = convert()
        except KeyError as e:
            raise ModelLoadError(
                f"{path}: the checkpoint's {part} is incomplete (no {e.args[0] if e.args else e})"
            ) from None
        except Exception as e:  # a converter meeting tensors of unexpected shapes
            raise ModelLoadError(f"{path}: the checkpoint's {part} cannot be converted ({_first_line(e)})") from None
        _checked_state(part, module, state, extras, where=f"{path}: ")


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


def _checked_state(part: str, module: torch.nn.Module, state: dict, extras: tuple[str, ...], where: str = "") -> dict:
    """``state`` without the known extras; ModelLoadError for missing, unexpected or wrongly shaped layers."""
    reference = module.state_dict()
    expected = set(reference)
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
        raise ModelLoadError(
            f"{where}the checkpoint's {part} does not match its architecture: {'; '.join(what)} layers"
        )
    wrong = [k for k in sorted(state) if tuple(state[k].shape) != tuple(reference[k].shape)]
    if wrong:
        k = wrong[0]
        raise ModelLoadError(
            f"{where}the checkpoint's {part} does not match its architecture: {len(wrong)} layers of the wrong "
            f"shape (e.g. {k} is {list(state[k].shape)}, expected {list(reference[k].shape)})"
        )
    return state


def _load_strict(part: str, module: torch.nn.Module, state: dict, extras: tuple[str, ...]) -> None:
    state = _checked_state(part, module, state, extras)
    try:
        module.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise ModelLoadError(f"the checkpoint's {part} does not match its architecture: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__
