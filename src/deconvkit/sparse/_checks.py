"""The checks at the public boundary of :mod:`deconvkit.sparse`, in the library's words."""

from __future__ import annotations

import numpy as np

from .._checks import describe, is_int
from ..geometry import ConvSpec
from ..restoration._common import as_image

METHODS = ("fista", "admm")
BOUNDARIES = ("zero", "circular")


def check_choice(value, name, choices):
    """``value`` if it is one of ``choices``, else a ``ValueError`` (or ``TypeError``)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}, "
                        f"got {describe(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, "
                         f"got {value!r}")
    return value


def as_batch(a, name, layout):
    """``a`` as a finite float32/float64 array of ``(N, C, *spatial)`` form."""
    a = as_image(a, name)
    if a.ndim < 3:
        raise ValueError(f"{name} must have shape {layout} with at least one spatial axis, "
                         f"got shape {a.shape}")
    return a


def check_arrays(y, filters):
    """``(y, filters)`` as arrays of one float dtype, ``y``'s (float32 stays float32).

    ``y`` is ``(N, C, *spatial)``, ``filters`` ``(K, C, *k)`` with as many axes."""
    y = as_batch(y, "y", "(N, C, *spatial)")
    filters = as_batch(filters, "filters", "(K, C, *k)")
    if filters.ndim != y.ndim:
        raise ValueError(f"filters must have shape (K, C, *k) with {y.ndim - 2} spatial "
                         f"axes like y {y.shape}, got shape {filters.shape}")
    if filters.shape[1] != y.shape[1]:
        raise ValueError(f"filters must have C = {y.shape[1]} channels (y has shape "
                         f"{y.shape}), got filters of shape {filters.shape}")
    return y, filters.astype(y.dtype, copy=False)


def check_geometry(filters, image_shape, stride, padding, boundary):
    """Refuse geometry the boundary model cannot have and filters larger than the image."""
    boundary = check_choice(boundary, "boundary", BOUNDARIES)
    spatial, k = tuple(image_shape[1:]), filters.shape[2:]
    if boundary == "circular":
        if not (is_int(stride) and stride == 1) or not (is_int(padding) and padding == 0):
            raise ValueError(f"boundary='circular' has stride 1 and no padding (SPORCO's "
                             f"model), got stride={stride!r}, padding={padding!r}; use "
                             f"boundary='zero' for a strided or padded model")
        if any(kk > n for kk, n in zip(k, spatial)):
            raise ValueError(f"filters of spatial size {k} must fit in the image of size "
                             f"{spatial} for boundary='circular'")
        return boundary
    spec = ConvSpec.create(len(k), k, stride=stride, padding=padding, input_size=spatial)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, spec.padding))
    if any(e > n for e, n in zip(spec.kernel_extent, padded)):
        raise ValueError(f"filters of spatial size {k} must fit in the padded image of size "
                         f"{padded} (image {spatial}, padding {spec.padding})")
    return boundary


def check_code(z, dtype, code_shape, batch, name="z"):
    """Coefficient maps ``z`` of shape ``(batch, *code_shape)`` in ``dtype``."""
    z = as_image(z, name)
    expected = (batch,) + tuple(code_shape)
    if z.shape != expected:
        raise ValueError(f"{name} must have shape (N, K, *spatial') = {expected} for this y and "
                         f"filters, got {z.shape}")
    return z.astype(dtype, copy=False)


def as_float(value, dtype):
    """A Python float as a NumPy scalar of ``dtype`` (keeps float32 arithmetic float32)."""
    return np.dtype(dtype).type(value)
