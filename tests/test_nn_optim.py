"""SGD, Adam and learning-rate schedules against torch.optim on the same gradients."""

import numpy as np
import pytest

from deconvkit import nn
from deconvkit.testing import rel_error

torch = pytest.importorskip("torch")


def run_both(make_ours, make_torch, steps=6, dtype=np.float64, schedule=None):
    """Apply the same gradient sequence to deconvkit and torch parameters."""
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (5,)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt, topt = make_ours(ours), make_torch(theirs)
    sched, tsched = schedule(opt, topt) if schedule else (None, None)
    for _ in range(steps):
        grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        for p, t, g in zip(ours, theirs, grads):
            p.grad[...] = g
            t.grad = torch.tensor(g)
        opt.step()
        topt.step()
        if sched:
            sched.step()
            tsched.step()
            assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
    return ours, theirs


def assert_same(ours, theirs, tol):
    for p, t in zip(ours, theirs):
        assert rel_error(p.data, t.detach().numpy()) < tol


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2),
    dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=5e-4),
])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-6), (np.float64, 1e-13)])
def test_sgd_matches_torch(kwargs, dtype, tol):
    ours, theirs = run_both(lambda ps: nn.SGD(ps, **kwargs),
                            lambda ts: torch.optim.SGD(ts, **kwargs), dtype=dtype)
    assert_same(ours, theirs, tol)


@pytest.mark.parametrize("kwargs,decoupled", [
    (dict(lr=1e-2), False),
    (dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2), False),
    (dict(lr=1e-2, weight_decay=1e-1), True),
])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-6), (np.float64, 1e-13)])
def test_adam_and_adamw_match_torch(kwargs, decoupled, dtype, tol):
    ref = torch.optim.AdamW if decoupled else torch.optim.Adam
    ours, theirs = run_both(lambda ps: nn.Adam(ps, decoupled=decoupled, **kwargs),
                            lambda ts: ref(ts, **kwargs), dtype=dtype)
    assert_same(ours, theirs, tol)


S = torch.optim.lr_scheduler


@pytest.mark.parametrize("ours,theirs", [
    (lambda o: nn.StepLR(o, 2, gamma=0.5), lambda t: S.StepLR(t, 2, gamma=0.5)),
    (lambda o: nn.PolyLR(o, 5, power=0.9), lambda t: S.PolynomialLR(t, 5, power=0.9)),
    (lambda o: nn.CosineLR(o, 5, min_lr=0.01), lambda t: S.CosineAnnealingLR(t, 5, 0.01)),
])
def test_schedules_match_torch(ours, theirs):
    out, ref = run_both(lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9),
                        lambda ts: torch.optim.SGD(ts, lr=0.1, momentum=0.9), steps=5,
                        schedule=lambda o, t: (ours(o), theirs(t)))
    assert_same(out, ref, 1e-12)


def test_schedule_closed_forms():
    opt = nn.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    assert nn.PolyLR(opt, 10, power=1.0).lr_at(5) == pytest.approx(0.5)
    assert nn.PolyLR(opt, 10).lr_at(12) == 0.0
    assert nn.CosineLR(opt, 10).lr_at(10) == pytest.approx(0.0)
    assert nn.StepLR(opt, 3, 0.1).lr_at(7) == pytest.approx(0.01)


def test_frozen_parameters_are_skipped_and_zero_grad():
    net = nn.Sequential(nn.Conv(1, 2, 3, rng=0), nn.Conv(2, 1, 1, rng=1))
    net[0].freeze()
    w0, w1 = net[0].weight.data.copy(), net[1].weight.data.copy()
    for p in net.parameters():
        p.grad[...] = 1.0
    opt = nn.Adam(net, lr=0.1)
    opt.step()
    assert np.array_equal(net[0].weight.data, w0)
    assert not np.array_equal(net[1].weight.data, w1)
    opt.zero_grad()
    assert not any(p.grad.any() for p in net.parameters())


def test_parameter_dtype_is_kept():
    p = nn.Parameter(np.ones(3, np.float32))
    p.grad[...] = 1.0
    nn.Adam([p], lr=0.1).step()
    nn.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1).step()
    assert p.data.dtype == np.float32


def test_bad_optimizer_arguments():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(TypeError, match="non-empty iterable of Parameter"):
        nn.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="non-empty iterable of Parameter"):
        nn.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="lr and weight_decay must be >= 0"):
        nn.SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        nn.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="total_steps must be >= 1"):
        nn.PolyLR(nn.SGD([p], lr=0.1), 0)
