"""Optimizers (SGD with momentum and Nesterov, Adam) and learning-rate schedules.

The update rules are PyTorch's, so a run can be checked step by step against
``torch.optim``. Frozen parameters (``requires_grad=False``) are skipped.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_int, describe, is_int
from .module import Module, Parameter, check_bool, check_real

__all__ = ["Optimizer", "SGD", "Adam", "LRSchedule", "StepLR", "PolyLR", "CosineLR"]


class Optimizer:
    """Base class: holds the parameters, the learning rate and per-parameter state.

    Parameters
    ----------
    params : Module or iterable of Parameter
    lr : float
    weight_decay : float
        L2 penalty added to the gradient: ``g + weight_decay * p``.
    """

    def __init__(self, params, lr, weight_decay=0.0):
        params = params.parameters() if isinstance(params, Module) else list(params)
        if not params or not all(isinstance(p, Parameter) for p in params):
            raise TypeError("params must be a Module or a non-empty iterable of Parameter")
        lr, weight_decay = check_real(lr, "lr"), check_real(weight_decay, "weight_decay")
        if lr < 0 or weight_decay < 0:
            raise ValueError(f"lr and weight_decay must be >= 0, got {lr} and {weight_decay}")
        self.params, self.lr, self.weight_decay = params, lr, weight_decay
        self.state = [{} for _ in params]
        self.steps = 0

    def zero_grad(self) -> None:
        """Set every parameter gradient to zero."""
        for p in self.params:
            p.grad[...] = 0

    def step(self) -> None:
        """Update every trainable parameter from its gradient."""
        self.steps += 1
        for p, state in zip(self.params, self.state):
            if p.requires_grad:
                g = p.grad if not self.weight_decay else p.grad + self.weight_decay * p.data
                self._update(p, g, state)

    def _update(self, p, g, state):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening and Nesterov momentum.

    ``b = momentum * b + (1 - dampening) * g`` (``b = g`` on the first step), then
    ``p -= lr * (g + momentum * b if nesterov else b)``, as ``torch.optim.SGD``.

    Examples
    --------
    >>> import numpy as np
    >>> p = Parameter(np.array([1.0]))
    >>> opt = SGD([p], lr=0.1, momentum=0.9)
    >>> p.grad[:] = 2.0
    >>> opt.step(); opt.step()
    >>> p.data
    array([0.42])
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        momentum = check_real(momentum, "momentum", 0)
        dampening = check_real(dampening, "dampening", 0, 1)
        nesterov = check_bool(nesterov, "nesterov")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov

    def _update(self, p, g, state):
        if self.momentum:
            buf = state.get("momentum")
            if buf is None:
                buf = state["momentum"] = np.array(g, copy=True)
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        p.data -= np.asarray(self.lr, p.dtype) * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with PyTorch's update; ``decoupled=True`` is AdamW.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``,
    ``p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``. With
    ``decoupled``, weight decay shrinks ``p`` by ``lr * weight_decay`` instead of
    entering the gradient.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled=False):
        super().__init__(params, lr, weight_decay)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError(f"betas must be a pair of numbers in [0, 1), got {describe(betas)}")
        self.betas = tuple(check_real(b, "betas", 0, 1, high_open=True) for b in betas)
        self.eps, self.decoupled = check_real(eps, "eps", 0), check_bool(decoupled, "decoupled")

    def step(self) -> None:
        if not self.decoupled:
            return super().step()
        wd, self.weight_decay = self.weight_decay, 0.0
        try:
            for p in self.params:
                if p.requires_grad:
                    p.data *= np.asarray(1 - self.lr * wd, p.dtype)
            super().step()
        finally:
            self.weight_decay = wd

    def _update(self, p, g, state):
        b1, b2 = self.betas
        if not state:
            state["m"], state["v"] = np.zeros_like(p.data), np.zeros_like(p.data)
        m, v = state["m"], state["v"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        step_size = self.lr / (1 - b1 ** self.steps)
        denom = np.sqrt(v) / np.asarray(math.sqrt(1 - b2 ** self.steps), p.dtype) + self.eps
        p.data -= np.asarray(step_size, p.dtype) * (m / denom)


def _steps(value, name):
    """A count of steps: an int >= 1."""
    if is_int(value) and value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return check_int(value, name)


class LRSchedule:
    """Sets ``optimizer.lr = base_lr * factor(step)``; call :meth:`step` once per step.

    Subclasses define :meth:`factor`. ``base_lr`` is the optimizer's lr at creation.
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an Optimizer, got {describe(optimizer)}")
        self.optimizer, self.base_lr, self.last_step = optimizer, optimizer.lr, 0

    def factor(self, step: int) -> float:
        raise NotImplementedError

    def lr_at(self, step: int) -> float:
        """The learning rate after ``step`` calls of :meth:`step`."""
        return self.base_lr * self.factor(step)

    def step(self) -> float:
        """Advance one step; returns the new learning rate."""
        self.last_step += 1
        self.optimizer.lr = self.lr_at(self.last_step)
        return self.optimizer.lr


class StepLR(LRSchedule):
    """``gamma ** (step // step_size)``, as ``torch.optim.lr_scheduler.StepLR``."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        self.step_size = _steps(step_size, "step_size")
        self.gamma = check_real(gamma, "gamma")

    def factor(self, step):
        return self.gamma ** (step // self.step_size)


class PolyLR(LRSchedule):
    """``(1 - min(step, total) / total) ** power``: the "poly" policy of DeepLab and FCN
    training, as ``torch.optim.lr_scheduler.PolynomialLR``."""

    def __init__(self, optimizer, total_steps, power=0.9):
        super().__init__(optimizer)
        self.total_steps = _steps(total_steps, "total_steps")
        self.power = check_real(power, "power")

    def factor(self, step):
        return (1 - min(step, self.total_steps) / self.total_steps) ** self.power


class CosineLR(LRSchedule):
    """``min_lr + (base_lr - min_lr) (1 + cos(pi step / total)) / 2``, as
    ``torch.optim.lr_scheduler.CosineAnnealingLR`` over one half period."""

    def __init__(self, optimizer, total_steps, min_lr=0.0):
        super().__init__(optimizer)
        self.total_steps = _steps(total_steps, "total_steps")
        self.min_lr = check_real(min_lr, "min_lr")

    def lr_at(self, step):
        t = min(step, self.total_steps) / self.total_steps
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * t)) / 2

    def factor(self, step):
        return self.lr_at(step) / self.base_lr if self.base_lr else 0.0
