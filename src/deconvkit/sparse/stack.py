"""A stacked Deconvolutional Network (Zeiler, Krishnan, Taylor, Fergus 2010).

Layer 1 learns filters under which the images have sparse feature maps ``z1``; the
maps are max-pooled by magnitude (switches recorded) and layer 2 learns filters
under which the pooled maps have sparse maps ``z2``, and so on. Going down, a top
layer's maps are turned into an image through every layer's synthesis operator ``D``
(a transposed convolution), unpooling by the switches in between:
``image ≈ D1 unpool(D2 z2)``.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .._checks import check_int, describe, per_axis
from .._files import write_npz
from ..restoration._common import as_image, check_iterations, check_real
from ._checks import METHODS, BOUNDARIES, as_batch, check_choice
from .code import code
from .learn import learn
from .operators import SynthesisOperator
from .pooling import max_pool, max_unpool

__all__ = ["DeconvNet"]

LAYER_KEYS = ("num_filters", "kernel_size", "lam")
HEADER_KEY = "__deconvnet__"


def _check_layers(layers):
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError(f"layers must be a non-empty list of dicts with keys "
                        f"{', '.join(LAYER_KEYS)}, got {describe(layers)}")
    checked = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict) or set(layer) != set(LAYER_KEYS):
            got = sorted(layer) if isinstance(layer, dict) else describe(layer)
            raise ValueError(f"layers[{i}] must be a dict with exactly the keys "
                             f"{', '.join(LAYER_KEYS)}, got {got}")
        kernel = layer["kernel_size"]
        name = f"layers[{i}]['kernel_size']"
        kernel = per_axis(kernel, len(kernel), name, 1) if isinstance(kernel, (list, tuple)) \
            else check_int(kernel, name, 1)
        checked.append(dict(num_filters=check_int(layer["num_filters"],
                                                  f"layers[{i}]['num_filters']"),
                            kernel_size=kernel,
                            lam=check_real(layer["lam"], f"layers[{i}]['lam']")))
    return checked


class DeconvNet:
    """Layers of convolutional sparse coding, each on the pooled maps of the one below.

    Parameters
    ----------
    layers : list of dict
        One dict per layer, bottom first, with ``num_filters``, ``kernel_size`` and
        ``lam`` (as for :func:`deconvkit.sparse.learn`).
    pool : int or tuple of int or None
        Max-pooling window between layers (by magnitude, with switches); ``None``:
        no pooling.
    method, boundary : str
        The coding problem of every layer (:func:`deconvkit.sparse.code`); stride 1,
        no padding.
    coding_iterations : int
        Iterations of each code solve (learning and :meth:`infer`).
    seed : int, optional
        Seeds the learning of every layer.

    Attributes
    ----------
    filters : list of ndarray
        ``(K_l, C_l, *k_l)`` per layer after :meth:`fit` (``C_{l+1} = K_l``).
    switches : list of ndarray
        The pooling switches of the last :meth:`infer`, one per pooling.
    shapes : list of tuple
        The spatial shapes of the maps those poolings pooled (for unpooling).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).standard_normal((2, 1, 16, 16))
    >>> net = DeconvNet([dict(num_filters=4, kernel_size=3, lam=0.1),
    ...                  dict(num_filters=4, kernel_size=3, lam=0.05)], pool=2, seed=0)
    >>> net = net.fit(y, iterations=2)
    >>> [z.shape for z in net.infer(y)]
    [(2, 4, 16, 16), (2, 4, 8, 8)]
    >>> net.reconstruct(net.infer(y)[-1]).shape
    (2, 1, 16, 16)
    """

    def __init__(self, layers, pool=2, *, method="fista", boundary="circular",
                 coding_iterations=100, seed=None):
        self.layers = _check_layers(layers)
        if isinstance(pool, (list, tuple)):
            pool = per_axis(pool, len(pool), "pool", 1)
        elif pool is not None:
            pool = check_int(pool, "pool", 1)
        self.pool = pool
        self.method = check_choice(method, "method", METHODS)
        self.boundary = check_choice(boundary, "boundary", BOUNDARIES)
        if self.method == "admm" and self.boundary != "circular":
            raise ValueError("method='admm' needs boundary='circular', got "
                             f"boundary={self.boundary!r}")
        self.coding_iterations = check_iterations(coding_iterations, "coding_iterations", 1)
        self.seed = seed
        self.filters = []
        self.switches = []
        self.shapes = []

    # --- learning and inference ------------------------------------------------------
    def fit(self, images, iterations=50, *, batch_size=None, progress=False):
        """Learn every layer's filters, bottom first; returns ``self``.

        Parameters
        ----------
        images : (N, C, *spatial) ndarray
            Prepared images (e.g. :func:`deconvkit.sparse.images.highpass`).
        iterations : int
            Outer steps of :func:`deconvkit.sparse.learn` per layer.
        batch_size : int, optional
        progress : bool
        """
        self.filters, self.switches, self.shapes = [], [], []
        x = self._check_images(images)
        for i, layer in enumerate(self.layers):
            d, info = learn(x, layer["num_filters"], layer["kernel_size"],
                            layer["lam"], iterations=iterations, batch_size=batch_size,
                            method=self.method, boundary=self.boundary,
                            coding_iterations=self.coding_iterations, seed=self.seed,
                            progress=progress, full_output=True)
            self.filters.append(d)
            if i + 1 < len(self.layers):
                z = self._code(x, d, layer["lam"], init=info["codes"])
                x = self._pool(z)[0]
        return self

    def infer(self, images, full_output=False):
        """The sparse maps of every layer for ``images``: ``[z1, z2, ...]``.

        Layer ``l + 1`` codes the pooled ``z_l``; the switches and the spatial shapes
        of the maps they were taken in are kept in :attr:`switches` and :attr:`shapes`
        for :meth:`reconstruct`, and returned with ``full_output`` as
        ``(codes, switches, shapes)`` (pass both back to :meth:`reconstruct` to use
        them after a later :meth:`infer`).
        """
        self._check_fitted()
        x = self._check_images(images)
        codes, switches, shapes = [], [], []
        for i, (layer, d) in enumerate(zip(self.layers, self.filters)):
            z = self._code(x, d, layer["lam"])
            codes.append(z)
            if i + 1 < len(self.layers):
                x, sw = self._pool(z)
                switches.append(sw)
                shapes.append(z.shape[2:])
        self.switches, self.shapes = switches, shapes
        return (codes, switches, shapes) if full_output else codes

    def reconstruct(self, top_codes, switches=None, shapes=None):
        """The image the top layer's maps stand for: ``D1 unpool(D2 ... z_top)``.

        Parameters
        ----------
        top_codes : (N, K_top, *spatial_top) ndarray
        switches : list of ndarray, optional
            One per pooling, bottom first; default those of the last :meth:`infer`.
        shapes : list of tuple of int, optional
            The spatial shapes of the maps each ``switches[i]`` was taken in (switches
            are flat positions in that plane); required with ``switches``, as returned
            by ``infer(..., full_output=True)``.

        Returns
        -------
        (N, C, *spatial) ndarray
        """
        self._check_fitted()
        x = as_image(top_codes, "top_codes")
        self._check_maps(len(self.layers) - 1, x)   # the maps first, then the switches
        if switches is None:
            if shapes is not None:
                raise ValueError("shapes is only used with switches; pass both (from "
                                 "infer(..., full_output=True)) or neither")
            switches, shapes = self.switches, self.shapes
        elif shapes is None:
            raise ValueError("shapes must be given with switches: the spatial shape of the "
                             "maps each switch array was taken in (infer(..., "
                             "full_output=True) returns both)")
        else:
            switches, shapes = list(switches), list(shapes)
        if self.pool is None:
            switches, shapes = [], []
        elif len(switches) != len(self.layers) - 1:
            raise ValueError(f"reconstruct needs {len(self.layers) - 1} switch arrays (run "
                             f"infer first or pass switches=), got {len(switches)}")
        elif len(shapes) != len(switches):
            raise ValueError(f"shapes must have one shape per switch array "
                             f"({len(switches)}), got {len(shapes)}")
        for i in range(len(self.layers) - 1, -1, -1):
            x = self._synthesise(i, x)
            if i > 0 and self.pool is not None:
                sw = np.asarray(switches[i - 1])
                if sw.shape != x.shape:
                    raise ValueError(f"switches[{i - 1}] must have shape {x.shape}, got "
                                     f"{sw.shape}")
                x = max_unpool(x, sw, self._unpooled_shape(shapes[i - 1], sw, i - 1))
        return x

    def _synthesise(self, i, x):
        """``D_i x``: layer ``i``'s maps to what that layer reconstructs."""
        d = self._check_maps(i, x)
        grow = 0 if self.boundary == "circular" else 1     # "zero": n = m + k - 1
        image_shape = (d.shape[1],) + tuple(m + grow * (k - 1)
                                            for m, k in zip(x.shape[2:], d.shape[2:]))
        return SynthesisOperator(d, image_shape, boundary=self.boundary).forward(
            x.astype(d.dtype, copy=False))

    def _check_maps(self, i, x):
        """Layer ``i``'s filters, after checking that ``x`` can be its maps."""
        d = self.filters[i]
        if x.ndim != d.ndim or x.shape[1] != d.shape[0]:
            raise ValueError(f"the maps of layer {i + 1} must have shape (N, "
                             f"{d.shape[0]}, *spatial), got {x.shape}")
        return d

    # --- files -----------------------------------------------------------------------
    def save(self, path, overwrite=False):
        """Write the configuration and filters to ``path`` (``.npz``, exactly that path;
        ``FileExistsError`` for an existing file unless ``overwrite``)."""
        self._check_fitted()
        header = json.dumps(dict(layers=self.layers, pool=self.pool, method=self.method,
                                 boundary=self.boundary, seed=self.seed,
                                 coding_iterations=self.coding_iterations))
        arrays = {f"filters{i}": d for i, d in enumerate(self.filters)}
        write_npz(path, dict(arrays, **{HEADER_KEY: np.array(header)}), overwrite)

    @classmethod
    def load(cls, path):
        """The network written by :meth:`save`."""
        path = os.fspath(path)
        with np.load(path, allow_pickle=False) as archive:
            if HEADER_KEY not in archive.files:
                raise ValueError(f"{path} is not a DeconvNet file (no {HEADER_KEY!r} entry)")
            header = json.loads(str(archive[HEADER_KEY]))
            filters = [archive[f"filters{i}"] for i in range(len(header["layers"]))]
        pool = header["pool"]
        net = cls(header["layers"], pool=tuple(pool) if isinstance(pool, list) else pool,
                  method=header["method"], boundary=header["boundary"],
                  coding_iterations=header["coding_iterations"], seed=header["seed"])
        net.filters = filters
        return net

    # --- helpers ---------------------------------------------------------------------
    def _check_images(self, images):
        x = as_batch(images, "images", "(N, C, *spatial)")
        if isinstance(self.pool, tuple) and len(self.pool) != x.ndim - 2:
            raise ValueError(f"pool must be an int or {x.ndim - 2} ints for images of shape "
                             f"{x.shape}, got {self.pool}")
        if self.filters and x.shape[1] != self.filters[0].shape[1]:
            raise ValueError(f"images must have C = {self.filters[0].shape[1]} channels "
                             f"like the training images, got shape {x.shape}")
        return x

    def _check_fitted(self):
        if not self.filters:
            raise ValueError("this DeconvNet has no filters yet: call fit(images) first")

    def _code(self, x, d, lam, init=None):
        return code(x, d, lam, method=self.method, boundary=self.boundary,
                    iterations=self.coding_iterations, init=init)

    def _pool(self, z):
        if self.pool is None:
            return z, None
        return max_pool(z, self.pool)

    def _unpooled_shape(self, shape, switches, level):
        """``shape`` (``shapes[level]``) checked: a spatial shape that pools to the
        spatial shape of ``switches``."""
        nd = switches.ndim - 2
        shape = per_axis(shape, nd, f"shapes[{level}]", 1)
        size = per_axis(self.pool, nd, "pool", 1)
        pooled = tuple(-(-n // min(s, n)) for n, s in zip(shape, size))
        if pooled != switches.shape[2:]:
            raise ValueError(f"shapes[{level}] must be the spatial shape of the maps that "
                             f"pooled (window {size}) to switches[{level}] of shape "
                             f"{switches.shape}, got {shape}")
        return shape
