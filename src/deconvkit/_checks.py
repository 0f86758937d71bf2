"""Argument checks shared across the package."""

from __future__ import annotations

import numpy as np


def check_int(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int if it is one (NumPy ints too, not bools) and ``>= minimum``.

    >>> check_int(np.int64(3), "epochs")
    3
    >>> check_int(0, "epochs")
    Traceback (most recent call last):
    ...
    ValueError: epochs must be an int >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)
