"""Overlap and checkerboard maps: how many kernel taps reach each output position.

For a transposed convolution the count is ``conv_transpose(ones, ones)``: uneven
when the kernel extent is not a multiple of the stride, which is where checkerboard
artifacts come from (Odena, Dumoulin & Olah, "Deconvolution and Checkerboard
Artifacts", Distill 2016). Side by side, computed for the same spec:

* ``transposed``: the layer, ``conv_transpose(ones(m), ones(k), spec)``;
* ``gradient``: its input gradient, the strided ``conv(ones(t), ones(k), spec)``;
* ``resize-nearest`` / ``resize-bilinear``: upsample by the stride
  (:class:`~deconvkit.nn.Upsample`) then a stride-1 ``"same"`` convolution;
* ``pixel-shuffle``: a stride-1 convolution to ``s**d`` channels initialised with
  :func:`~deconvkit.nn.init.icnr`, then :class:`~deconvkit.nn.PixelShuffle`.

Every map is computed by the library's own functions on all-ones arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..functional import conv, conv_transpose
from ..geometry import ConvSpec
from .frames import MAX_CELLS, Frame, Panel
from .render import compact, fmt_number, size_str

__all__ = ["Verdict", "overlap_maps", "verdict", "checkerboard", "checkerboard_frame",
           "MAX_MAP_POSITIONS"]

MAX_MAP_POSITIONS = 1_000_000
"""Largest map computed (positions of the upsampled output)."""


@dataclass(frozen=True)
class Verdict:
    """The overlap pattern of one map, read in its interior (away from the borders).

    Attributes
    ----------
    kind : {"uniform", "periodic"}
    period : tuple of int
        Smallest period per axis of the interior (1 where it is constant).
    low, high : int
        Fewest and most taps reaching one interior position.
    interior : bool
        False when the map is too small to have an interior (then the whole map is read).
    """

    kind: str
    period: tuple
    low: int
    high: int
    interior: bool = True

    @property
    def text(self) -> str:
        """``"uniform (3 taps everywhere)"`` or ``"periodic with period 2, overlap 1/2"``."""
        where = "" if self.interior else " (no interior: the whole map)"
        if self.kind == "uniform":
            return f"uniform ({self.low} taps everywhere in the interior){where}"
        return (f"periodic with period {compact(self.period)}, overlap "
                f"{self.low}/{self.high} (min/max taps){where}")


def _ones(shape):
    return np.ones((1, 1) + tuple(shape))


def _transposed(spec, m):
    y = conv_transpose(_ones(m), _ones(spec.kernel_size), spec=spec)[0, 0]
    full = spec.full_size(m)
    lo = [e - 1 - p for e, (p, _) in zip(spec.kernel_extent, spec.padding)]
    hi = [(mm - 1) * s - p + 1 for mm, s, (p, _) in zip(m, spec.stride, spec.padding)]
    assert len(full) == y.ndim
    return y, lo, hi


def _gradient(spec, m):
    t = spec.transpose_output_size(m)
    y = conv(_ones(t), _ones(spec.kernel_size), spec=spec)[0, 0]
    lo = [-(-p // s) for s, (p, _) in zip(spec.stride, spec.padding)]
    hi = [(n - e + p) // s + 1 for n, e, s, (p, _) in
          zip(t, spec.kernel_extent, spec.stride, spec.padding)]
    return y, lo, hi


def _same_border(spec):
    return [e // 2 for e in spec.kernel_extent], [-(e // 2) or None for e in spec.kernel_extent]


def _resize(spec, m, mode):
    from ..nn import Upsample

    up = Upsample(spec.stride, mode=mode).forward(_ones(m))
    y = conv(up, _ones(spec.kernel_size), padding="same", dilation=spec.dilation)[0, 0]
    lo, hi = _same_border(spec)
    return y, lo, [y.shape[a] + (h or 0) for a, h in enumerate(hi)]


def _pixel_shuffle(spec, m):
    from ..nn import PixelShuffle
    from ..nn.init import icnr

    r = spec.stride[0]
    d = spec.ndim
    w = icnr((r ** d, 1) + spec.kernel_size, scale=r, dtype=np.float64,
             init=lambda shape, rng, dtype:
             np.ones(shape, dtype))
    y = conv(_ones(m), w, padding="same", dilation=spec.dilation)
    y = PixelShuffle(r).forward(y)[0, 0]
    lo, hi = _same_border(spec)
    return y, [a * r for a in lo], [n + (h or 0) * r for n, h in zip(y.shape, hi)]


def _check_size(spec, m):
    big = tuple(max(a, b) for a, b in zip(spec.full_size(m),
                                          (mm * s for mm, s in zip(m, spec.stride))))
    if math.prod(big) > MAX_MAP_POSITIONS:
        raise ValueError(f"input {size_str(m)} with stride {compact(spec.stride)} gives maps of "
                         f"{math.prod(big):,} positions, more than {MAX_MAP_POSITIONS:,} "
                         "(MAX_MAP_POSITIONS); give a smaller --input")


def overlap_maps(spec: ConvSpec, input_size) -> dict:
    """Tap counts of the transposed layer, its gradient and the two alternatives.

    Parameters
    ----------
    spec : ConvSpec
        Any number of axes; ``groups`` is ignored (one channel).
    input_size : tuple of int
        Spatial size ``m`` of the transposed convolution's input.

    Returns
    -------
    maps : dict of str to (map, lo, hi)
        Each map (an int-valued ndarray) with the per-axis interior ``map[lo:hi]``.
        ``pixel-shuffle`` is left out when the strides differ between axes.

    Examples
    --------
    >>> maps = overlap_maps(ConvSpec(3, stride=2), (4,))
    >>> maps["transposed"][0].tolist()
    [1.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 1.0]
    """
    m = tuple(int(v) for v in input_size)
    if len(m) != spec.ndim:
        raise ValueError(f"input_size must have {spec.ndim} axes for {spec.describe()}, got {m}")
    _check_size(spec, m)
    maps = {"transposed": _transposed(spec, m), "gradient": _gradient(spec, m),
            "resize-nearest": _resize(spec, m, "nearest"),
            "resize-bilinear": _resize(spec, m, "linear")}
    if len(set(spec.stride)) == 1:
        maps["pixel-shuffle"] = _pixel_shuffle(spec, m)
    return maps


def _period(a, axis, limit):
    for p in range(1, limit + 1):
        if a.shape[axis] <= p or np.array_equal(np.take(a, range(p, a.shape[axis]), axis),
                                                np.take(a, range(a.shape[axis] - p), axis)):
            return p
    return limit


def verdict(counts, lo, hi, stride) -> Verdict:
    """Read the interior ``counts[lo:hi]`` of a tap-count map: uniform or periodic.

    >>> verdict(np.array([1, 2, 1, 2, 1]), [0], [5], (2,)).text
    'periodic with period 2, overlap 1/2 (min/max taps)'
    """
    box = tuple(slice(max(a, 0), b) for a, b in zip(lo, hi))
    inner = counts[box]
    interior = inner.size > 0
    inner = inner if interior else counts
    low, high = int(round(inner.min())), int(round(inner.max()))
    period = tuple(_period(inner, a, max(s, 1)) if low != high else 1
                   for a, s in enumerate(stride))
    return Verdict("uniform" if low == high else "periodic", period, low, high, interior)


NAMES = {"transposed": "transposed conv (the layer)",
         "gradient": "its input gradient (the strided conv)",
         "resize-nearest": "resize-conv: nearest upsample, stride-1 conv",
         "resize-bilinear": "resize-conv: bilinear upsample, stride-1 conv",
         "pixel-shuffle": "conv + pixel shuffle, ICNR init"}


def checkerboard(spec: ConvSpec, input_size) -> dict:
    """The :class:`Verdict` of each map of :func:`overlap_maps`.

    >>> checkerboard(ConvSpec(3, stride=2), (6,))["transposed"].text
    'periodic with period 2, overlap 1/2 (min/max taps)'
    >>> checkerboard(ConvSpec(4, stride=2), (6,))["transposed"].kind
    'uniform'
    """
    stride = spec.stride
    return {name: verdict(a, lo, hi, stride if name not in ("gradient",) else (1,) * spec.ndim)
            for name, (a, lo, hi) in overlap_maps(spec, input_size).items()}


def _slice2d(a):
    """A 1-D map as one row, 2-D as is, higher: the middle 2-D slice."""
    if a.ndim == 1:
        return a[None, :]
    return a[tuple(n // 2 for n in a.shape[:-2])]


def checkerboard_frame(spec: ConvSpec, input_size) -> Frame:
    """One frame with every map as a heat map, its verdict in the panel title."""
    maps = overlap_maps(spec, input_size)
    verdicts = checkerboard(spec, input_size)
    big = [name for name, (a, _, _) in maps.items() if max(a.shape[-2:]) > MAX_CELLS]
    if big:
        raise ValueError(f"the {big[0]} map ({size_str(maps[big[0]][0].shape)}) is too large "
                         f"to draw readably: at most {MAX_CELLS} cells per axis (MAX_CELLS); "
                         "give a smaller --input")
    panels = tuple(Panel(f"{NAMES[name]}\n{verdicts[name].kind}, {fmt_number(a.min())}.."
                         f"{fmt_number(a.max())} taps", _slice2d(a), kind="map")
                   for name, (a, _, _) in maps.items())
    sliced = " (middle 2-D slice of each map)" if spec.ndim > 2 else ""
    return Frame("checkerboard", 0, f"Overlap: kernel taps reaching each output{sliced}",
                 f"{spec.describe()}, input {size_str(input_size)}. transposed conv: "
                 f"{verdicts['transposed'].text}.", panels)
