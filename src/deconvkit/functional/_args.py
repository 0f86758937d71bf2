"""Checks at the public boundary: arrays, dtypes, shapes, methods.

Everything here raises ``TypeError`` or ``ValueError`` that names what was expected
and what was received. Nothing below the boundary re-checks user arguments.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_int, per_axis

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_array(a, name: str) -> np.ndarray:
    """``a`` as an ndarray of float32 or float64 (never a copy of a valid ndarray)."""
    if not isinstance(a, np.ndarray):
        try:
            a = np.asarray(a)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be an array of float32 or float64, got {type(a).__name__}") from exc
    if a.dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"{name} must have dtype float32 or float64, got {a.dtype} "
            f"(convert with {name}.astype(np.float32) or np.float64)"
        )
    return a


def same_dtype(**arrays) -> np.dtype:
    """The common dtype of the named arrays; ``TypeError`` when they differ."""
    dtypes = {name: a.dtype for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        listing = ", ".join(f"{n} is {d}" for n, d in dtypes.items())
        raise TypeError(f"arrays must share one dtype, but {listing}; cast them to match")
    return next(iter(dtypes.values()))


def check_batched(x: np.ndarray, name: str) -> int:
    """Number of spatial axes of ``x (N, C, *spatial)``."""
    if x.ndim < 3:
        raise ValueError(
            f"{name} must have shape (N, C, *spatial) with at least one spatial axis, "
            f"got {x.ndim}-d array of shape {x.shape}"
        )
    if 0 in x.shape[1:]:
        raise ValueError(f"{name} has an empty channel or spatial axis: shape {x.shape}")
    return x.ndim - 2


def check_weight(w: np.ndarray, x_shape: tuple, layout: str) -> None:
    ndim = len(x_shape) - 2
    if w.ndim != ndim + 2:
        hint = (" (for a single unbatched sample, add a batch axis: x[None])"
                if w.ndim == ndim + 3 else "")
        raise ValueError(
            f"w must have shape {layout} with as many spatial axes as x; x of shape "
            f"{x_shape} is read as (N, C, *spatial) with {ndim} spatial axes, "
            f"w has shape {w.shape}{hint}"
        )
    if 0 in w.shape:
        raise ValueError(f"w has an empty axis: shape {w.shape}")


def check_groups(groups, **channels) -> None:
    check_int(groups, "groups")
    for name, c in channels.items():
        if c % groups:
            raise ValueError(f"groups={groups} must divide {name}={c}")


def check_channels(expected: int, received: int, what: str) -> None:
    if expected != received:
        raise ValueError(f"{what}: expected {expected} channels, got {received}")


def check_bias(b, channels: int, dtype) -> np.ndarray | None:
    if b is None:
        return None
    b = as_float_array(b, "b")
    if b.shape != (channels,):
        raise ValueError(f"b must have shape ({channels},), one value per output channel, got {b.shape}")
    if b.dtype != dtype:
        raise TypeError(f"b has dtype {b.dtype} but the data has {dtype}; cast them to match")
    return b


def check_kernel_size(kernel_size, ndim: int) -> tuple:
    if hasattr(kernel_size, "__len__") and not isinstance(kernel_size, (str, bytes)) \
            and len(kernel_size) != ndim:
        raise ValueError(f"kernel_size must have {ndim} entries (one per spatial axis), "
                         f"got {kernel_size!r}")
    return per_axis(kernel_size, ndim, "kernel_size", 1)
