"""h-space is the U-Net's own mid-block output; its JVP and VJP agree with finite differences of it."""

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


def test_jvp_and_vjp_are_the_mid_blocks_derivative(demo_model):
    """Both derivatives of h_t against central finite differences of the U-Net's own mid-block output (a hook on a
    float64 copy of the whole U-Net), so a wrong h-space, tangent or transpose fails (not only a J/Jᵀ mismatch)."""
    import copy

    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 4, 16, 16, generator=g)
    t = torch.tensor([501])
    v = torch.randn(1, 1, 4, 16, 16, generator=g)
    u = torch.randn(1, 1, 64, 2, 2, generator=g)
    unet64 = copy.deepcopy(demo_model.unet).double()
    cond = demo_model.empty_cond.double()
    seen = {}
    hook = unet64.mid_block.register_forward_hook(lambda mod, i, o: seen.__setitem__("h", o))

    def mid(z):
        with torch.no_grad():
            unet64(z, t, encoder_hidden_states=cond)
        return seen["h"]

    try:
        eps = 1e-4
        fd_jv = (mid(x.double() + eps * v[0].double()) - mid(x.double() - eps * v[0].double())) / (2 * eps)
    finally:
        hook.remove()
    with torch.no_grad(), ad_attention():
        _, jv = torch.func.jvp(lambda z: h_space(demo_model, z, t), (x,), (v[0],))
    torch.testing.assert_close(jv.double(), fd_jv, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(jvp_norms(demo_model, x, t, v)[0, 0].double(), fd_jv.flatten().norm(), rtol=1e-3, atol=0)
    # the VJP: u · (J v) computed from the finite difference equals (Jᵀ u) · v
    jtu = vjp_columns(demo_model, x, t, u)[0]
    pulled, pushed = (jtu.double() * v[0].double()).sum(), (u[0].double() * fd_jv).sum()
    torch.testing.assert_close(pulled, pushed, rtol=1e-3, atol=1e-4)
