"""What every restoration method does at its public boundary.

* :func:`as_image` validates the observation ``g`` and fixes the working dtype: float32
  stays float32, every other real input (float64, float16, integers, bools) is computed
  in float64. Integer images are **not rescaled**: a uint8 image of values 0..255 gives
  an estimate in the same units (divide by 255 first for [0, 1]). Nothing is clipped.
* :func:`check_real` / :func:`check_iterations` bound the scalar parameters, naming them.
* :func:`progress` is the tqdm bar of the iterative methods (off by default).
* :func:`finish` returns ``f`` or ``(f, info)`` for ``full_output``.

Methods never write into ``g`` or ``psf``: every array they return is new.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_int, describe

MAX_ITERATIONS = 10**6
"""Most iterations any iterative method accepts (a bound on work, not on memory)."""


def as_image(g, name: str = "g") -> np.ndarray:
    """``g`` as a finite real float array of at least one axis, each of length >= 1.

    Returns the array itself when it already has the working dtype (callers never write
    into it), else a converted copy.
    """
    if isinstance(g, (str, bytes)) or g is None:
        raise TypeError(f"{name} must be an array of real numbers, got {describe(g)}")
    try:
        a = np.asarray(g)
    except (ValueError, TypeError):
        raise TypeError(f"{name} must be an array of real numbers, got a ragged or mixed "
                        f"{type(g).__name__}") from None
    if np.iscomplexobj(a):
        raise TypeError(f"{name} must be real, got dtype {a.dtype}: restore the real and "
                        "imaginary parts separately")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
    if a.ndim == 0 or a.size == 0:
        raise ValueError(f"{name} must have at least one axis and no empty axis, got shape "
                         f"{a.shape}")
    a = a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)
    if not np.isfinite(a).all():
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} must be finite, got {bad} NaN or infinite value(s)")
    return a


def check_real(value, name: str, *, minimum: float = 0.0, allow_zero: bool = True,
               maximum: float = math.inf) -> float:
    """``value`` as a finite float in range (``minimum`` excluded unless ``allow_zero``
    and ``minimum == 0``), or a ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    if isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    v = float(value)
    low_ok = v >= minimum if allow_zero else v > minimum
    if not (math.isfinite(v) and low_ok and v <= maximum):
        bound = ">=" if allow_zero else ">"
        top = "" if maximum == math.inf else f" and <= {maximum:g}"
        raise ValueError(f"{name} must be a finite number {bound} {minimum:g}{top}, "
                         f"got {describe(value)}")
    return v


def check_iterations(value, name: str = "iterations", minimum: int = 0) -> int:
    """An iteration count in ``[minimum, MAX_ITERATIONS]``."""
    return check_int(value, name, minimum, MAX_ITERATIONS)


def check_flag(value, name: str) -> bool:
    """A bool (Python or NumPy), or a ``TypeError`` naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def progress(total: int, enabled: bool, desc: str):
    """A tqdm bar of ``total`` iterations, or a silent stand-in when not ``enabled``."""
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="it", disable=not enabled, leave=False)


def finish(f: np.ndarray, info: dict, full_output: bool):
    """``f``, or ``(f, info)`` when ``full_output``."""
    return (f, info) if full_output else f
