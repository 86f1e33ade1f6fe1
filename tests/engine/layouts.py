"""Real on-disk model layouts built from tiny diffusers models: original (LDM) single files and hub caches.

``ldm_checkpoint`` writes a diffusers U-Net / VAE / text encoder back into the original Stable Diffusion key
layout (the inverse of diffusers' single-file converters), so single-file loading is tested on the format
real ``.safetensors`` checkpoints have. ``hub_cache`` lays a diffusers folder out as huggingface_hub's cache
(blobs named by their hash, snapshot symlinks, refs/main).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import torch

RESNET = [
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
]
UNET_LAYERS = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}


def _resnet(rest: str) -> str:
    for new, old in RESNET:
        if rest.startswith(new + "."):
            return old + rest[len(new) :]
    raise KeyError(rest)


def unet_to_ldm(unet) -> dict:
    n = unet.config.layers_per_block
    has_attn = [bool(getattr(b, "attentions", None)) for b in unet.up_blocks]
    out = {}
    for key, value in unet.state_dict().items():
        parts = key.split(".")
        head = ".".join(parts[:2])
        if head in UNET_LAYERS or parts[0] in UNET_LAYERS:
            base = head if head in UNET_LAYERS else parts[0]
            new = UNET_LAYERS[base] + key[len(base) :]
        elif parts[0] == "down_blocks":
            b, kind, j, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
            if kind == "resnets":
                new = f"input_blocks.{(n + 1) * b + j + 1}.0.{_resnet(rest)}"
            elif kind == "attentions":
                new = f"input_blocks.{(n + 1) * b + j + 1}.1.{rest}"
            else:  # downsamplers.0.conv.{w}
                new = f"input_blocks.{(n + 1) * (b + 1)}.0.op.{parts[-1]}"
        elif parts[0] == "mid_block":
            kind, j, rest = parts[1], int(parts[2]), ".".join(parts[3:])
            new = f"middle_block.{2 * j}.{_resnet(rest)}" if kind == "resnets" else f"middle_block.1.{rest}"
        elif parts[0] == "up_blocks":
            b, kind, j, rest = int(parts[1]), parts[2], int(parts[3]), ".".join(parts[4:])
            if kind == "resnets":
                new = f"output_blocks.{(n + 1) * b + j}.0.{_resnet(rest)}"
            elif kind == "attentions":
                new = f"output_blocks.{(n + 1) * b + j}.1.{rest}"
            else:
                new = f"output_blocks.{(n + 1) * b + n}.{2 if has_attn[b] else 1}.conv.{parts[-1]}"
        else:
            raise KeyError(key)
        out["model.diffusion_model." + new] = value.clone()
    return out


VAE_ATTN = [("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")]


def vae_to_ldm(vae) -> dict:
    levels = len(vae.config.down_block_types)
    out = {}
    for key, value in vae.state_dict().items():
        new = key.replace("conv_norm_out", "norm_out")
        p = new.split(".")
        if p[1:2] == ["down_blocks"]:
            i = p[2]
            if p[3] == "resnets":
                new = f"{p[0]}.down.{i}.block.{p[4]}." + ".".join(p[5:])
            else:
                new = f"{p[0]}.down.{i}.downsample.conv.{p[-1]}"
        elif p[1:2] == ["up_blocks"]:
            i = levels - 1 - int(p[2])
            if p[3] == "resnets":
                new = f"{p[0]}.up.{i}.block.{p[4]}." + ".".join(p[5:])
            else:
                new = f"{p[0]}.up.{i}.upsample.conv.{p[-1]}"
        elif p[1:2] == ["mid_block"]:
            if p[2] == "resnets":
                new = f"{p[0]}.mid.block_{int(p[3]) + 1}." + ".".join(p[4:])
            else:
                rest = ".".join(p[4:])
                for d, o in VAE_ATTN:
                    if rest.startswith(d + "."):
                        rest = o + rest[len(d) :]
                new = f"{p[0]}.mid.attn_1.{rest}"
                if value.ndim == 2:
                    value = value[:, :, None, None]
        new = new.replace("conv_shortcut", "nin_shortcut")
        out["first_stage_model." + new] = value.clone()
    return out


def _text_state(text_encoder) -> dict:
    """The CLIP text model's weights named as in checkpoints (``text_model.…``, whatever transformers uses)."""
    return {
        ("" if k.startswith("text_model.") else "text_model.") + k: v
        for k, v in text_encoder.state_dict().items()
        if not k.endswith("position_ids")
    }


