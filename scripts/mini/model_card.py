#!/usr/bin/env python3
"""Write ``resources/models/mini/README.md`` (the model card) and ``SHA256SUMS`` from a finished training run.

    python3 scripts/mini/model_card.py [--run-dir DIR] [--model resources/models/mini]

The card lists the data and licences (from the Debian copyright files), the split, the training schedule, time
and hardware (from ``log.jsonl``), the first and last logged losses, the measured figures (VAE round-trip PSNR on
the held-out photos, beside the random-weight VAE's) and the SHA-256 of every file of the model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import load_rgb  # noqa: E402
from sources import all_photos, split  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@torch.no_grad()
def vae_psnr(vae, rgb: np.ndarray) -> float:
    """Encode (posterior mean) and decode a photo; PSNR in dB over 8-bit pixels."""
    h, w = (rgb.shape[0] // 64) * 64, (rgb.shape[1] // 64) * 64
    x = torch.from_numpy(np.ascontiguousarray(rgb[:h, :w])).permute(2, 0, 1)[None].float() / 127.5 - 1
    y = vae.decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
    mse = ((y - x) / 2).pow(2).mean().item()
    return -10 * math.log10(max(mse, 1e-12))


def held_out_psnr(model_dir: Path) -> tuple[list[tuple[str, float, float]], float, float]:
    """(name, trained PSNR, random PSNR) for each held-out photo at 256 px on its short side."""
    from diffusers import AutoencoderKL
    from PIL import Image

    trained = AutoencoderKL.from_pretrained(model_dir / "vae", torch_dtype=torch.float32).eval()
    torch.manual_seed(1)
    random = AutoencoderKL.from_config(AutoencoderKL.load_config(model_dir / "vae")).eval()
    rows = []
    for photo in split(all_photos())["held_out"]:
        im = load_rgb(photo.path)
        factor = 256 / min(im.size)
        im = im.resize((round(im.width * factor), round(im.height * factor)), Image.LANCZOS)
        rgb = np.asarray(im)
        rows.append((photo.name, vae_psnr(trained, rgb), vae_psnr(random, rgb)))
    return rows, float(np.mean([r[1] for r in rows])), float(np.mean([r[2] for r in rows]))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--run-dir", type=Path, default=Path.home() / ".cache" / "gencurve" / "mini-run")
    p.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "mini")
    p.add_argument(
        "--schedule",
        default="as planned from the start",
        help="how the run's planned step counts changed, in words (the log records the restarts)",
    )
    a = p.parse_args()
    log = [json.loads(line) for line in (a.run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    vae_rows = [r for r in log if r.get("phase") == "vae" and "loss" in r]
    shipped = json.loads((a.model / "training.json").read_text())  # the checkpoint the weights came from
    unet_rows = [r for r in log if r.get("phase") == "unet" and "loss" in r and r["step"] <= shipped["unet_step"]]
    starts = [r for r in log if r.get("event") == "start"]
    done = [r for r in log if r.get("event") == "done"]
    last = done[-1]["t"] if done and shipped["phase"] == "done" else unet_rows[-1]["t"]
    wall_h = (last - log[0]["t"]) / 3600
    scaling = next(r["scaling_factor"] for r in log if r.get("phase") == "latents")
    photos = split(all_photos())
    psnr_rows, psnr_mean, random_mean = held_out_psnr(a.model)
    files = sorted(f for f in a.model.rglob("*") if f.is_file() and f.name not in ("README.md", "SHA256SUMS"))
    (a.model / "training.json").write_text(json.dumps(shipped) + "\n")
    sums = {str(f.relative_to(a.model)): sha256(f) for f in files}
    (a.model / "SHA256SUMS").write_text("".join(f"{h}  {name}\n" for name, h in sums.items()))
    size_mb = sum(f.stat().st_size for f in files) / 1e6

    def losses(rows, n=5):
        return ", ".join(f"{r['step']}: {r['loss']:.4f}" for r in rows[:n])

    lines = [
        "# mini — a small Stable Diffusion model trained for GenCurve",
        "",
        f"A {size_mb:.1f} MB diffusers folder (fp16 safetensors) with the classes of SD 2.1-base: AutoencoderKL (8×, 4",
        "latent channels), UNet2DConditionModel (mid block, cross-attention to the empty-prompt embedding),",
        "DDIMScheduler (scaled-linear betas, epsilon). The CLIP text encoder is tiny and keeps its seeded random",
        "weights: GenCurve only ever uses the empty prompt, so its output is one fixed conditioning tensor the U-Net",
        "learned to use. Trained from scratch by `scripts/train_mini.py`; unconditional, 256² native size",
        "(U-Net `sample_size` 32). It is **small and undertrained** — it knows colour, texture and coarse structure",
        "of photographs, not objects; use a real SD checkpoint for real edits.",
        "",
        "## Data",
        "",
        f"{len(photos['train'])} training photos, {len(photos['tune'])} tuning photos,"
        f" {len(photos['held_out'])} held-out photos (whole photos per split, by a hash of the name;"
        " the bundled samples astronaut and coffee are always held out). Only the sources issue 21 names;"
        " gnome-backgrounds 43 holds no photograph. Crops: 256² at 5"
        " scales (short side 1–4 × 256), 60 per scale, random horizontal flips, seeded.",
        "",
        "| split | photo | source | licence |",
        "|---|---|---|---|",
    ]
    for name, group in photos.items():
        for ph in group:
            lines.append(f"| {name} | {ph.name} | {ph.package} (`{ph.path.name}`) | {ph.licence} |")
    lines += [
        "",
        "The wallpapers are GPL-2+ (their Debian copyright files); the weights are a work derived from them, so",
        "they are distributed under GPL-2+ as well.",
        "",
        "## Training",
        "",
        f"- hardware: {platform.processor() or platform.machine()},"
        f" {' then '.join(dict.fromkeys(str(r['threads']) for r in starts))} CPU thread(s), no GPU;"
        f" torch {torch.__version__}; wall time {wall_h:.2f} h in total (shared with other work on a 2-core machine)",
        f"- VAE: {vae_rows[-1]['step']} steps, batch 8 of 128² sub-crops, AdamW 1e-3 (100 warm-up, cosine to 1e-4),"
        " loss L1 + 0.5 × image-gradient L1 + 1e-4 × KL; latent scaling factor"
        f" {scaling:.5f} (1 / std of the training latents)",
        f"- U-Net: {shipped['unet_step']} steps"
        + (
            " (of the 5000 planned: exported from a checkpoint while training goes on)"
            if shipped["phase"] != "done"
            else ""
        )
        + ", batch 8 of 32² latents, AdamW 5e-4 (200"
        " warm-up, cosine to 5e-5), epsilon MSE, gradient clipping 1.0; shipped weights: EMA (decay up to 0.999)",
        f"- schedule: {a.schedule}; resumed from checkpoints {len(starts) - 1} time(s)",
        f"- first VAE losses (step: loss): {losses(vae_rows)}",
        f"- last VAE losses: {losses(vae_rows[-5:])}",
        f"- first U-Net losses: {losses(unet_rows)}",
        f"- last U-Net losses: {losses(unet_rows[-5:])}",
        "",
        "## Figures (held-out photos, 256 px short side)",
        "",
        f"VAE round-trip PSNR: **{psnr_mean:.2f} dB** mean (the same architecture with random weights:"
        f" {random_mean:.2f} dB).",
        "",
        "| photo | mini | random |",
        "|---|---|---|",
        *[f"| {n} | {t:.2f} | {r:.2f} |" for n, t, r in psnr_rows],
        "",
        "## Files (SHA-256, also in `SHA256SUMS`)",
        "",
        *[f"- `{name}` `{h}`" for name, h in sums.items()],
        "",
    ]
    (a.model / "README.md").write_text("\n".join(lines))
    print(f"wrote {a.model / 'README.md'}: PSNR {psnr_mean:.2f} dB vs random {random_mean:.2f} dB")


if __name__ == "__main__":
    main()
