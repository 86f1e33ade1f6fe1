"""h-space is the U-Net's own mid-block output; JVP rates agree with finite differences."""

import torch

from gencurve_desktop.engine.hspace import ad_attention, h_space, jvp_norms, vjp_columns


def test_h_space_is_the_mid_block_output(demo_model):
    seen = {}
    hook = demo_model.unet.mid_block.register_forward_hook(lambda mod, i, o: seen.setdefault("h", o))
    x = torch.randn(2, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([801, 101])
    try:
        with torch.no_grad():
            demo_model.unet(x, t, encoder_hidden_states=demo_model.empty_cond.expand(2, -1, -1))
            mine = h_space(demo_model, x, t)
    finally:
        hook.remove()
    assert mine.shape == (2, 64, 2, 2)
    torch.testing.assert_close(mine, seen["h"], rtol=0, atol=0)


def test_jvp_and_vjp_are_transposes(demo_model):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 4, 16, 16, generator=g)
    t = torch.tensor([501])
    v = torch.randn(1, 1, 4, 16, 16, generator=g)
    u = torch.randn(1, 1, 64, 2, 2, generator=g)
    with torch.no_grad(), ad_attention():
        _, jv = torch.func.jvp(lambda z: h_space(demo_model, z, t), (x,), (v[0],))
    jtu = vjp_columns(demo_model, x, t, u)[0]
    torch.testing.assert_close((u[0] * jv).sum(), (jtu * v[0]).sum(), rtol=1e-4, atol=1e-5)
    # and the norm helper agrees with the direct JVP
    torch.testing.assert_close(jvp_norms(demo_model, x, t, v)[0, 0], jv.flatten().norm(), rtol=1e-5, atol=1e-6)
