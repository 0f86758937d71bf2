"""Small datasets that deconvkit generates itself, so nothing needs downloading.

* :func:`shapes`: textured backgrounds and shapes with thin parts and sharp
  corners, for semantic segmentation; :func:`shapes_splits` for train / val;
* :func:`iterate_batches`: shuffled mini-batches of any arrays with a leading
  sample axis.
"""

import numpy as np

from .._checks import check_int
from .shapes import CLASSES, PALETTE, SPLITS, colorize, shapes, shapes_splits

__all__ = ["CLASSES", "PALETTE", "SPLITS", "shapes", "shapes_splits", "colorize",
           "iterate_batches"]


def iterate_batches(*arrays, batch_size, shuffle=True, rng=None, drop_last=False):
    """Yield tuples of mini-batches of ``arrays`` (which share their first axis).

    Parameters
    ----------
    *arrays : ndarray
    batch_size : int
    shuffle : bool
        Draw a permutation from ``rng`` (a Generator or seed) for this pass.
    drop_last : bool
        Skip a final batch smaller than ``batch_size``.

    Examples
    --------
    >>> x, y = np.arange(5), np.arange(5) * 10
    >>> [b[1].tolist() for b in iterate_batches(x, y, batch_size=2, shuffle=False)]
    [[0, 10], [20, 30], [40]]
    """
    if not arrays:
        raise ValueError("iterate_batches needs at least one array")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays must share their first axis, got lengths "
                         f"{[len(a) for a in arrays]}")
    check_int(batch_size, "batch_size")
    order = np.random.default_rng(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield tuple(a[idx] for a in arrays)
