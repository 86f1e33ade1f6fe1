"""An independent reference for curve matching's loss and gradient, sharing nothing with the engine's chain,
loss or h-space code (issue 26): its own float64 copy of the diffusers U-Net, its own DDIM loop, h_t taken by a
forward hook on the mid block (the whole U-Net runs), the rate ``||J_h e||`` by double backward (Jᵀu by reverse
mode, then J e = d(Jᵀu · e)/du), the feature term by forward hooks on the decoder's up-blocks, and dL/dx_T by
plain reverse mode through everything (no checkpointing, no forward-mode AD).

What it implements is DESIGN §2 as docs/method.md states it:

- DDIM inversion z0 -> x_T: at each level the noise is predicted at the current latent and timestep (the
  smallest timestep at level 0), then x moves to the next level's alpha-bar;
- the loss at trajectory index n is taken on x_t = DDIM(x_T -> t_n) with no blending inside the chain (the
  paper's every-k schedule blends x_T between iterations);
- transfer / remove with q: |r - c_q(t_n)|, c_q on the image's own inversion path; remove without q: r;
  saliency-up/-down, blend: s * r + λ (1 - mean cosine similarity of up-blocks 1 and 2 against the inversion's
  x_t), s = -1 up, +1 down and blend.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

SIGN = {"saliency-up": -1.0, "saliency-down": 1.0, "blend": 1.0}


@dataclass
class Reference:
    """A float64 copy of a model's U-Net with its schedule and empty-prompt conditioning."""

    unet: torch.nn.Module
    cond: torch.Tensor
    timesteps: list[int]  # descending
    alphas: list[float]  # alpha-bar at each timestep, float64
    prediction_type: str

    @classmethod
    def of(cls, model, steps: int) -> Reference:
        from diffusers import DDIMScheduler

        scheduler = DDIMScheduler.from_config(model.scheduler.config)
        scheduler.set_timesteps(steps)
        ts = [int(t) for t in scheduler.timesteps]
        alphas = [float(scheduler.alphas_cumprod.double()[t]) for t in ts]
        unet = copy.deepcopy(model.unet).to(torch.float64).eval().requires_grad_(False)
        cond = model.empty_cond.detach().to(torch.float64)
        return cls(unet, cond, ts, alphas, model.scheduler.config.prediction_type)

    # -- the U-Net, with its mid-block output and its up-blocks' outputs ---------------------------------------

    def forward(self, x: torch.Tensor, t: int, up_blocks: tuple[int, ...] = ()):
        """(eps, h, [up-block outputs]) of the U-Net at x (1 x 4 x h x w, float64)."""
        seen: dict[str, object] = {}
        hooks = [self.unet.mid_block.register_forward_hook(lambda m, i, o: seen.__setitem__("h", o))]
        for k in up_blocks:
            hooks.append(self.unet.up_blocks[k].register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(k, o)))
        try:
            with sdpa_kernel([SDPBackend.MATH]):  # double backward through attention
                out = self.unet(x, torch.tensor([t]), encoder_hidden_states=self.cond).sample
        finally:
            for hook in hooks:
                hook.remove()
        return out, seen["h"], [seen[k] for k in up_blocks]

    def eps(self, x: torch.Tensor, n: int) -> torch.Tensor:
        out, _, _ = self.forward(x, self.timesteps[n])
        if self.prediction_type == "epsilon":
            return out
        a = self.alphas[n]
        return a**0.5 * out + (1 - a) ** 0.5 * x  # v-prediction

    # -- DDIM ------------------------------------------------------------------------------------------------

    @staticmethod
    def move(x, eps, a_from: float, a_to: float):
        x0 = (x - (1 - a_from) ** 0.5 * eps) / a_from**0.5
        return a_to**0.5 * x0 + (1 - a_to) ** 0.5 * eps

    def invert(self, z0: torch.Tensor) -> list[torch.Tensor]:
        """The inversion path, generation order (index 0 = x_T), float64."""
        x, a, at, path = z0.double(), 1.0, len(self.timesteps) - 1, []  # z0 uses the smallest timestep
        with torch.no_grad():
            for n in reversed(range(len(self.timesteps))):  # trajectory indices, least noisy first
                x = self.move(x, self.eps(x, at), a, self.alphas[n])
                a, at = self.alphas[n], n  # x is now at index n: its noise is predicted at t_n
                path.append(x)
        return path[::-1]

    def generate_to(self, x_T: torch.Tensor, n: int) -> torch.Tensor:
        x = x_T
        for m in range(n):
            x = self.move(x, self.eps(x, m), self.alphas[m], self.alphas[m + 1])
        return x

    # -- the rate and the features -----------------------------------------------------------------------------

    def rate(self, x: torch.Tensor, n: int, cell: tuple[int, int], channel: int) -> torch.Tensor:
        """||J_h(x) e|| for the one-hot e at (channel, cell), differentiable in x (double backward)."""
        if not x.requires_grad:
            x = x.detach().requires_grad_(True)
        _, h, _ = self.forward(x, self.timesteps[n])
        u = torch.zeros_like(h, requires_grad=True)
        (jt_u,) = torch.autograd.grad(h, x, grad_outputs=u, create_graph=True)
        e = torch.zeros_like(x)
        e[0, channel, cell[0], cell[1]] = 1.0
        (j_e,) = torch.autograd.grad(jt_u, u, grad_outputs=e, create_graph=True)
        return j_e.norm()

    def up_features(self, x: torch.Tensor, n: int) -> list[torch.Tensor]:
        blocks = tuple(k for k in (1, 2) if k < len(self.unet.up_blocks))
        return self.forward(x, self.timesteps[n], blocks)[2]

    # -- one iteration's loss and dL/dx_T ----------------------------------------------------------------------

    def loss_and_grad(
        self, task: str, x_T, n: int, cell, channel: int, *, path, ref_cell=None, lam: float = 1.0
    ) -> tuple[float, torch.Tensor, float]:
        """The loss of one sampled (cell, channel, n) at x_T, its gradient dL/dx_T (float64), and the rate r the
        loss is built from (the scale a half-precision loss error is measured against)."""
        x_T = x_T.detach().double().requires_grad_(True)
        x_t = self.generate_to(x_T, n)
        r = self.rate(x_t, n, cell, channel)
        if task in ("transfer", "remove") and ref_cell is not None:
            target = self.rate(path[n].detach(), n, ref_cell, channel).detach()
            loss = (r - target).abs()
        elif task == "remove":
            loss = r
        else:
            loss = SIGN[task] * r
            if lam > 0:
                with torch.no_grad():
                    orig = self.up_features(path[n], n)
                feats = self.up_features(x_t, n)
                cos = [torch.nn.functional.cosine_similarity(f, g, dim=1).mean() for f, g in zip(feats, orig)]
                loss = loss + lam * (1 - torch.stack(cos).mean())
        (grad,) = torch.autograd.grad(loss, x_T)
        return float(loss.detach()), grad, float(r.detach())