def clip_to_ldm(text_encoder) -> dict:
    """SD 1.x: the CLIP text model under ``cond_stage_model.transformer.``."""
    return {"cond_stage_model.transformer." + k: v.clone() for k, v in _text_state(text_encoder).items()}


def open_clip_to_ldm(text_encoder) -> dict:
    """SD 2.x: the same weights in OpenCLIP's layout under ``cond_stage_model.model.`` (q, k, v fused)."""
    sd = _text_state(text_encoder)
    pre = "cond_stage_model.model."
    hidden = text_encoder.config.hidden_size
    out = {
        pre + "token_embedding.weight": sd["text_model.embeddings.token_embedding.weight"].clone(),
        pre + "positional_embedding": sd["text_model.embeddings.position_embedding.weight"].clone(),
        pre + "ln_final.weight": sd["text_model.final_layer_norm.weight"].clone(),
        pre + "ln_final.bias": sd["text_model.final_layer_norm.bias"].clone(),
        pre + "text_projection": torch.eye(hidden),
    }
    names = {
        "layer_norm1": "ln_1",
        "layer_norm2": "ln_2",
        "mlp.fc1": "mlp.c_fc",
        "mlp.fc2": "mlp.c_proj",
        "self_attn.out_proj": "attn.out_proj",
    }
    for i in range(text_encoder.config.num_hidden_layers):
        src = f"text_model.encoder.layers.{i}."
        dst = f"{pre}transformer.resblocks.{i}."
        for w in ("weight", "bias"):
            out[dst + f"attn.in_proj_{w}"] = torch.cat([sd[src + f"self_attn.{q}_proj.{w}"] for q in "qkv"]).clone()
            for d, o in names.items():
                out[dst + f"{o}.{w}"] = sd[src + f"{d}.{w}"].clone()
    return out


def ldm_checkpoint(parts: dict, family: str, path: Path, extra: dict | None = None) -> Path:
    """Write ``parts`` (unet, vae, text_encoder) as an original-format single file of ``family``."""
    from safetensors.torch import save_file

    text = clip_to_ldm if family == "sd1" else open_clip_to_ldm
    state = {**unet_to_ldm(parts["unet"]), **vae_to_ldm(parts["vae"]), **text(parts["text_encoder"])}
    state.update(extra or {})
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


def tiny_family_configs(root: Path, demo: Path) -> Path:
    """Per-family config folders shaped like ``resources/models/single-file`` but with the demo's tiny sizes."""
    te = json.loads((demo / "text_encoder" / "config.json").read_text())
    for family, prediction in (("sd1", "epsilon"), ("sd2-base", "epsilon"), ("sd2-v", "v_prediction")):
        folder = root / family
        for part in ("unet", "vae", "text_encoder"):
            (folder / part).mkdir(parents=True, exist_ok=True)
            shutil.copy(demo / part / "config.json", folder / part / "config.json")
        (folder / "scheduler").mkdir(exist_ok=True)
        sched = json.loads((demo / "scheduler" / "scheduler_config.json").read_text())
        (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(dict(sched, prediction_type=prediction)))
        ids = {"bos": te["bos_token_id"], "eos": te["eos_token_id"], "pad": te["pad_token_id"], "length": 77}
        (folder / "family.json").write_text(
            json.dumps({"name": family, "prediction_type": prediction, "empty_prompt_ids": ids})
        )
    return root


def hub_cache(folder: Path, cache: Path, repo_id: str, revision: str = "0" * 40) -> Path:
    """Lay ``folder`` out as huggingface_hub's cache of ``repo_id`` at ``revision``; returns the snapshot."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for src in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = src.read_bytes()
        large = src.suffix == ".safetensors"
        blob = hashlib.sha256(data).hexdigest() if large else hashlib.sha1(data).hexdigest()
        (repo / "blobs" / blob).write_bytes(data)
        link = snapshot / src.relative_to(folder)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(repo / "blobs" / blob, link.parent), link)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot
