"""DDIM against diffusers' own DDIMScheduler, and exact invertibility where the math promises it."""

import pytest
import torch
from diffusers import DDIMScheduler

from gencurve_desktop.engine import ddim
from gencurve_desktop.engine.models import load_model


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_generate_step_matches_diffusers(prediction_type, tiny_sd_folder, tiny_sd_vpred_folder):
    folder = tiny_sd_folder if prediction_type == "epsilon" else tiny_sd_vpred_folder
    m = load_model(str(folder), device="cpu")
    assert m.prediction_type == prediction_type
    schedule = ddim.make_schedule(m, 10)
    ref = DDIMScheduler.from_config(m.scheduler.config)
    ref.set_timesteps(10)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for n in (0, 4, 8):
            t = schedule.timesteps[n]
            out = m.unet(x, t, encoder_hidden_states=m.empty_cond).sample
            expected = ref.step(out, t, x, eta=0.0).prev_sample
            mine = ddim.generate_step(m, x, schedule, n)
            torch.testing.assert_close(mine, expected, rtol=1e-5, atol=1e-5)


def test_inversion_is_exact_when_eps_does_not_depend_on_x():
    m = load_model("demo", device="cpu", dtype="fp64")
    torch.nn.init.zeros_(m.unet.conv_out.weight)  # eps = bias: constant in x
    torch.nn.init.normal_(m.unet.conv_out.bias, std=0.3)
    z0 = torch.randn(1, 4, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    schedule = ddim.make_schedule(m, 20)
    tr = ddim.invert(m, z0, schedule)
    assert tr.latents.shape == (20, 4, 8, 8)
    rec = ddim.reconstruct(m, tr.latents[:1].double(), schedule)
    assert ddim.reconstruction_error(z0, rec) < 1e-5


def test_trajectory_order_and_schedule(demo_model, sample_rgb):
    from gencurve_desktop.engine.latents import encode_image

    z0 = encode_image(demo_model, sample_rgb)
    schedule = ddim.make_schedule(demo_model, 10)
    assert schedule.timesteps.tolist() == sorted(schedule.timesteps.tolist(), reverse=True)
    tr = ddim.invert(demo_model, z0, schedule)
    assert tr.latents.shape == (10, 4, 16, 16)
    # the first step of generation order is the noisiest latent: farthest from z0
    d = [(lat - z0[0]).norm() for lat in tr.latents]
    assert d[0] > d[-1]
    with pytest.raises(Exception, match="--steps"):
        ddim.make_schedule(demo_model, 1)


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_last_step_lands_on_diffusers_clean_estimate(prediction_type, tiny_sd_folder, tiny_sd_vpred_folder):
    """The final generation step goes to alpha = 1: diffusers' pred_original_sample at the last timestep (the
    inverse of the inversion's first step, which starts from z0 at alpha = 1)."""
    folder = tiny_sd_folder if prediction_type == "epsilon" else tiny_sd_vpred_folder
    m = load_model(str(folder), device="cpu")
    schedule = ddim.make_schedule(m, 10)
    ref = DDIMScheduler.from_config(m.scheduler.config)
    ref.set_timesteps(10)
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(2))
    t = schedule.timesteps[-1]
    with torch.no_grad():
        out = m.unet(x, t, encoder_hidden_states=m.empty_cond).sample
        expected = ref.step(out, t, x, eta=0.0).pred_original_sample
        mine = ddim.generate_step(m, x, schedule, len(schedule) - 1)
    torch.testing.assert_close(mine, expected, rtol=1e-5, atol=1e-5)


def test_v_prediction_inversion_step_uses_the_current_levels_alpha(tiny_sd_vpred_folder):
    """One inversion step of a v-prediction model: eps = sqrt(a) v + sqrt(1 - a) x at the level it starts from."""
    m = load_model(str(tiny_sd_vpred_folder), device="cpu")
    schedule = ddim.make_schedule(m, 10)
    z0 = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    tr = ddim.invert(m, z0, schedule)
    ts, alphas = schedule.timesteps.flip(0), schedule.alphas.flip(0)
    x1 = tr.latents[-1:]  # level 1 (least noisy), from z0 at alpha 1
    x2 = tr.latents[-2:-1]
    with torch.no_grad():
        v = m.unet(x1, ts[0].reshape(1), encoder_hidden_states=m.empty_cond).sample
    a1, a2 = alphas[0].float(), alphas[1].float()
    eps = a1.sqrt() * v + (1 - a1).sqrt() * x1
    x0_hat = (x1 - (1 - a1).sqrt() * eps) / a1.sqrt()
    torch.testing.assert_close(x2, a2.sqrt() * x0_hat + (1 - a2).sqrt() * eps, rtol=1e-5, atol=1e-5)
