"""Finite-difference check of a module's backward pass, for layers and whole networks."""

from __future__ import annotations

import numpy as np

from ..testing import numerical_grad, rel_error
from .module import FLOAT_DTYPES, Module

__all__ = ["check_gradients"]


def _as_tuple(grads, count):
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) < count:
        grads = grads + (None,) * (count - len(grads))
    return grads


def check_gradients(module: Module, *inputs, seed=1234, eps=None) -> dict:
    """Relative errors of ``module.backward`` against central finite differences.

    The scalar checked is ``<module.forward(*inputs), dy>`` with a random
    upstream gradient ``dy``, so every output counts. Float inputs with a
    gradient returned by ``backward`` and every trainable parameter are checked;
    integer inputs (labels) are passed through. Run in float64, with a
    deterministic module (Dropout in eval mode or with a re-seeded generator).

    Parameters
    ----------
    module : Module
    *inputs : ndarray
        Arguments of ``forward``.
    seed : int
        Seed of ``dy``.
    eps : float, optional
        Finite-difference step (see :func:`deconvkit.testing.numerical_grad`).

    Returns
    -------
    dict
        ``{"input0": err, ..., "<parameter name>": err}``.

    Examples
    --------
    >>> import numpy as np
    >>> from deconvkit.nn import Conv
    >>> layer = Conv(2, 3, 3, padding=1, dtype=np.float64, rng=0)
    >>> x = np.random.default_rng(1).standard_normal((1, 2, 4, 4))
    >>> errors = check_gradients(layer, x)
    >>> sorted(errors), max(errors.values()) < 1e-7
    (['bias', 'input0', 'weight'], True)
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(module.forward(*inputs))
    dy = rng.standard_normal(y.shape).astype(y.dtype)
    module.zero_grad()
    grads = _as_tuple(module.backward(dy), len(inputs))
    analytic = {name: p.grad.copy() for name, p in module.named_parameters() if p.requires_grad}
    errors = {}
    for i, (x, g) in enumerate(zip(inputs, grads)):
        if g is None or not isinstance(x, np.ndarray) or x.dtype not in FLOAT_DTYPES:
            continue
        def f(v, i=i):
            return module.forward(*inputs[:i], v, *inputs[i + 1:])
        errors[f"input{i}"] = rel_error(g, numerical_grad(f, x, dy, eps))
    for name, p in module.named_parameters():
        if name not in analytic:
            continue
        original = p.data
        def f(v, p=p):
            p.data = v
            return module.forward(*inputs)
        try:
            errors[name] = rel_error(analytic[name], numerical_grad(f, original, dy, eps))
        finally:
            p.data = original
    return errors
