"""The variational policy's pieces on a tiny batch: hypersphere latent, KL, each loss
term, the prior's goal masking, and the training/deployment paths."""

import math

import pytest
import torch

from training.models import losses as L
from training.models.latent import kl_divergence, sample, to_sphere
from training.models.policy import ModelConfig, Sizes, VariationalPolicy

SIZES = Sizes(obs=7, history=3, goals=4, goal_dim=5, future=6, actions=29)
SMALL = ModelConfig(latent_dim=8, prior_width=16, prior_heads=2, prior_layers=1,
                    encoder_hidden=(16,), decoder_hidden=(16,), recon_hidden=(8,))  # fmt: skip


def inputs(b=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = SIZES
    return {
        "history": torch.randn(b, s.history, s.obs, generator=g),
        "tokens": torch.randn(b, s.goals, s.token, generator=g),
        "visible": torch.rand(b, s.goals, generator=g) > 0.3,
        "future": torch.randn(b, s.future, generator=g),
        "noise": torch.randn(b, SMALL.latent_dim, generator=g),
    }


def test_hypersphere_projection_gives_unit_norm():
    z = to_sphere(torch.randn(100, 64) * torch.rand(100, 1) * 10)
    assert torch.allclose(z.norm(dim=-1), torch.ones(100), atol=1e-6)
    mu, logvar = torch.randn(5, 8), torch.zeros(5, 8)
    assert torch.allclose(sample(mu, logvar, torch.zeros(5, 8)), to_sphere(mu))  # noise 0


def test_kl_known_values():
    zeros = torch.zeros(2, 3)
    assert torch.allclose(kl_divergence(zeros, zeros, zeros, zeros), torch.zeros(2))
    # KL(N(1, 1) || N(0, 1)) = 0.5 per dimension; KL(N(0, e) || N(0, 1)) = 0.5 (e - 2).
    assert torch.allclose(kl_divergence(zeros + 1, zeros, zeros, zeros), torch.full((2,), 1.5))
    kl = kl_divergence(zeros, zeros + 1, zeros, zeros)
    assert torch.allclose(kl, torch.full((2,), 1.5 * (math.e - 2)))


def test_each_loss_term_on_known_values():
    a = torch.zeros(4, 29)
    assert float(L.imitation_loss(a + 0.5, a)) == pytest.approx(29 * 0.25)
    recon, target = torch.zeros(2, 4, 5), torch.ones(2, 4, 5)
    mask = torch.zeros(2, 4, 5, dtype=torch.bool)
    mask[:, :2] = True  # seen: not reconstructed
    target[:, :2] = 100.0
    assert float(L.reconstruction_loss(recon, target, mask)) == pytest.approx(1.0)
    mu = torch.tensor([[3.0, 4.0], [0.6, 0.8]])
    assert float(L.scale_loss(mu)) == pytest.approx((16.0 + 0.0) / 2)
    traj = torch.tensor([[[0.0]], [[1.0]], [[3.0]]])  # (T=3, B=1, d=1)
    assert float(L.temporal_loss(traj, torch.tensor([[False], [True], [True]]))) == 2.5
    assert float(L.temporal_loss(traj, torch.tensor([[False], [True], [False]]))) == 1.0


def test_forward_losses_and_gradients():
    torch.manual_seed(0)
    policy = VariationalPolicy(SIZES, SMALL)
    x = inputs()
    out = policy(**x)
    assert out["action"].shape == (6, 29) and out["recon"].shape == (6, 4, 5)
    batch = {
        "expert_action": torch.randn(6, 29),
        "residual": torch.randn(6, 4, 5),
        "mask": torch.rand(6, 4, 5) > 0.5,
        "same_episode": torch.ones(6, dtype=torch.bool),
    }
    total, terms = L.stage2_loss(out, batch, L.LossWeights(), steps=2)
    assert set(terms) == {"imitation", "prior_imitation", "reconstruction", "kl", "scale",
                          "temporal"}  # fmt: skip
    assert all(math.isfinite(v) and v >= 0 for v in terms.values())
    total.backward()
    for name in ("prior", "encoder", "decoder", "recon"):
        grads = [p.grad for p in getattr(policy, name).parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), name


def test_prior_ignores_hidden_goal_tokens():
    torch.manual_seed(0)
    policy = VariationalPolicy(SIZES, SMALL).eval()
    x = inputs()
    x["visible"][:, 1] = False
    mu, _ = policy._prior(x["history"], x["tokens"], x["visible"])
    x["tokens"][:, 1] += 10.0  # change a hidden token only
    mu2, _ = policy._prior(x["history"], x["tokens"], x["visible"])
    assert torch.allclose(mu, mu2, atol=1e-5)
    x["tokens"][:, 0] += 10.0  # a visible one matters
    assert not torch.allclose(mu, policy._prior(x["history"], x["tokens"], x["visible"])[0])


def test_deployment_path_uses_prior_and_decoder_only():
    torch.manual_seed(0)
    policy = VariationalPolicy(SIZES, SMALL).eval()
    x = inputs()
    action = policy.act(x["history"], x["tokens"], x["visible"], torch.zeros(6, 8))
    for p in list(policy.encoder.parameters()) + list(policy.recon.parameters()):
        p.data.fill_(float("nan"))  # the deployment path must not touch them
    again = policy.act(x["history"], x["tokens"], x["visible"], torch.zeros(6, 8))
    assert torch.equal(action, again) and torch.isfinite(again).all()


def test_prior_imitation_trains_the_deployed_action():
    torch.manual_seed(0)
    policy = VariationalPolicy(SIZES, SMALL).eval()
    x = inputs()
    deployed = policy.act(x["history"], x["tokens"], x["visible"], torch.zeros(6, 8))
    out = policy(**x)
    assert torch.allclose(out["prior_action"], deployed, atol=1e-6)
    assert not torch.allclose(out["action"], deployed)  # the posterior latent differs
    expert = torch.randn(6, 29)
    out["prior_action"].sub(expert).square().sum().backward()
    # The term reaches the prior and decoder, never the encoder.
    assert all(p.grad is None for p in policy.encoder.parameters())
    for name in ("prior", "decoder"):
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in getattr(policy, name).parameters()), name  # fmt: skip
    w = L.LossWeights(imitation=0.0, reconstruction=0.0, kl=0.0, scale=0.0, temporal=0.0)
    batch = {"expert_action": expert, "residual": torch.zeros(6, 4, 5),
             "mask": torch.ones(6, 4, 5, dtype=torch.bool),
             "same_episode": torch.ones(6, dtype=torch.bool)}  # fmt: skip
    total, _ = L.stage2_loss(policy(**x), batch, w, steps=2)
    expected = float(L.imitation_loss(deployed, expert).detach())
    assert float(total.detach()) == pytest.approx(expected, rel=1e-5)
