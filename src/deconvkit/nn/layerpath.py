"""The encoder path of a network as a flat list of named layers, and its receptive fields.

A deconvnet (:mod:`deconvkit.nn.deconvnet`) projects an activation back to the
pixels through the layers *below* it, so it needs the network as a chain. Here a
chain is read off

* an :class:`~deconvkit.nn.models.FCN` (its ``encoder``: the layers before the
  first skip or score, which is all a feature of the encoder depends on),
* an :class:`~deconvkit.nn.models.Encoder`, or
* a :class:`~deconvkit.nn.Sequential` (nested ones are flattened),

and each layer is named by the group it sits in and its kind, counted within the
group: ``"stage2.conv1"``, ``"stage2.relu1"``, ``"stage2.pool"`` (the number is
dropped when a kind occurs once in its group; a plain ``Sequential`` has one group
and names ``"conv1"``, ``"relu1"``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from .activation import Identity, ReLU
from .conv import Conv
from .module import Module, Sequential
from .norm import BatchNorm, Dropout
from .pooling import MaxPool

__all__ = ["Link", "chain", "ReceptiveField", "receptive_fields", "KINDS"]

KINDS = {Conv: "conv", BatchNorm: "bn", ReLU: "relu", MaxPool: "pool", Identity: "id",
         Dropout: "dropout"}
"""The layer types a chain may hold, and the kind each is named by."""

PROJECTABLE = ("conv", "relu", "pool")
"""Kinds whose outputs a deconvnet projects from."""


@dataclass(frozen=True)
class Link:
    """One layer of a chain: its public ``name``, ``kind`` and the module itself."""

    name: str
    kind: str
    module: Module


def _kind(module, where):
    for cls, kind in KINDS.items():
        if type(module) is cls:
            return kind
    raise TypeError(f"the deconvnet handles {', '.join(c.__name__ for c in KINDS)} layers "
                    f"on the encoder path, got {type(module).__name__} at {where!r}")


def _leaves(module, where):
    """The primitive layers of ``module`` in order, flattening Sequential containers."""
    if isinstance(module, Sequential):
        for name, child in module.named_children():
            yield from _leaves(child, f"{where}.{name}" if where else name)
    else:
        yield where, module


def _groups(model):
    """``(group name, module)`` pairs whose leaves, in order, form the chain."""
    from .models import FCN, Encoder

    if isinstance(model, FCN):
        model = model.encoder
    if isinstance(model, Encoder):
        return list(model.named_children())
    if isinstance(model, Sequential):
        return [("", model)]
    raise TypeError(f"model must be an FCN (deconvkit.nn.fcn), an Encoder or a Sequential, "
                    f"got {type(model).__name__}")


def chain(model) -> list:
    """The encoder path of ``model`` as a list of :class:`Link`, input to output.

    Examples
    --------
    >>> from deconvkit import nn
    >>> net = nn.Sequential(nn.Conv(3, 4, 3), nn.ReLU(), nn.MaxPool(2), nn.Conv(4, 4, 3))
    >>> [link.name for link in chain(net)]
    ['conv1', 'relu', 'pool', 'conv2']
    >>> [link.name for link in chain(nn.fcn(width=2))][:4]
    ['stage1.conv', 'stage1.bn', 'stage1.relu', 'stage1.pool']
    """
    links = []
    for group, module in _groups(model):
        leaves = [(where, m, _kind(m, where)) for where, m in _leaves(module, group)]
        kinds = [k for _, _, k in leaves]
        seen = {}
        for where, m, kind in leaves:
            seen[kind] = seen.get(kind, 0) + 1
            label = kind if kinds.count(kind) == 1 else f"{kind}{seen[kind]}"
            links.append(Link(f"{group}.{label}" if group else label, kind, m))
    return links


@dataclass(frozen=True)
class ReceptiveField:
    """Which input pixels one unit of a layer sees, per spatial axis.

    The unit at output index ``i`` sees input indices ``i * stride + offset`` to
    ``i * stride + offset + size - 1`` (``offset`` is negative where padding makes
    the box start before the image).

    Attributes
    ----------
    size, stride, offset : tuple of int
    """

    size: tuple
    stride: tuple
    offset: tuple

    def box(self, position) -> tuple:
        """``(start, stop)`` per axis of the input box seen by the unit at ``position``.

        >>> ReceptiveField((3, 3), (2, 2), (-1, -1)).box((0, 2))
        ((-1, 2), (3, 6))
        """
        return tuple((i * s + o, i * s + o + n) for i, s, o, n in
                     zip(position, self.stride, self.offset, self.size))


def _spec(link, ndim):
    """The geometry of a conv or pool layer (``"same"`` padding resolved for an input
    size that is a multiple of the stride)."""
    module = link.module
    if link.kind == "pool":
        return module.spec
    if module.spec is not None:
        return module.spec
    return module.spec_for(tuple(64 * s for s in module._geometry["stride"]))


def receptive_fields(links, ndim=2) -> list:
    """The :class:`ReceptiveField` of the output of every link of a chain, in order.

    A conv or pool with kernel extent ``e = d (k - 1) + 1``, stride ``s`` and low
    padding ``p`` maps ``(size, stride, offset)`` to ``(size + (e - 1) stride,
    stride s, offset - p stride)``; pointwise layers keep it.
    """
    size, stride, offset = [1] * ndim, [1] * ndim, [0] * ndim
    fields = []
    for link in links:
        if link.kind in ("conv", "pool"):
            spec = _spec(link, ndim)
            for a in range(ndim):
                size[a] += (spec.kernel_extent[a] - 1) * stride[a]
                offset[a] -= spec.padding[a][0] * stride[a]
                stride[a] *= spec.stride[a]
        fields.append(ReceptiveField(tuple(size), tuple(stride), tuple(offset)))
    return fields
