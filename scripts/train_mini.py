#!/usr/bin/env python3
"""Train `mini`, the small Stable Diffusion model GenCurve ships (issue 21), from scratch, seeded and resumable.

    python3 scripts/train_mini.py [--run-dir DIR] [--minutes M] [--threads 2] [--device auto]
    python3 scripts/train_mini.py --export resources/models/mini      # write the shipped folder

Three phases, each resumable from the checkpoint written every ``--checkpoint-minutes``:

1. **vae**: an AutoencoderKL (8× downsampling, 4 latent channels) on random 128² sub-crops of the training
   crops: L1 + image-gradient L1 + a small KL term; then its latent scaling factor (1 / std of the latents).
2. **latents**: the training crops (256²) encoded once by the frozen VAE (posterior mean and std).
3. **unet**: a UNet2DConditionModel (mid block, cross-attention to the empty-prompt embedding of a small
   CLIP text encoder with seeded weights) learns epsilon under SD's scaled-linear DDIM schedule; the
   exported weights are its exponential moving average.

Every random choice of step k comes from a generator seeded by (seed, phase, k), so a resumed run continues
exactly as an uninterrupted one, and a fresh run reproduces the logged losses. Checkpoints are safetensors +
JSON (never pickle). Losses go to ``log.jsonl`` in the run folder (one JSON object a line).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "mini"))
from data import build_crops  # noqa: E402
from sources import all_photos, split  # noqa: E402

CONFIG = Path(__file__).resolve().parent / "mini" / "config"
PHASES = ("vae", "latents", "unet", "done")
CROP, VAE_CROP, PER_SCALE = 256, 128, 60


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--run-dir", type=Path, default=Path(os.environ.get("GENCURVE_TRAIN_DIR",
                   Path.home() / ".cache" / "gencurve" / "mini-run")))  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, default=float("inf"), help="stop (after a checkpoint) after this long")
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--vae-steps", type=int, default=1200)
    p.add_argument("--vae-batch", type=int, default=8)
    p.add_argument("--unet-steps", type=int, default=5000)
    p.add_argument("--unet-batch", type=int, default=8)
    p.add_argument("--export", type=Path, help="write the trained model as a diffusers folder (fp16) and stop")
    p.add_argument("--partial", action="store_true", help="with --export: export a run still in its U-Net phase "
                   "(the EMA weights of its last checkpoint; training can go on afterwards)")  # fmt: skip
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------- state on disk
def save_state(run: Path, name: str, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """``name.safetensors`` + ``name.json``, each written to a temporary file and renamed (never half-written)."""
    from safetensors.torch import save_file

    tmp = run / f"{name}.safetensors.tmp"
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, run / f"{name}.safetensors")
    (run / f"{name}.json.tmp").write_text(json.dumps(meta))
    os.replace(run / f"{name}.json.tmp", run / f"{name}.json")


def load_state(run: Path, name: str) -> tuple[dict[str, torch.Tensor], dict] | None:
    from safetensors.torch import load_file

    if not (run / f"{name}.json").is_file():
        return None
    return load_file(str(run / f"{name}.safetensors")), json.loads((run / f"{name}.json").read_text())


def pack(prefix: str, module: torch.nn.Module, opt: torch.optim.Optimizer | None = None) -> dict:
    """A module's weights and its Adam moments as one flat tensor dict."""
    out = {f"{prefix}.w.{k}": v for k, v in module.state_dict().items()}
    if opt is not None:
        for i, st in opt.state_dict()["state"].items():
            for k, v in st.items():
                out[f"{prefix}.opt.{i}.{k}"] = v if torch.is_tensor(v) else torch.tensor(v)
    return out


def unpack(prefix: str, tensors: dict, module: torch.nn.Module, opt: torch.optim.Optimizer | None = None) -> None:
    module.load_state_dict({k[len(prefix) + 3 :]: v for k, v in tensors.items() if k.startswith(f"{prefix}.w.")})
    if opt is not None:
        sd = opt.state_dict()
        state: dict = {}
        for k, v in tensors.items():
            if k.startswith(f"{prefix}.opt."):
                i, name = k[len(prefix) + 5 :].split(".", 1)
                state.setdefault(int(i), {})[name] = v
        sd["state"] = state
        opt.load_state_dict(sd)


def log(run: Path, **row) -> None:
    with open(run / "log.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    return 0.1 * peak + 0.9 * peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def step_rng(seed: int, phase: str, step: int) -> tuple[np.random.Generator, torch.Generator]:
    key = [seed, PHASES.index(phase), step]
    g = torch.Generator().manual_seed(int(np.random.SeedSequence(key).generate_state(1)[0]))
    return np.random.default_rng(key), g


# ---------------------------------------------------------------------------------------------- models
def build_models():
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    vae = AutoencoderKL.from_config(AutoencoderKL.load_config(CONFIG / "vae"))
    torch.manual_seed(1)
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(CONFIG / "unet"))
    torch.manual_seed(2)
    text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(CONFIG / "text_encoder"))
    return vae, unet, text_encoder


