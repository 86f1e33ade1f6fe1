"""Deterministic DDIM (paper Eq. 4): inversion z0 -> x_T, reconstruction x_T -> z0, for eps- and v-prediction.

Levels: level 0 is the clean latent z0 (alpha-bar = 1); level i (1..N) is the latent at the i-th smallest
of the scheduler's N inference timesteps. Trajectories are stored in generation order: index 0 is x_T
(largest t), index N-1 the least noisy latent, matching ``Schedule.timesteps`` (descending).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, checkpoint, no_progress
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.precision import computing
from gencurve_desktop.errors import BadInputError


@dataclass(frozen=True)
class Schedule:
    """The N inference timesteps, descending (generation order), and their alpha-bar."""

    timesteps: torch.Tensor  # (N,) long, descending
    alphas: torch.Tensor  # (N,) float64, alpha-bar at each timestep

    def __len__(self) -> int:
        return int(self.timesteps.numel())


@dataclass(frozen=True)
class Trajectory:
    """The DDIM inversion of one latent: ``latents[n]`` is x at ``schedule.timesteps[n]``."""

    z0: torch.Tensor  # 1 x 4 x h x w, float32
    latents: torch.Tensor  # N x 4 x h x w, float32, generation order (x_T first)
    schedule: Schedule


def make_schedule(model: DiffusionModel, steps: int) -> Schedule:
    """The scheduler's ``steps`` inference timesteps (descending) with their cumulative alphas."""
    if not 2 <= steps <= model.scheduler.config.num_train_timesteps:
        raise BadInputError(f"--steps must be between 2 and {model.scheduler.config.num_train_timesteps}, got {steps}")
    model.scheduler.set_timesteps(steps)
    ts = model.scheduler.timesteps.clone().long()
    alphas = model.scheduler.alphas_cumprod.double()[ts]
    return Schedule(timesteps=ts, alphas=alphas)


def predict_eps(model: DiffusionModel, x: torch.Tensor, t: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """The U-Net's noise prediction eps(x_t, t, c_empty), converted from v-prediction when needed.

    ``x``: B x 4 x h x w (any float dtype), ``t``: (B,) timesteps, ``alpha``: (B,) alpha-bar. Returns x.dtype.
    """
    cond = model.empty_cond.expand(x.shape[0], -1, -1)
    out = model.unet(x.to(model.weight_dtype), t.to(model.device), encoder_hidden_states=cond).sample.to(x.dtype)
    if model.prediction_type == "epsilon":
        return out
    if model.prediction_type == "v_prediction":
        a = alpha.to(x.device, x.dtype).view(-1, 1, 1, 1)
        return a.sqrt() * out + (1 - a).sqrt() * x
    raise BadInputError(f"unsupported prediction type {model.prediction_type!r}")


def ddim_step(x: torch.Tensor, eps: torch.Tensor, alpha_from, alpha_to) -> torch.Tensor:
    """x_s = sqrt(a_s) * x0_hat + sqrt(1 - a_s) * eps, with x0_hat = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)."""
    a_f = torch.as_tensor(alpha_from, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    a_t = torch.as_tensor(alpha_to, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    x0 = (x - (1 - a_f).sqrt() * eps) / a_f.sqrt()
    return a_t.sqrt() * x0 + (1 - a_t).sqrt() * eps


def _ascending(schedule: Schedule) -> tuple[torch.Tensor, torch.Tensor]:
    """Timesteps and alpha-bars of levels 0..N in ascending noise (level 0: t = first timestep, a = 1)."""
    ts = schedule.timesteps.flip(0)
    alphas = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alphas.flip(0)])
    return ts, alphas


@torch.no_grad()
def invert(
    model: DiffusionModel,
    z0: torch.Tensor,
    schedule: Schedule,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> Trajectory:
    """Deterministic DDIM inversion of ``z0`` through all N timesteps."""
    ts, alphas = _ascending(schedule)
    n = len(schedule)
    x = z0.to(model.device, torch.float32)
    out = []
    for i in range(n):
        checkpoint(cancel)
        t_eval = ts[max(i - 1, 0)].reshape(1)
        with computing(model, "inversion"):
            eps = predict_eps(model, x, t_eval, alphas[i].reshape(1))
        x = ddim_step(x, eps, alphas[i], alphas[i + 1])
        out.append(x[0])
        progress("invert", i + 1, n)
    latents = torch.stack(out[::-1])
    return Trajectory(z0=z0.to(torch.float32), latents=latents, schedule=schedule)


def generate_step(model: DiffusionModel, x: torch.Tensor, schedule: Schedule, n: int) -> torch.Tensor:
    """One reverse step from trajectory index n (timestep ``timesteps[n]``) to the next less noisy level."""
    a_from = schedule.alphas[n]
    a_to = schedule.alphas[n + 1] if n + 1 < len(schedule) else torch.tensor(1.0, dtype=torch.float64)
    t = schedule.timesteps[n].reshape(1).expand(x.shape[0])
    with computing(model, "chain"):
        eps = predict_eps(model, x, t, a_from.reshape(1).expand(x.shape[0]))
    return ddim_step(x, eps, a_from, a_to)


@torch.no_grad()
def reconstruct(
    model: DiffusionModel,
    x_t: torch.Tensor,
    schedule: Schedule,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Deterministic DDIM generation from x_T (1 x 4 x h x w) back to z0."""
    x = x_t.to(model.device, torch.float32)
    n = len(schedule)
    for i in range(n):
        checkpoint(cancel)
        x = generate_step(model, x, schedule, i)
        progress("reconstruct", i + 1, n)
    return x


def reconstruction_error(z0: torch.Tensor, z0_rec: torch.Tensor) -> float:
    """Relative RMS error ||z0_rec - z0|| / ||z0|| of an inversion followed by reconstruction."""
    return float((z0_rec.float() - z0.float()).norm() / z0.float().norm().clamp_min(1e-12))
