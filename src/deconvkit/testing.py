"""Tools to test linear operators and their gradients, public so users can test too.

* :func:`dottest`: ``<A x, y> == <x, Aᵀ y>`` for random ``x`` and ``y``;
* :func:`numerical_grad`: central finite differences of ``<f(x), dy>``;
* :func:`rel_error`: a scale-aware error between two arrays;
* :func:`conv_cases`: a hypothesis strategy of non-degenerate convolution cases
  (needs the ``hypothesis`` package, imported only when called).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .geometry import ConvSpec

__all__ = ["dottest", "numerical_grad", "rel_error", "ConvCase", "conv_cases", "random_arrays"]


def rel_error(a, b) -> float:
    """``max|a - b| / max(max|a|, max|b|)`` (0 when both are zero).

    >>> rel_error([1.0, 2.0], [1.0, 2.002])
    0.0009...
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def dottest(forward, adjoint, x_shape, y_shape, *, dtype=np.float64, rtol=None, seed=0):
    """Check that ``adjoint`` is the adjoint of the linear map ``forward``.

    Parameters
    ----------
    forward, adjoint : callable
        ``forward(x)`` has shape ``y_shape``; ``adjoint(y)`` has shape ``x_shape``.
    x_shape, y_shape : tuple of int
    dtype : numpy dtype
    rtol : float, optional
        Defaults to 1e-4 for float32 and 1e-10 for float64.
    seed : int

    Returns
    -------
    (float, float)
        ``<forward(x), y>`` and ``<x, adjoint(y)>``.

    Raises
    ------
    AssertionError
        When the two differ by more than ``rtol`` relative to ``|forward(x)| |y|``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> lhs, rhs = dottest(lambda x: a @ x, lambda y: a.T @ y, (3,), (2,))
    """
    dtype = np.dtype(dtype)
    rtol = rtol if rtol is not None else (1e-4 if dtype == np.float32 else 1e-10)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    y = rng.standard_normal(y_shape).astype(dtype)
    ax, aty = np.asarray(forward(x)), np.asarray(adjoint(y))
    if ax.shape != tuple(y_shape) or aty.shape != tuple(x_shape):
        raise AssertionError(f"shapes: forward gave {ax.shape} (expected {tuple(y_shape)}), "
                             f"adjoint gave {aty.shape} (expected {tuple(x_shape)})")
    lhs = float(np.vdot(ax.astype(np.float64), y))
    rhs = float(np.vdot(x.astype(np.float64), aty))
    scale = max(np.linalg.norm(ax) * np.linalg.norm(y), np.linalg.norm(x) * np.linalg.norm(aty))
    if abs(lhs - rhs) > rtol * max(scale, np.finfo(np.float64).tiny):
        raise AssertionError(f"dot test failed: <Ax, y> = {lhs!r}, <x, A^T y> = {rhs!r}")
    return lhs, rhs