def empty_embedding(text_encoder) -> torch.Tensor:
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(CONFIG / "tokenizer")
    ids = tok("", padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt")
    with torch.no_grad():
        return text_encoder(ids.input_ids)[0]


def to_unit(batch_u8: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(batch_u8)).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0


# ---------------------------------------------------------------------------------------------- phases
def train_vae(a, run, crops, vae, state, deadline, device) -> bool:
    """Phase 1. Returns True when the phase is finished (False: stopped for time)."""
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-3, weight_decay=0.0)
    step = 0
    if state is not None and state[1]["phase"] == "vae":
        unpack("vae", state[0], vae, opt)
        step = state[1]["step"]
    vae.train().to(device)
    last_ckpt = time.monotonic()
    while step < a.vae_steps:
        rng, g = step_rng(a.seed, "vae", step)
        idx = rng.integers(0, len(crops), a.vae_batch)
        ys, xs = rng.integers(0, CROP - VAE_CROP + 1, (2, a.vae_batch))
        x = to_unit(np.stack([crops[i, y : y + VAE_CROP, s : s + VAE_CROP] for i, y, s in zip(idx, ys, xs)]), device)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, a.vae_steps, 1e-3, 100)
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=g).to(device)
        y = vae.decode(z).sample
        rec = (y - x).abs().mean()
        grad = sum(((d(y) - d(x)).abs().mean()) for d in (lambda t: t.diff(dim=2), lambda t: t.diff(dim=3)))
        kl = post.kl().mean() / x[0].numel()
        loss = rec + 0.5 * grad + 1e-4 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 10 == 0 or step == 1:
            psnr = -10 * math.log10(((y.detach() - x) / 2).pow(2).mean().item() + 1e-12)
            log(run, phase="vae", step=step, loss=round(loss.item(), 6), l1=round(rec.item(), 6),
                kl=round(kl.item(), 6), psnr=round(psnr, 3), t=round(time.time(), 1))  # fmt: skip
        if time.monotonic() - last_ckpt > a.checkpoint_minutes * 60 or step == a.vae_steps or _stop(deadline):
            save_state(run, "checkpoint", pack("vae", vae, opt), {"phase": "vae", "step": step})
            last_ckpt = time.monotonic()
            if _stop(deadline) and step < a.vae_steps:
                return False
    return True


@torch.no_grad()
def encode_latents(a, run, crops, vae, device) -> None:
    """Phase 2: posterior mean/std of every crop, and the scaling factor (1 / std of sampled latents)."""
    vae.eval().to(device)
    means, stds = [], []
    for i in range(0, len(crops), 32):
        post = vae.encode(to_unit(crops[i : i + 32], device)).latent_dist
        means.append(post.mean.cpu().half())
        stds.append(post.std.cpu().half())
    mean, std = torch.cat(means), torch.cat(stds)
    g = torch.Generator().manual_seed(a.seed)
    sample = mean.float() + std.float() * torch.randn(mean.shape, generator=g)
    scaling = float(1.0 / sample.std())
    tensors = pack("vae", vae)
    tensors.update({"latents.mean": mean, "latents.std": std})
    save_state(run, "checkpoint", tensors, {"phase": "unet", "step": 0, "scaling_factor": scaling})
    log(run, phase="latents", crops=len(crops), scaling_factor=round(scaling, 5), t=round(time.time(), 1))


def train_unet(a, run, unet, text_encoder, state, deadline, device) -> bool:
    """Phase 3. Returns True when finished."""
    from diffusers import DDIMScheduler

    tensors, meta = state
    mean, std, scaling = tensors["latents.mean"], tensors["latents.std"], meta["scaling_factor"]
    sched = DDIMScheduler.from_config(DDIMScheduler.load_config(CONFIG / "scheduler"))
    alphas = sched.alphas_cumprod.to(device)
    ema = {k: v.detach().clone() for k, v in unet.state_dict().items()}
    opt = torch.optim.AdamW(unet.parameters(), lr=5e-4, weight_decay=0.0)
    step = meta["step"]
    if step > 0:
        unpack("unet", tensors, unet, opt)
        ema = {k[len("ema.") :]: v.clone() for k, v in tensors.items() if k.startswith("ema.")}
    unet.train().to(device)
    cond = empty_embedding(text_encoder).to(device)
    last_ckpt = time.monotonic()

    def checkpoint() -> None:
        out = {k: v for k, v in tensors.items() if k.startswith(("vae.w.", "latents."))}
        out.update(pack("unet", unet, opt))
        out.update({f"ema.{k}": v for k, v in ema.items()})
        save_state(run, "checkpoint", out, {"phase": "unet", "step": step, "scaling_factor": scaling})

    while step < a.unet_steps:
        rng, g = step_rng(a.seed, "unet", step)
        idx = torch.from_numpy(rng.integers(0, len(mean), a.unet_batch))
        z0 = (mean[idx].float() + std[idx].float() * torch.randn(mean[idx].shape, generator=g)) * scaling
        noise = torch.randn(z0.shape, generator=g)
        t = torch.randint(0, sched.config.num_train_timesteps, (a.unet_batch,), generator=g)
        z0, noise, t = z0.to(device), noise.to(device), t.to(device)
        ab = alphas[t].view(-1, 1, 1, 1)
        zt = ab.sqrt() * z0 + (1 - ab).sqrt() * noise
        for group in opt.param_groups:
            group["lr"] = lr_at(step, a.unet_steps, 5e-4, 200)
        pred = unet(zt, t, cond.expand(a.unet_batch, -1, -1)).sample
        loss = (pred - noise).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        step += 1
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for k, v in unet.state_dict().items():
                ema[k].mul_(decay).add_(v.detach(), alpha=1 - decay) if v.is_floating_point() else ema[k].copy_(v)
        if step % 10 == 0 or step == 1:
            log(run, phase="unet", step=step, loss=round(loss.item(), 6), t=round(time.time(), 1))
        if time.monotonic() - last_ckpt > a.checkpoint_minutes * 60 or step == a.unet_steps or _stop(deadline):
            checkpoint()
            last_ckpt = time.monotonic()
            if _stop(deadline) and step < a.unet_steps:
                return False
    return True


