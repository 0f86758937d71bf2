"""A forward pass along a chain of layers that keeps what the backward projection needs.

:class:`Trace` runs the layers of a chain (:func:`~deconvkit.nn.layerpath.chain`) in
evaluation mode without touching the model's state -- the convolutions through
:mod:`deconvkit.functional` with the layer's weights, batch norm as its affine map
with the running statistics, max pooling on a copy of the layer that records its
switches -- and :meth:`Trace.project` maps a signal at the last layer back to the
input, in one of three :data:`MODES`. They differ only at the ReLUs:

* ``"gradient"``: ordinary backpropagation, ``d * (x > 0)``;
* ``"deconvnet"`` (Zeiler & Fergus 2014): the ReLU applied to the backward signal,
  ``max(d, 0)``, whatever the forward input was;
* ``"guided"`` (Springenberg et al. 2015): both, ``max(d, 0) * (x > 0)``.

Everywhere else the three agree: a convolution is projected by its transpose
(``conv_transpose`` with the same weights), batch norm by its per-channel scale
``gamma / sqrt(running_var + eps)`` (the transpose of its affine map), a max pool by
*unpooling with the switches* of this forward pass: each value goes back to the
position of the maximum its window chose (values of overlapping windows that chose
the same position add up, which is the pool's gradient).
"""

from __future__ import annotations

import copy

import numpy as np

from .. import functional as F

__all__ = ["Trace", "MODES", "unpool"]

MODES = ("deconvnet", "guided", "gradient")
"""Ways to project back through a ReLU (see the module notes)."""


def unpool(d, switches, input_shape):
    """Put every value of ``d (N, C, *out)`` at its switch, the flat index into the
    pool's input plane; values sent to one position add up.

    >>> unpool(np.array([[[[2.0, 3.0]]]]), np.array([[[[1, 1]]]]), (1, 1, 1, 3))
    array([[[[0., 5., 0.]]]])
    """
    planes, size = input_shape[0] * input_shape[1], int(np.prod(input_shape[2:]))
    flat = switches.reshape(planes, -1) + (np.arange(planes) * size)[:, None]
    out = np.bincount(flat.ravel(), weights=d.reshape(-1).astype(np.float64),
                      minlength=planes * size)
    return out.astype(d.dtype).reshape(input_shape)


def _bn_scale(module, dtype):
    inv_std = (1.0 / np.sqrt(module.running_var + module.eps)).astype(dtype)
    return inv_std if module.weight is None else inv_std * module.weight.data


class Trace:
    """One evaluation-mode forward pass along ``links``, kept for :meth:`project`.

    Parameters
    ----------
    links : list of Link
        A chain (:func:`~deconvkit.nn.layerpath.chain`), input to output.
    x : (N, C, *spatial) ndarray
        Input, in the dtype of the weights; not modified.

    Attributes
    ----------
    output : (N, C_out, *spatial_out) ndarray
        The last link's output.
    switches : list of (N, C, *out) int64 ndarray
        Each pool's switches, in order: the flat index of each window's maximum.
    """

    def __init__(self, links, x):
        self.links = list(links)
        self._records = []
        for link in self.links:
            x, record = getattr(self, "_forward_" + link.kind)(link.module, x)
            self._records.append(record)
        self.output = x

    @property
    def switches(self):
        return [r[0].indices for link, r in zip(self.links, self._records)
                if link.kind == "pool"]

    # ------------------------------------------------------------------ forward
    def _forward_conv(self, module, x):
        spec = module.spec if module.spec is not None else module.spec_for(x.shape[2:])
        y = F.conv(x, module.weight.data, module._bias(), spec=spec, method=module.method)
        return y, (spec, x.shape[2:])

    def _forward_bn(self, module, x):
        mean = module.running_mean.astype(x.dtype)
        scale = _bn_scale(module, x.dtype)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        y = (x - mean.reshape(shape)) * scale.reshape(shape)
        if module.bias is not None:
            y += module.bias.data.reshape(shape)
        return y, scale.reshape(shape)

    def _forward_relu(self, module, x):
        mask = x > 0
        return np.where(mask, x, np.zeros((), x.dtype)), mask

    def _forward_pool(self, module, x):
        pool = copy.copy(module)  # records its switches without changing the model's layer
        y = pool.forward(x)
        return y, (pool, x.shape)

    def _forward_id(self, module, x):
        return np.array(x, copy=True), None

    _forward_dropout = _forward_id

    # ------------------------------------------------------------------ backward
    def project(self, signal, mode="deconvnet"):
        """Map ``signal`` (the shape of :attr:`output`) back to the input space.

        Parameters
        ----------
        signal : ndarray
        mode : {"deconvnet", "guided", "gradient"}

        Returns
        -------
        (N, C, *spatial) ndarray
            The projection, the shape of the traced input.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if np.shape(signal) != self.output.shape:
            raise ValueError(f"signal must have the output shape {self.output.shape}, "
                             f"got {np.shape(signal)}")
        d = np.array(signal, dtype=self.output.dtype, copy=True)
        for link, record in zip(reversed(self.links), reversed(self._records)):
            d = getattr(self, "_back_" + link.kind)(link.module, record, d, mode)
        return d

    def _back_conv(self, module, record, d, mode):
        spec, size = record
        return F.conv_transpose(d, module.weight.data, spec=spec, output_size=size,
                                method=module.method)

    def _back_bn(self, module, scale, d, mode):
        return d * scale

    def _back_relu(self, module, mask, d, mode):
        if mode == "gradient":
            return d * mask
        d = np.maximum(d, np.zeros((), d.dtype))
        return d * mask if mode == "guided" else d

    def _back_pool(self, module, record, d, mode):
        pool, shape = record
        if mode == "gradient":
            return pool.backward(d)
        return unpool(d, pool.indices, shape)

    def _back_id(self, module, record, d, mode):
        return d

    _back_dropout = _back_id
