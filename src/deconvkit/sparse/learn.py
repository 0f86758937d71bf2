"""Convolutional dictionary learning: the filters of a Deconvolutional Network layer.

``min over d, z of ½||D(d) z - y||² + lam ||z||₁`` with every filter in the unit ball,
by alternating minimisation (Zeiler et al. 2010; SPORCO's ``ConvBPDNDictLearn``): the
codes for fixed filters (:func:`deconvkit.sparse.code`, warm-started from the last
codes of the same images), then the filters for fixed codes
(:func:`deconvkit.sparse.dictionary.update_filters`). Each half lowers the objective
or keeps it, so on a fixed batch the objective never rises.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._checks import check_allocation, check_int, describe, is_int, per_axis
from ..geometry import ConvSpec
from ..restoration._common import (as_image, check_flag, check_iterations, check_real,
                                  finish, progress as progress_bar)
from ._maps import sum_squares
from ._checks import METHODS, BOUNDARIES, check_choice, check_geometry
from .code import code
from .dictionary import INIT_CHOICES, initial_filters, project_filters, update_filters
from .operators import SynthesisOperator

__all__ = ["learn"]


def learn(images, num_filters, kernel_size, lam, *, iterations=50, batch_size=None,
          method="fista", boundary="circular", stride=1, padding=0, nonneg=False,
          coding_iterations=50, filter_iterations=10, tol=1e-4, seed=None, init="patches",
          progress=False, full_output=False):
    """Learn ``num_filters`` filters under which ``images`` have sparse codes.

    Parameters
    ----------
    images : (N, C, *spatial) or (N, *spatial) ndarray
        Training images; float32 stays float32, other real dtypes compute in float64.
        Without a channel axis the images are grey (``C = 1``): an array of 3 axes is
        read as ``(N, H, W)`` unless ``kernel_size`` is a 1-tuple, and in general the
        length of a tuple ``kernel_size`` decides. Prepare them as for coding (remove
        the smooth part, :func:`deconvkit.sparse.images.highpass`).
    num_filters : int >= 1
    kernel_size : int or tuple of int
        Spatial size of each filter; it must fit in the (padded) image.
    lam : float >= 0
        Weight of the ``l1`` term.
    iterations : int
        Outer steps (each: one code step, one filter step).
    batch_size : int, optional
        Images per step, drawn at random (by ``seed``) without replacement; default
        all of them (the objective then falls monotonically).
    method, boundary, stride, padding, nonneg, tol
        The coding problem, as for :func:`deconvkit.sparse.code` (``tol`` is its
        stopping tolerance).
    coding_iterations : int >= 1
        Iterations of each code step.
    filter_iterations : int >= 0
        Projected-gradient steps of each filter step.
    seed : int, optional
        Seeds the initial filters and the batches.
    init : {"patches", "random"} or (K, C, *k) ndarray
        ``"patches"``: random image patches, mean removed, unit norm; ``"random"``:
        standard normal, unit norm; an array: those filters (projected into the unit
        ball, not modified).
    progress : bool
        Show a progress bar over the outer steps.
    full_output : bool
        Also return ``info`` (see Returns).

    Returns
    -------
    filters : (K, C, *k) ndarray
        The learned filters, ``||filters[k]|| <= 1``, in the images' float dtype.
    info : dict
        Only with ``full_output``: ``objective`` ``(iterations, 2)``, the batch's
        objective after the code step and after the filter step of every outer step;
        ``times`` ``(iterations,)``, seconds since the start at the end of each step;
        ``lipschitz``, the filter step's bound per step; ``codes``, the last codes of
        every image ``(N, K, *spatial')`` (zeros for images never drawn).

    Raises
    ------
    ValueError, TypeError
        Naming the argument, what was expected and what was received.

    Notes
    -----
    The code step keeps the previous codes when the solver returned worse ones (ADMM
    is not monotone), so neither half can raise the objective of its batch. The
    filter step is projected gradient with step ``1/L``, ``L`` the exact ``max_f
    ||Z_f||²`` of the codes' spectra (:func:`~deconvkit.sparse.dictionary.filter_lipschitz`).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).standard_normal((2, 16, 16))
    >>> d, info = learn(y, 4, 5, 0.1, iterations=3, seed=0, full_output=True)
    >>> d.shape, info["objective"].shape
    ((4, 1, 5, 5), (3, 2))
    >>> bool(np.all(np.diff(info["objective"].ravel()) <= 1e-9))
    True
    """
    images, kernel_size = _check_images(images, kernel_size)
    n = images.shape[0]
    num_filters = check_int(num_filters, "num_filters", 1, 1 << 20)
    lam = check_real(lam, "lam")
    iterations = check_iterations(iterations)
    coding_iterations = check_iterations(coding_iterations, "coding_iterations", 1)
    filter_iterations = check_iterations(filter_iterations, "filter_iterations", 0)
    tol = check_real(tol, "tol")
    batch_size = n if batch_size is None else check_int(batch_size, "batch_size", 1, n)
    method = check_choice(method, "method", METHODS)
    boundary = check_choice(boundary, "boundary", BOUNDARIES)
    nonneg = check_flag(nonneg, "nonneg")
    progress, full_output = check_flag(progress, "progress"), check_flag(full_output,
                                                                        "full_output")
    if method == "admm" and boundary != "circular":
        raise ValueError("method='admm' solves the circular model: give boundary='circular', "
                         f"or use method='fista' for boundary={boundary!r}")
    rng = _rng(seed)
    code_shape = _code_shape(images.shape[1:], num_filters, kernel_size, stride, padding,
                             boundary)
    check_allocation(3 * n * math.prod(code_shape) * images.dtype.itemsize,
                     f"the codes of {n} images, shape {code_shape} each")
    d = _start(init, images, num_filters, kernel_size, rng)
    model = dict(lam=lam, method=method, boundary=boundary, stride=stride, padding=padding,
                 nonneg=nonneg)
    codes = np.zeros((n,) + code_shape, images.dtype)
    history, times, lipschitz = [], [], []
    start = time.perf_counter()
    with progress_bar(iterations, progress, "sparse learn") as bar:
        for _ in range(iterations):
            batch = np.arange(n) if batch_size == n else np.sort(
                rng.choice(n, batch_size, replace=False))
            y = images[batch]
            z, f_code = _code_step(y, d, codes[batch], coding_iterations, tol, model)
            codes[batch] = z
            d, L = update_filters(d, z, y, iterations=filter_iterations, boundary=boundary,
                                  stride=stride, padding=padding)
            f_filter = _objective(y, d, z, model)
            history.append((f_code, f_filter))
            times.append(time.perf_counter() - start)
            lipschitz.append(L)
            bar.set_postfix(objective=f"{f_filter:.4g}", refresh=False)
            bar.update()
    info = dict(objective=np.array(history, dtype=np.float64).reshape(-1, 2),
                times=np.array(times), lipschitz=np.array(lipschitz), codes=codes, **model)
    return finish(d, info, full_output)


def _objective(y, d, z, model):
    """``½||D(d) z - y||² + lam ||z||₁`` as a float (accumulated in float64)."""
    D = SynthesisOperator(d, y.shape[1:], stride=model["stride"], padding=model["padding"],
                          boundary=model["boundary"])
    r = D.forward(z) - y
    return 0.5 * sum_squares(r) + model["lam"] * float(np.abs(z).sum(dtype=np.float64))


def _code_step(y, d, z_prev, iterations, tol, model):
    """New codes for ``y`` from ``z_prev`` and their objective; ``z_prev`` (a copy) when
    the solver's result is not better."""
    z = code(y, d, model["lam"], stride=model["stride"], padding=model["padding"],
             method=model["method"], iterations=iterations, tol=tol, nonneg=model["nonneg"],
             boundary=model["boundary"], init=z_prev)
    f = _objective(y, d, z, model)
    f_prev = _objective(y, d, z_prev, model)
    if f > f_prev:
        return z_prev.copy(), f_prev
    return z, f


def _code_shape(image_shape, num_filters, kernel_size, stride, padding, boundary):
    """``(K, *spatial')`` of the codes, from the geometry alone (nothing allocated: the
    filters may not fit the image, or be too many to hold)."""
    shape = (num_filters, image_shape[0]) + kernel_size
    probe = np.broadcast_to(np.zeros((), np.float64), shape)      # a view: no memory
    check_geometry(probe, image_shape, stride, padding, boundary)
    spatial = tuple(image_shape[1:])
    if boundary == "circular":
        return (num_filters,) + spatial
    spec = ConvSpec.create(len(kernel_size), kernel_size, stride=stride, padding=padding,
                           input_size=spatial)
    return (num_filters,) + tuple(spec.conv_output_size(spatial))


def _rng(seed):
    if seed is None or is_int(seed):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be an int or None, got {describe(seed)}")


def _check_images(images, kernel_size):
    """``images`` as ``(N, C, *spatial)`` float and ``kernel_size`` as a tuple."""
    images = as_image(images, "images")
    explicit = not is_int(kernel_size) and hasattr(kernel_size, "__len__") and \
        not isinstance(kernel_size, (str, bytes))
    if explicit:
        rank = len(kernel_size)
        if images.ndim == rank + 1:
            images = images[:, None]
        elif images.ndim != rank + 2:
            raise ValueError(f"images must have shape (N, C, *spatial) or (N, *spatial) with "
                             f"{rank} spatial axes (kernel_size {tuple(kernel_size)!r}), got "
                             f"shape {images.shape}")
    elif images.ndim == 3:
        images = images[:, None]
    elif images.ndim < 3:
        raise ValueError(f"images must have shape (N, C, *spatial) or (N, H, W), got shape "
                         f"{images.shape}")
    kernel_size = per_axis(kernel_size, images.ndim - 2, "kernel_size", 1)
    return images, kernel_size


def _start(init, images, num_filters, kernel_size, rng):
    """The starting filters: drawn (``"patches"``, ``"random"``) or given."""
    if isinstance(init, str):
        init = check_choice(init, "init", INIT_CHOICES)
        if init == "patches" and any(k > n for k, n in zip(kernel_size, images.shape[2:])):
            raise ValueError(f"init='patches' needs kernel_size {kernel_size} to fit in the "
                             f"images of size {images.shape[2:]}; use init='random'")
        return initial_filters(images, num_filters, kernel_size, init, rng)
    if init is None or isinstance(init, (int, float, bool)):
        raise TypeError(f"init must be 'patches', 'random' or an array of filters, "
                        f"got {describe(init)}")
    d = as_image(init, "init")
    expected = (num_filters, images.shape[1]) + kernel_size
    if d.shape != expected:
        raise ValueError(f"init must have shape (K, C, *k) = {expected} for num_filters="
                         f"{num_filters}, kernel_size={kernel_size} and {images.shape[1]} "
                         f"channel(s), got {d.shape}")
    return project_filters(d.astype(images.dtype, copy=False))
