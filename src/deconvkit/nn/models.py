"""A small family of fully convolutional networks (FCN-32s, -16s, -8s) for ``shapes``.

The networks follow section 4.2 of Long, Shelhamer & Darrell (2015) at a scale
that trains on a CPU: an encoder of conv + BatchNorm + ReLU blocks and three
max-pooling layers (output stride 8), a 1x1 convolution scoring the stride-8
features, and a *head* that brings the scores back to the input size:

* ``"fcn32s"``: one upsampling step, x8;
* ``"fcn16s"``: x2, fuse (:class:`Crop` + :class:`Add`) with a score of the
  stride-4 features, then x4;
* ``"fcn8s"``: x2, fuse with the stride-4 score, x2, fuse with the stride-2
  score, then x2.

Every upsampling step is built by one of :data:`UPSAMPLINGS`, so the heads and
the ways of upsampling can be compared with everything else fixed. As in FCN,
the skip score layers start at zero, so a fused net starts as its coarser parent.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._checks import check_int
from . import init as initializers
from .activation import ReLU
from .conv import Conv, ConvTranspose, upsampling_geometry
from .merge import Add
from .module import Module, Sequential, as_rng, check_bool, check_dtype
from .norm import BatchNorm
from .pooling import MaxPool
from .resample import Crop, PixelShuffle, ResizeConv

__all__ = ["fcn", "FCN", "Encoder", "upsampler", "HEADS", "UPSAMPLINGS"]

HEADS = ("fcn32s", "fcn16s", "fcn8s")
"""Head names: how many skips are fused before the last upsampling step (0, 1, 2)."""

UPSAMPLINGS = ("bilinear", "learned_bilinear", "learned_random", "deconv_stack",
               "resize_conv", "pixel_shuffle")
"""Names of the ways to build an upsampling step (see :func:`upsampler`)."""

_FACTORS = {"fcn32s": (8,), "fcn16s": (2, 4), "fcn8s": (2, 2, 2)}
_SKIP_STRIDES = (4, 2)


def _check_name(name, allowed, what):
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"unknown {what} {name!r}; choose one of {allowed}")
    return name


def _transpose_x2_stack(channels, factor, rng, dtype):
    """``log2(factor)`` x2 transposed convolutions, ReLU between them, the last one linear."""
    steps = int(round(math.log2(factor)))
    if 2 ** steps != factor:
        raise ValueError(f"deconv_stack needs a power-of-two factor, got {factor}")
    layers = []
    for i in range(steps):
        layers.append(ConvTranspose(channels, channels, 4, stride=2, padding=1, rng=rng,
                                    dtype=dtype))
        if i < steps - 1:
            layers.append(ReLU())
    return Sequential(*layers)


def _pixel_shuffle(channels, factor, rng, dtype):
    """A 3x3 conv to ``channels * factor**2`` channels (ICNR init), then :class:`PixelShuffle`."""
    icnr = functools.partial(initializers.icnr, scale=factor)
    conv = Conv(channels, channels * factor ** 2, 3, padding="same", init=icnr, rng=rng,
                dtype=dtype)
    return Sequential(conv, PixelShuffle(factor))


def upsampler(kind, channels, factor, *, rng=None, dtype=np.float32) -> Module:
    """One upsampling step by an integer ``factor``, mapping ``(N, C, h, w)`` to ``(N, C, fh, fw)``.

    Parameters
    ----------
    kind : str
        One of :data:`UPSAMPLINGS`:

        * ``"bilinear"``: :meth:`ConvTranspose.bilinear`, frozen (fixed bilinear);
        * ``"learned_bilinear"``: the same layer, trainable (FCN's choice);
        * ``"learned_random"``: a :class:`ConvTranspose` of kernel ``2f``, stride
          ``f``, padding ``f/2``, He initialized, no bias;
        * ``"deconv_stack"``: ``log2(f)`` x2 transposed convolutions (kernel 4,
          stride 2, padding 1, He init) with ReLU between them, the last linear;
        * ``"resize_conv"``: nearest upsampling then a 3x3 convolution (:class:`ResizeConv`);
        * ``"pixel_shuffle"``: a 3x3 convolution to ``C f^2`` channels with
          :func:`~deconvkit.nn.init.icnr` init, then :class:`PixelShuffle`.
    channels : int
    factor : int
        2, 4 or 8 in the FCN heads; ``deconv_stack`` needs a power of two.
    rng : numpy Generator or int, optional
    dtype : float32 or float64

    Returns
    -------
    Module

    Examples
    --------
    >>> import numpy as np
    >>> up = upsampler("pixel_shuffle", 2, 4, rng=0)
    >>> up.forward(np.ones((1, 2, 3, 3), np.float32)).shape
    (1, 2, 12, 12)
    """
    _check_name(kind, UPSAMPLINGS, "upsampling")
    factor, channels = check_int(factor, "factor"), check_int(channels, "channels")
    rng = as_rng(rng)
    dtype = check_dtype(dtype)
    if kind in ("bilinear", "learned_bilinear"):
        return ConvTranspose.bilinear(channels, factor, trainable=kind == "learned_bilinear",
                                      dtype=dtype)
    if kind == "learned_random":
        k, p = upsampling_geometry(factor)
        return ConvTranspose(channels, channels, k, stride=factor, padding=p, bias=False,
                             rng=rng, dtype=dtype)
    if kind == "deconv_stack":
        return _transpose_x2_stack(channels, factor, rng, dtype)
    if kind == "resize_conv":
        return ResizeConv(channels, channels, scale_factor=factor, kernel_size=3, rng=rng,
                          dtype=dtype)
    return _pixel_shuffle(channels, factor, rng, dtype)


def _block(in_channels, out_channels, rng, dtype):
    """3x3 conv (no bias) + BatchNorm + ReLU."""
    return Sequential(Conv(in_channels, out_channels, 3, padding=1, bias=False, rng=rng,
                           dtype=dtype), BatchNorm(out_channels, dtype=dtype), ReLU())


def _blocks(in_channels, out_channels, depth, rng, dtype):
    """``depth`` blocks, the first from ``in_channels``: a list of modules."""
    return [_block(in_channels if i == 0 else out_channels, out_channels, rng, dtype)
            for i in range(depth)]


class Encoder(Module):
    """Conv + BatchNorm + ReLU blocks with three 2x2 max-pools: output stride 8.

    Parameters
    ----------
    in_channels : int
    width : int
        Channels of the first block; the next ones have ``2 width`` and ``4 width``,
        and a last block at stride 8 keeps ``4 width``.
    depth : int
        Blocks at stride 8 (the last stage, ``4 width`` channels). Each one after
        the first widens the receptive field by 16 pixels (38 for ``depth=1``) at
        a sixth of the cost of the whole default encoder, so the features that tell
        one shape from another see more of it.
    blocks : int
        Blocks before each of the three pools (1 by default). A second block at
        strides 1, 2 and 4 gives the skip features their own depth, at about twice
        the cost of the default encoder.
    rng : numpy Generator or int, optional
    dtype : float32 or float64

    Notes
    -----
    ``forward(x)`` returns the features at strides 2, 4 and 8 (the outputs of
    the pools, the last one after the stride-8 block), with ``width``, ``2 width``
    and ``4 width`` channels. ``backward(d2, d4, d8)`` takes their gradients
    (``None`` for an unused one) and returns the input gradient.
    """

    def __init__(self, in_channels=3, width=16, *, depth=1, blocks=1, rng=None,
                 dtype=np.float32):
        super().__init__()
        rng = as_rng(rng)
        width, depth = check_int(width, "width"), check_int(depth, "depth")
        blocks = check_int(blocks, "blocks")
        w = (width, 2 * width, 4 * width)
        self.stage1 = Sequential(*_blocks(in_channels, w[0], blocks, rng, dtype), MaxPool(2))
        self.stage2 = Sequential(*_blocks(w[0], w[1], blocks, rng, dtype), MaxPool(2))
        self.stage3 = Sequential(*_blocks(w[1], w[2], blocks, rng, dtype), MaxPool(2))
        last = _blocks(w[2], w[2], depth, rng, dtype)
        self.stage4 = last[0] if depth == 1 else Sequential(*last)
        self.channels, self.depth, self.blocks = w, depth, blocks

    def forward(self, x):
        f2 = self.stage1.forward(x)
        f4 = self.stage2.forward(f2)
        f8 = self.stage4.forward(self.stage3.forward(f4))
        return f2, f4, f8

    def backward(self, d2, d4, d8):
        d = self.stage3.backward(self.stage4.backward(d8))
        d = self.stage2.backward(d if d4 is None else d + d4)
        return self.stage1.backward(d if d2 is None else d + d2)


class FCN(Module):
    """A fully convolutional network: :class:`Encoder`, scores, upsampling and skip fusion.

    Build it with :func:`fcn`. Children: ``encoder``, ``score8`` (1x1 conv on the
    stride-8 features), ``up0``, ``up1``, ... (the upsampling steps, coarse to
    fine), and for each fused skip ``score4`` / ``score2`` (1x1 convs, zero
    initialized), ``crop0`` / ``crop1`` and ``fuse0`` / ``fuse1``.

    Notes
    -----
    ``forward(x)`` maps ``(N, in_channels, H, W)``, ``H`` and ``W`` multiples of 8,
    to ``(N, num_classes, H, W)`` scores; ``backward(dy)`` returns the input
    gradient (``None`` when built with ``input_grad=False``: training on images needs
    none, and skipping it saves the first layer's largest product) and accumulates
    every parameter gradient.
    """

    def __init__(self, head, upsampling, num_classes, width, in_channels=3, *, depth=1,
                 blocks=1, rng=None, dtype=np.float32, input_grad=True):
        super().__init__()
        self.head = _check_name(head, HEADS, "head")
        self.upsampling = _check_name(upsampling, UPSAMPLINGS, "upsampling")
        self.in_channels = check_int(in_channels, "in_channels")
        self.num_classes = check_int(num_classes, "num_classes")
        rng = as_rng(rng)
        self.encoder = Encoder(in_channels, width, depth=depth, blocks=blocks, rng=rng,
                               dtype=dtype)
        self.encoder.stage1[0][0].needs_input_grad = check_bool(input_grad, "input_grad")
        channels = dict(zip((2, 4, 8), self.encoder.channels))
        self.score8 = Conv(channels[8], num_classes, 1, rng=rng, dtype=dtype)
        self._ups, self._skips = [], []
        for i, factor in enumerate(_FACTORS[head]):
            up = upsampler(upsampling, num_classes, factor, rng=rng, dtype=dtype)
            setattr(self, f"up{i}", up)
            self._ups.append(up)
        for i, stride in enumerate(_SKIP_STRIDES[:len(_FACTORS[head]) - 1]):
            score = Conv(channels[stride], num_classes, 1, init="zeros", dtype=dtype)
            setattr(self, f"score{stride}", score)
            setattr(self, f"crop{i}", Crop(0))
            setattr(self, f"fuse{i}", Add())
            self._skips.append((stride, score, getattr(self, f"crop{i}"),
                                getattr(self, f"fuse{i}")))

    def _check_input(self, x):
        if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be (N, {self.in_channels}, H, W), got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        if x.shape[2] % 8 or x.shape[3] % 8 or x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(f"H and W must be positive multiples of 8 (the output stride), "
                             f"got {x.shape[2:]}")

    def forward(self, x):
        self._check_input(x)
        f2, f4, f8 = self.encoder.forward(x)
        features = {2: f2, 4: f4}
        s = self.score8.forward(f8)
        for up, (stride, score, crop, fuse) in zip(self._ups, self._skips):
            skip = score.forward(features[stride])
            s = fuse.forward(crop.forward(up.forward(s), skip), skip)
        return self._ups[-1].forward(s)

    def backward(self, dy):
        d = self._ups[-1].backward(dy)
        grads = {2: None, 4: None}
        for up, (stride, score, crop, fuse) in reversed(list(zip(self._ups, self._skips))):
            d_coarse, d_skip = fuse.backward(d)
            grads[stride] = score.backward(d_skip)
            d = up.backward(crop.backward(d_coarse))
        d8 = self.score8.backward(d)
        return self.encoder.backward(grads[2], grads[4], d8)

    @property
    def config(self) -> dict:
        """The :func:`fcn` arguments that build this architecture (not its weights)."""
        return dict(head=self.head, upsampling=self.upsampling, num_classes=self.num_classes,
                    width=self.encoder.channels[0], depth=self.encoder.depth,
                    blocks=self.encoder.blocks, dtype=np.dtype(self.score8.weight.data.dtype).name)

    def extra_repr(self):
        return f"head={self.head!r}, upsampling={self.upsampling!r}"


def fcn(head="fcn8s", upsampling="learned_bilinear", num_classes=6, width=16, seed=0,
        dtype=np.float32, input_grad=True, depth=1, blocks=1) -> FCN:
    """A small FCN for 3-channel images such as :func:`deconvkit.datasets.shapes`.

    Parameters
    ----------
    head : {"fcn32s", "fcn16s", "fcn8s"}
        Skip fusion (see :data:`HEADS`): none, stride 4, or strides 4 and 2.
    upsampling : str
        How every upsampling step is built, one of :data:`UPSAMPLINGS` (see
        :func:`upsampler`).
    num_classes : int
    width : int
        Encoder widths ``width, 2 width, 4 width`` (16 gives 16, 32, 64).
    seed : int
        Seed of every random initialization.
    dtype : float32 or float64
    input_grad : bool
        ``False``: ``backward`` skips the gradient with respect to the images and
        returns ``None`` (what training needs; :mod:`deconvkit.train` does this).
    depth : int
        Conv + BatchNorm + ReLU blocks at stride 8 (see :class:`Encoder`).
    blocks : int
        Conv + BatchNorm + ReLU blocks before each of the three pools (VGG has 2 or 3).

    Returns
    -------
    FCN
        A :class:`Module`: ``forward`` maps ``(N, 3, H, W)`` to ``(N, num_classes, H, W)``
        for ``H``, ``W`` multiples of 8 (``ValueError`` otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> net = fcn("fcn16s", "bilinear", width=4)
    >>> net.forward(np.zeros((2, 3, 16, 24), np.float32)).shape
    (2, 6, 16, 24)
    >>> [name for name, p in net.named_parameters() if name.startswith("up")]
    ['up0.weight', 'up1.weight']
    >>> any(net.parameter(name).requires_grad for name in ("up0.weight", "up1.weight"))
    False
    """
    _check_name(head, HEADS, "head")
    _check_name(upsampling, UPSAMPLINGS, "upsampling")
    num_classes = check_int(num_classes, "num_classes")
    width, depth = check_int(width, "width"), check_int(depth, "depth")
    blocks = check_int(blocks, "blocks")
    return FCN(head, upsampling, num_classes, width, depth=depth, blocks=blocks,
               rng=as_rng(seed, "seed"),
               dtype=check_dtype(dtype), input_grad=input_grad)
