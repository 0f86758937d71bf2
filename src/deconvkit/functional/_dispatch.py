"""From checked arguments to one algorithm: the method registry, ``method="auto"``, the
memory plan, the non-finite contract, and results the caller owns.

Used by every public function of :mod:`deconvkit.functional`; nothing here re-checks
user arguments except ``method`` and the specs and shapes of :func:`choose_method`.
"""

from __future__ import annotations

import numpy as np

from .._checks import describe, is_int
from ..geometry import ConvSpec
from . import _cost, _memory, direct, fft, gemm, matrix, polyphase

ALGORITHMS = {m.NAME: m for m in (matrix, direct, gemm, polyphase, fft)}
OPERATIONS = ("conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad")
EXACT = "gemm"     # computes non-finite operands with PyTorch's products (see algorithm())


def available_methods() -> tuple[str, ...]:
    """Names accepted by ``method=`` (besides ``"auto"``)."""
    return tuple(ALGORITHMS)


def check_method(method) -> str:
    if not isinstance(method, str) or (method != "auto" and method not in ALGORITHMS):
        raise ValueError(f"method must be 'auto' or one of {available_methods()}, "
                         f"got {describe(method)}")
    return method


def choose_method(operation: str, x_shape, w_shape, spec: ConvSpec) -> str:
    """The method ``method="auto"`` runs for this problem (no timing, no trial runs).

    Parameters
    ----------
    operation : {"conv", "conv_transpose", "conv_weight_grad", "conv_transpose_weight_grad"}
    x_shape, w_shape : tuple of int
        Shapes of the operation's input ``(N, C, *spatial)`` and weights
        ``(C_a, C_b, *k)`` (for weight gradients, of the input and of the weights being
        differentiated).
    spec : ConvSpec

    Notes
    -----
    ``"polyphase"`` for strided problems and small kernels; ``"fft"`` for large dense
    stride-1 kernels when its estimated time is lower; ``"gemm"`` for dense problems with
    thin per-tap products. The estimates and their constants are in
    ``deconvkit.functional._cost``. The call itself may take another method when this
    one's working memory would not fit (see ``deconvkit.functional._memory``).

    Examples
    --------
    >>> choose_method("conv_transpose", (8, 64, 32, 32), (64, 64, 4, 4),
    ...               ConvSpec((4, 4), stride=2, padding=1))
    'polyphase'
    >>> choose_method("conv", (1, 8, 128, 128), (8, 8, 31, 31), ConvSpec((31, 31)))
    'fft'
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {OPERATIONS}, got {describe(operation)}")
    if not isinstance(spec, ConvSpec):
        raise TypeError(f"spec must be a ConvSpec, got {describe(spec)}")
    x_shape = _shape(x_shape, "x_shape", spec.ndim)
    w_shape = _shape(w_shape, "w_shape", spec.ndim)
    if w_shape[2:] != spec.kernel_size:
        raise ValueError(f"w_shape {w_shape} does not end in the spec's kernel size "
                         f"{spec.kernel_size}")
    return _cost.choose(operation, x_shape, w_shape, spec)


def _shape(shape, name, ndim):
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of ints, got {describe(shape)}")
    if len(shape) != ndim + 2 or not all(is_int(v) and v >= 1 for v in shape):
        raise ValueError(f"{name} must be {ndim + 2} ints >= 1, (N, C, *spatial) for a spec "
                         f"with {ndim} spatial axes, got {describe(shape)}")
    return tuple(int(v) for v in shape)


def finite(*arrays) -> bool:
    """Whether every value is finite: one sum per array (NaN and Inf survive a sum; a
    sum that overflows sends a finite array down the exact path, which is still right)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return all(np.isfinite(np.add.reduce(a, axis=None)) for a in arrays if a.size)


def algorithm(method, operation, arrays, w_shape, spec, out_shape, dy_shape=None):
    """The algorithm module to run: ``method``, or the plan's choice for ``"auto"``.

    When an operand holds a NaN or an Inf, :data:`EXACT` runs instead (if it fits in
    memory): its products are those of the definition as PyTorch computes it, the
    convolution's ``w * x_pad`` over every tap (zero padding included, so ``0 * inf`` is
    NaN there too) and the transposed convolution's ``x[i] * w[j]`` scattered and
    cropped, with no inserted zeros. FFTs would spread a NaN over the whole output, and
    polyphase and direct multiply by zeros that are not in the definition.
    """
    x = arrays[0]
    name = _memory.plan(method, operation, x.shape, w_shape, spec, x.dtype, out_shape,
                        dy_shape)
    if name != EXACT and not finite(*arrays):
        try:
            name = _memory.plan(EXACT, operation, x.shape, w_shape, spec, x.dtype, out_shape,
                                dy_shape)
        except ValueError:
            pass    # keep the method that fits; the docs say what it does with NaN
    return ALGORITHMS[name]


def owned(y, *inputs):
    """The result as a writable C-contiguous array that shares no memory with the
    inputs (algorithms may return views of their work buffers or of an input)."""
    if (not (y.flags.writeable and y.flags.c_contiguous)
            or any(np.may_share_memory(y, a) for a in inputs)):
        y = np.array(y, order="C")
    return y