def numerical_grad(f, x, dy, eps=None):
    """Central-difference gradient of the scalar ``<f(x), dy>`` with respect to ``x``.

    Contracting with a random upstream gradient ``dy`` checks every output at once.
    ``x`` is not modified (a float64 copy is perturbed).

    Examples
    --------
    >>> import numpy as np
    >>> g = numerical_grad(lambda v: v ** 2, np.array([1.0, 2.0]), np.ones(2))
    >>> np.round(g, 6)
    array([2., 4.])
    """
    xw = np.array(x, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    eps = eps if eps is not None else 1e-6 * max(1.0, float(np.abs(xw).max(initial=0.0)))
    grad = np.zeros_like(xw)
    flat, gflat = xw.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = np.vdot(np.asarray(f(xw.astype(x.dtype)), np.float64), dy)
        flat[i] = old - eps
        down = np.vdot(np.asarray(f(xw.astype(x.dtype)), np.float64), dy)
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


@dataclass(frozen=True)
class ConvCase:
    """One convolution problem: a spec, channels, batch and sizes.

    ``conv`` maps ``x_shape`` to ``y_shape`` (cropped to ``input_size`` when
    ``output_padding >= stride``); ``conv_transpose`` maps ``y_shape`` to ``x_shape``.
    """

    spec: ConvSpec
    batch: int
    in_channels: int     # of the convolution (= out channels of the transpose)
    out_channels: int    # of the convolution (= in channels of the transpose)
    input_size: tuple    # spatial size of the transposed convolution's input
    dtype: np.dtype

    @property
    def x_shape(self):
        n = self.spec.transpose_output_size(self.input_size)
        return (self.batch, self.in_channels) + n

    @property
    def y_shape(self):
        return (self.batch, self.out_channels) + tuple(self.input_size)

    @property
    def w_shape(self):
        """Conv layout ``(C_out, C_in/g, *k)``, which is also the transposed layout
        ``(C_in, C_out/g, *k)`` of the adjoint."""
        return (self.out_channels, self.in_channels // self.spec.groups) + self.spec.kernel_size

    def conv_kwargs(self):
        """Keywords of the geometry for :func:`deconvkit.conv`, its gradients,
        :func:`deconvkit.conv_matrix` and :class:`deconvkit.ConvOperator`: the spec itself."""
        return dict(spec=self.spec)

    def transpose_kwargs(self):
        """Keywords of the geometry for :func:`deconvkit.conv_transpose`: the spec itself
        (its ``output_padding`` included)."""
        return dict(spec=self.spec)

    def geometry_keywords(self, transposed=False):
        """The spec spelt as the geometry keywords (``stride=``, ``padding=``, ...), to test
        that form against the spec."""
        s = self.spec
        kw = dict(stride=s.stride, padding=s.padding, dilation=s.dilation, groups=s.groups)
        return dict(kw, output_padding=s.output_padding) if transposed else kw

    def crop(self, y):
        """Crop a conv output to ``y_shape`` (only matters when ``r >= s``)."""
        return y[(slice(None), slice(None)) + tuple(slice(0, m) for m in self.input_size)]


def conv_cases(ndims=(1, 2, 3), dtypes=(np.float64, np.float32), max_size=4):
    """Hypothesis strategy of :class:`ConvCase`: every spec feature, not degenerate.

    Draws 1-3 groups with 1-3 channels per group on each side (so grouped cases
    with >= 2 channels per side and ``C_in != C_out`` occur), kernels of sizes 1-4
    per axis, stride and dilation 1-3, asymmetric padding up to the kernel extent,
    any valid output_padding, batch 1-2.
    """
    from hypothesis import strategies as st

    @st.composite
    def draw_case(draw):
        ndim = draw(st.sampled_from(ndims))
        small = ndim == 3
        k = tuple(draw(st.integers(1, 3 if small else 4)) for _ in range(ndim))
        s = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
        d = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(ndim))
        ext = [di * (ki - 1) + 1 for ki, di in zip(k, d)]
        pad = tuple((draw(st.integers(0, e)), draw(st.integers(0, e))) for e in ext)
        r = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
        m = tuple(draw(st.integers(1, 2 if small else max_size)) for _ in range(ndim))
        spec = ConvSpec(k, s, pad, d, draw(st.integers(1, 3)), r)
        try:
            spec.transpose_output_size(m)
        except ValueError:  # the padding crops everything: drop it
            spec = dataclasses.replace(spec, padding=0)
        g = spec.groups
        return ConvCase(spec, draw(st.integers(1, 2)), g * draw(st.integers(1, 3)),
                        g * draw(st.integers(1, 3)), m, np.dtype(draw(st.sampled_from(dtypes))))

    return draw_case()


def random_arrays(case: ConvCase, seed=0):
    """Random ``x``, ``w``, ``y`` of a :class:`ConvCase`'s shapes and dtype."""
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(shape).astype(case.dtype)
                 for shape in (case.x_shape, case.w_shape, case.y_shape))