_signalled = False


def _stop(deadline: float) -> bool:
    return _signalled or time.monotonic() > deadline


def export(run: Path, out: Path, partial: bool = False) -> None:
    """The trained model as a diffusers folder with fp16 safetensors (the VAE, EMA U-Net, text encoder)."""
    import shutil

    tensors, meta = load_state(run, "checkpoint")
    if meta["phase"] != "done" and not (partial and meta["phase"] == "unet" and meta["step"] > 0):
        sys.exit(f"the run in {run} has not finished (phase {meta['phase']}, step {meta['step']})")
    vae, unet, text_encoder = build_models()
    unpack("vae", tensors, vae)
    unet.load_state_dict({k[len("ema.") :]: v for k, v in tensors.items() if k.startswith("ema.")})
    vae.register_to_config(scaling_factor=meta["scaling_factor"])
    out.mkdir(parents=True, exist_ok=True)
    for name, module in (("vae", vae), ("unet", unet), ("text_encoder", text_encoder)):
        module.half().save_pretrained(out / name, safe_serialization=True)
    for name in ("scheduler", "tokenizer"):
        shutil.copytree(CONFIG / name, out / name, dirs_exist_ok=True)
    shutil.copy(CONFIG / "model_index.json", out / "model_index.json")
    record = {"phase": meta["phase"], "unet_step": meta["step"], "photos": len(split(all_photos())["train"])}
    (out / "training.json").write_text(json.dumps(record) + "\n")  # the desktop says "trained on N photos"
    print(f"exported to {out} (phase {meta['phase']}, U-Net step {meta['step']})")


def main(argv=None) -> None:
    global _signalled
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                          "cpu" if a.device == "auto" else a.device)  # fmt: skip
    a.run_dir.mkdir(parents=True, exist_ok=True)
    if a.export:
        return export(a.run_dir, a.export, a.partial)
    signal.signal(signal.SIGTERM, lambda *_: globals().update(_signalled=True))
    deadline = time.monotonic() + a.minutes * 60

    # 1. data: the seeded training crops (built once, kept in the run folder)
    crops_file = a.run_dir / f"crops-{a.seed}.npy"
    if not crops_file.is_file():
        photos = split(all_photos())["train"]
        np.save(a.run_dir / "crops.tmp.npy", build_crops(photos, CROP, PER_SCALE, a.seed))
        os.replace(a.run_dir / "crops.tmp.npy", crops_file)
        (a.run_dir / "photos.json").write_text(json.dumps([str(p.path) for p in photos], indent=1))
    crops = np.load(crops_file, mmap_mode="r")
    vae, unet, text_encoder = build_models()
    state = load_state(a.run_dir, "checkpoint")
    phase = state[1]["phase"] if state else "vae"
    log(run=a.run_dir, event="start", phase=phase, step=state[1]["step"] if state else 0, crops=len(crops),
        threads=a.threads, device=str(device), t=round(time.time(), 1))  # fmt: skip

    # 2. the autoencoder
    if phase == "vae":
        if not train_vae(a, a.run_dir, crops, vae, state, deadline, device):
            return
        state = load_state(a.run_dir, "checkpoint")
        unpack("vae", state[0], vae)
        encode_latents(a, a.run_dir, crops, vae, device)
        state = load_state(a.run_dir, "checkpoint")
    # 3. the U-Net on the latents
    if state[1]["phase"] == "unet":
        if not train_unet(a, a.run_dir, unet, text_encoder, state, deadline, device):
            return
        tensors, meta = load_state(a.run_dir, "checkpoint")
        save_state(a.run_dir, "checkpoint", tensors, {**meta, "phase": "done"})
        log(a.run_dir, event="done", t=round(time.time(), 1))


if __name__ == "__main__":
    main()
