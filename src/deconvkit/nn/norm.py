"""Batch normalization and dropout: the two layers whose behaviour depends on the mode."""

from __future__ import annotations

import numpy as np

from .._checks import check_int
from .module import (Module, Parameter, as_rng, check_bool, check_dtype, check_parameter_size,
                     check_real)

__all__ = ["BatchNorm", "Dropout"]


class BatchNorm(Module):
    """Batch normalization over ``(N, *spatial)`` per channel, any number of spatial axes.

    Parameters
    ----------
    num_features : int
        Channels ``C`` of ``x (N, C, *spatial)``.
    eps : float
    momentum : float
        ``running = (1 - momentum) running + momentum batch_stat``, as PyTorch.
    affine : bool
        Learn ``weight`` (gamma, init 1) and ``bias`` (beta, init 0).
    dtype : float32 or float64

    Attributes
    ----------
    running_mean, running_var : (C,) ndarray
        Buffers, saved with the parameters. The running variance is updated with
        the unbiased batch variance; normalization in training uses the biased one.

    Notes
    -----
    Training: ``y = gamma (x - mean) / sqrt(var + eps) + beta`` with batch
    statistics, and the backward pass goes through them. Evaluation: the running
    statistics, a fixed affine map.

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNorm(1, dtype=np.float64)
    >>> y = bn.forward(np.array([[[1.0]], [[3.0]]]))
    >>> y.ravel().round(3), bn.running_mean, bn.running_var
    (array([-1.,  1.]), array([0.2]), array([1.1]))
    """

    _buffers = ("running_mean", "running_var")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float32):
        super().__init__()
        dtype = check_dtype(dtype)
        num_features = check_int(num_features, "num_features")
        check_parameter_size((num_features,), dtype, "BatchNorm parameters", arrays=6)
        self.num_features, self.eps = num_features, check_real(eps, "eps", 0)
        self.momentum = check_real(momentum, "momentum", 0, 1)
        affine = check_bool(affine, "affine")
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        self.running_mean = np.zeros(num_features, dtype)
        self.running_var = np.ones(num_features, dtype)
        self._cache = None

    def _planes(self, x):
        """``x`` as ``(N, C, L)`` (a view when ``x`` is contiguous)."""
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"x must be (N, {self.num_features}, *spatial), got shape {x.shape}")
        return x.reshape(x.shape[0], self.num_features, -1)

    def _centre(self, x3, mean, squares=True):
        """``x3 - mean`` and (when ``squares``) its per-channel sum of squares."""
        xc = np.subtract(x3, mean[:, None], order="C")
        return xc, (np.einsum("ncl,ncl->c", xc, xc) if squares else 0)

    def _update_running(self, mean, var, count, dtype):
        m = self.momentum
        self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(dtype)
        self.running_var = ((1 - m) * self.running_var
                            + m * var * (count / (count - 1))).astype(dtype)

    def forward(self, x):
        x3 = self._planes(x)
        count = x3.shape[0] * x3.shape[2]
        if not self.training:
            mean, var = self.running_mean.astype(x.dtype), self.running_var
            xhat, _ = self._centre(x3, mean, squares=False)
        elif count < 2:
            raise ValueError(f"BatchNorm in training needs more than one value per channel, "
                             f"got input shape {x.shape}")
        else:  # two passes: the mean, then the variance of the centred values
            mean = np.einsum("ncl->c", x3) / x3.dtype.type(count)
            xhat, squares = self._centre(x3, mean)
            var = squares / x3.dtype.type(count)
            self._update_running(mean, var, count, x.dtype)
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        self._cache = (xhat, inv_std, self.training)
        xhat *= inv_std[:, None]
        if self.weight is None:  # xhat is kept for backward: the output is a copy
            return xhat.reshape(x.shape).copy()
        y = xhat * self.weight.data[:, None]
        y += self.bias.data[:, None]
        return y.reshape(x.shape)

    def backward(self, dy):
        """With per-channel sums ``S = sum dy`` and ``P = sum dy xhat`` over ``M`` values:
        ``dx = gamma inv_std (dy - S / M - xhat P / M)`` in training (the batch
        statistics depend on ``x``), ``gamma inv_std dy`` in evaluation."""
        if self._cache is None:
            raise RuntimeError("BatchNorm.backward called before forward")
        xhat, inv_std, training = self._cache
        dy3 = self._planes(dy)
        if dy3.shape != xhat.shape:
            raise ValueError(f"dy must have the shape of the output, got {dy.shape}")
        sum_dy = np.einsum("ncl->c", dy3)
        sum_dy_xhat = np.einsum("ncl,ncl->c", dy3, xhat)
        scale = inv_std
        if self.weight is not None:
            self.weight.accumulate(sum_dy_xhat)
            self.bias.accumulate(sum_dy)
            scale = scale * self.weight.data
        count = dy.dtype.type(xhat.shape[0] * xhat.shape[2])
        c1, c0 = scale * sum_dy_xhat / count, scale * sum_dy / count
        dx = np.multiply(dy3, scale[:, None], order="C")
        if training:
            dx -= xhat * c1[:, None]
            dx -= c0[:, None]
        return dx.reshape(dy.shape)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class Dropout(Module):
    """Inverted dropout: in training, zero each value with probability ``p`` and scale
    the rest by ``1 / (1 - p)``; the identity in evaluation.

    In evaluation (and with ``p = 0``) ``forward`` and ``backward`` return their argument
    itself, not a copy: the one exception to the layers' new-array rule, so that a
    network in evaluation pays nothing for its dropout layers.

    Parameters
    ----------
    p : float
        Drop probability, ``0 <= p < 1``.
    rng : numpy Generator or int, optional

    Examples
    --------
    >>> import numpy as np
    >>> drop = Dropout(0.5, rng=0)
    >>> y = drop.forward(np.ones(8))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> drop.eval().forward(np.ones(2))
    array([1., 1.])
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        p = check_real(p, "p")
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability p must satisfy 0 <= p < 1, got {p!r}")
        self.p = p
        self.rng = as_rng(rng)
        self._scale = None

    def forward(self, x):
        if not self.training or self.p == 0:
            self._scale = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self._scale = keep.astype(x.dtype) / np.asarray(1 - self.p, x.dtype)
        return np.multiply(x, self._scale, order="C")

    def backward(self, dy):
        return dy if self._scale is None else np.multiply(dy, self._scale, order="C")

    def extra_repr(self):
        return f"p={self.p}"
