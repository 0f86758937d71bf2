"""The deconvnet of Zeiler & Fergus (2014): a trained network's activations, back in pixels.

"To examine a convnet, a deconvnet is attached to each of its layers [...]. To
examine a given convnet activation, we set all other activations in the layer to
zero and pass the feature maps as input to the attached deconvnet layer. Then we
successively (i) unpool, (ii) rectify and (iii) filter to reconstruct the activity
in the layer beneath" (section 2.1). Here the network is the encoder path of a
:mod:`deconvkit.nn` model (:func:`~deconvkit.nn.layerpath.chain`: an FCN from
:func:`~deconvkit.nn.fcn`, its ``Encoder``, or a ``Sequential``), the layers one
projects from are its conv, ReLU and pool outputs (:func:`layer_names`), and the
projection (:func:`project`) runs in one of :data:`MODES`
(:mod:`~deconvkit.nn.backproject`): ``"deconvnet"``, ``"guided"`` or ``"gradient"``.

* :func:`activations`: a layer's feature maps;
* :func:`top_activations`: the strongest activations of each channel over a set of
  images (image, position, value);
* :func:`project`, :func:`top_projections`, :func:`project_activations`: their
  projections to pixel space;
* :func:`receptive_field`: the input box a unit sees, to crop the image patches
  that caused an activation (:mod:`deconvkit.explain.deconvnet` draws both).

The model is only read: the forward pass runs in evaluation mode (batch norm with
its running statistics) on the side, and no layer's state or gradient changes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import check_int, describe, is_int
from .backproject import MODES, Trace
from .layerpath import PROJECTABLE, chain, receptive_fields

__all__ = ["layer_names", "activations", "top_activations", "project", "top_projections",
           "project_activations", "receptive_field", "Activation", "MODES"]


class Activation(NamedTuple):
    """One activation of a channel: ``image`` index, spatial ``position``, ``value``."""

    image: int
    position: tuple
    value: float


def layer_names(model) -> list:
    """The layers of ``model`` one can project from, input to output.

    These are the conv, ReLU and pool outputs of the encoder path; a group's name
    (``"stage3"``) is also accepted by the other functions and means its last layer.

    Examples
    --------
    >>> from deconvkit import nn
    >>> layer_names(nn.fcn(width=2))[:4]
    ['stage1.conv', 'stage1.relu', 'stage1.pool', 'stage2.conv']
    """
    return [link.name for link in chain(model) if link.kind in PROJECTABLE]


def _aliases(links):
    """Group name -> its last projectable layer (``"stage3"`` -> ``"stage3.pool"``)."""
    out = {}
    for link in links:
        if link.kind in PROJECTABLE and "." in link.name:
            out[link.name.rsplit(".", 1)[0]] = link.name
    return out


def _resolve(model, layer):
    """The chain up to and including ``layer``, after checking the name."""
    links = chain(model)
    names = [link.name for link in links if link.kind in PROJECTABLE]
    aliases = _aliases(links)
    name = aliases.get(layer, layer) if isinstance(layer, str) else layer
    if not isinstance(name, str) or name not in names:
        groups = f" (or a group: {', '.join(aliases)})" if aliases else ""
        raise ValueError(f"layer must be one of {names}{groups}, got {describe(layer)}")
    stop = [link.name for link in links].index(name)
    return links[:stop + 1], name


def _input(links, images):
    """``images`` as a new array in the weights' dtype, after checking its shape."""
    first = next((link.module for link in links if link.kind == "conv"), None)
    dtype = first.weight.data.dtype if first is not None else np.float64
    arr = np.asarray(images) if isinstance(images, np.ndarray) else None
    if arr is None or arr.dtype.kind not in "fiu" or arr.ndim < 3:
        raise TypeError(f"images must be a real (N, C, *spatial) ndarray, got "
                        f"{describe(images) if arr is None else arr.dtype}")
    if first is not None and (arr.ndim != len(first.kernel_size) + 2
                              or arr.shape[1] != first.in_channels):
        raise ValueError(f"images must be (N, {first.in_channels}, *spatial) with "
                         f"{len(first.kernel_size)} spatial axes, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"images must hold at least one image, got shape {arr.shape}")
    return np.array(arr, dtype=dtype, copy=True)


BATCH = 32
"""Images per forward pass: memory stays bounded however many images are given."""


def _traces(model, images, layer):
    """A :class:`Trace` per batch of :data:`BATCH` images, made as they are used."""
    links, _ = _resolve(model, layer)
    x = _input(links, images)
    return (Trace(links, x[i:i + BATCH]) for i in range(0, len(x), BATCH))


def activations(model, images, layer) -> np.ndarray:
    """The feature maps of ``layer`` for ``images`` (evaluation mode).

    Parameters
    ----------
    model : FCN, Encoder or Sequential
    images : (N, C_in, *spatial) ndarray
    layer : str
        One of :func:`layer_names` (or a group name).

    Returns
    -------
    (N, C, *spatial') ndarray

    Examples
    --------
    >>> from deconvkit import nn
    >>> net = nn.fcn(width=2)
    >>> activations(net, np.zeros((1, 3, 16, 16), np.float32), "stage2").shape
    (1, 4, 4, 4)
    """
    return np.concatenate([trace.output for trace in _traces(model, images, layer)])


def _check_channels(channels, count):
    if channels is None:
        return list(range(count))
    values = [channels] if is_int(channels) else channels
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"channels must be an int or a sequence of ints, got "
                        f"{describe(channels)}")
    values = list(values)
    if not values:
        raise ValueError("channels must name at least one channel, got an empty sequence")
    return [check_int(c, "channel", 0, count - 1) for c in values]


def _ranked(a, top, distinct):
    """The ``top`` largest entries of ``a (N, *spatial)``: descending value, ties by image
    then flat position; with ``distinct``, each image's largest entry only."""
    n = a.shape[0]
    flat = a.reshape(n, -1)
    if distinct:
        pos = np.argmax(flat, axis=1)
        values = flat[np.arange(n), pos]
        order = np.lexsort((np.arange(n), -values.astype(np.float64)))[:top]
        return [(int(i), int(pos[i]), values[i]) for i in order]
    values = flat.ravel()
    order = np.lexsort((np.arange(values.size), -values.astype(np.float64)))[:top]
    return [(int(k) // flat.shape[1], int(k) % flat.shape[1], values[k]) for k in order]


def _top(a, channels, top, distinct):
    spatial = a.shape[2:]
    return {c: [Activation(i, tuple(int(v) for v in np.unravel_index(p, spatial)), float(v))
                for i, p, v in _ranked(a[:, c], top, distinct)] for c in channels}


def top_activations(model, images, layer, channels=None, top=9, *, distinct=True) -> dict:
    """The strongest activations of each channel of ``layer`` over ``images``.

    Parameters
    ----------
    model, images, layer
        As for :func:`activations`.
    channels : int or sequence of int, optional
        Default: every channel.
    top : int
        How many per channel (at most the number of candidates).
    distinct : bool
        At most one activation per image, its strongest (Zeiler & Fergus's grids
        show different images); ``False`` ranks every (image, position) pair.

    Returns
    -------
    dict of int to list of Activation
        Per channel, in descending value; ties go to the lower image index, then the
        lower flat (row-major) position.

    Examples
    --------
    >>> from deconvkit import nn
    >>> net = nn.Sequential(nn.ReLU())
    >>> x = np.zeros((2, 1, 2, 2)); x[1, 0, 0, 1] = 5.0; x[0, 0, 1, 1] = 3.0
    >>> [(a.image, a.position, a.value) for a in top_activations(net, x, "relu", top=2)[0]]
    [(1, (0, 1), 5.0), (0, (1, 1), 3.0)]
    """
    top = check_int(top, "top")
    if not isinstance(distinct, (bool, np.bool_)):
        raise TypeError(f"distinct must be True or False, got {describe(distinct)}")
    a = activations(model, images, layer)
    return _top(a, _check_channels(channels, a.shape[1]), top, distinct)


def _positions(position, out_shape):
    """``(N, ndim)`` positions from None (filled in later), one tuple, or an array."""
    n, spatial = out_shape[0], out_shape[2:]
    if position is None:
        return None
    pos = np.asarray(position)
    if pos.dtype.kind not in "iu" or pos.shape not in ((len(spatial),), (n, len(spatial))):
        raise ValueError(f"position must be {len(spatial)} ints or an (N={n}, "
                         f"{len(spatial)}) int array, got {describe(position)}")
    pos = np.broadcast_to(pos, (n, len(spatial)))
    if (pos < 0).any() or (pos >= np.array(spatial)).any():
        raise ValueError(f"position must lie in the layer's output {spatial}, got "
                         f"{pos.tolist()}")
    return pos


def project(model, images, layer, channel, position=None, mode="deconvnet") -> np.ndarray:
    """Project one activation per image of ``layer`` back to pixel space.

    For each image, every activation of the layer is set to zero except the one of
    ``channel`` at ``position``, which keeps its value, and this signal is mapped back
    through the layers below (:meth:`~deconvkit.nn.backproject.Trace.project`).

    Parameters
    ----------
    model, images, layer
        As for :func:`activations`.
    channel : int
    position : tuple of int or (N, ndim) int array, optional
        Where the activation is in the layer's feature map, the same for every image
        or one per image; default the channel's strongest activation in each image.
    mode : {"deconvnet", "guided", "gradient"}
        See :data:`MODES`. With ``"gradient"`` the projection is the activation's
        value times its gradient with respect to the image.

    Returns
    -------
    (N, C_in, *spatial) ndarray
        In the dtype of the model's weights.

    Examples
    --------
    >>> from deconvkit import nn
    >>> net = nn.Sequential(nn.Conv(1, 1, 3, padding=1, bias=False))
    >>> net[0].weight.data[...] = 1.0
    >>> x = np.zeros((1, 1, 4, 4), np.float32); x[0, 0, 0, 0] = 1.0
    >>> project(net, x, "conv", 0, position=(0, 0))[0, 0]
    array([[1., 1., 0., 0.],
           [1., 1., 0., 0.],
           [0., 0., 0., 0.],
           [0., 0., 0., 0.]], dtype=float32)
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    out, start = [], 0
    for trace in _traces(model, images, layer):
        a = trace.output
        if start == 0:
            channel = check_int(channel, "channel", 0, a.shape[1] - 1)
            pos = _positions(position, (len(images),) + a.shape[1:])
        if pos is None:
            flat = a[:, channel].reshape(a.shape[0], -1).argmax(axis=1)
            here = np.stack(np.unravel_index(flat, a.shape[2:]), axis=1)
        else:
            here = pos[start:start + len(a)]
        index = (np.arange(a.shape[0]), channel) + tuple(here.T)
        signal = np.zeros_like(a)
        signal[index] = a[index]
        out.append(trace.project(signal, mode))
        start += len(a)
    return np.concatenate(out)


def top_projections(model, images, layer, channels=None, top=9, *, mode="deconvnet",
                    distinct=True) -> dict:
    """The projections of each channel's strongest activations (:func:`top_activations`).

    Returns
    -------
    dict of int to (list of Activation, (k, C_in, *spatial) ndarray)
        Per channel, the activations and their projections, in the same order.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    tops = top_activations(model, images, layer, channels, top, distinct=distinct)
    return project_activations(model, images, layer, tops, mode)


def project_activations(model, images, layer, tops, mode="deconvnet") -> dict:
    """The projections of given activations: ``tops`` maps a channel to a list of
    :class:`Activation` (as :func:`top_activations` returns) and the result to
    ``(activations, (k, C_in, *spatial) projections)``, one batch per channel."""
    out = {}
    for c, acts in tops.items():
        batch = images[[act.image for act in acts]]
        pos = np.array([act.position for act in acts], np.int64)
        out[c] = (acts, project(model, batch, layer, c, pos, mode))
    return out


def receptive_field(model, layer):
    """The input box a unit of ``layer`` sees: its size, stride and offset per axis.

    Returns
    -------
    ReceptiveField
        ``size``, ``stride``, ``offset`` (tuples); ``box(position)`` gives the
        ``(start, stop)`` input indices per axis (which may reach past the image).

    Examples
    --------
    >>> from deconvkit import nn
    >>> rf = receptive_field(nn.fcn(width=2), "stage3")
    >>> rf.size, rf.stride, rf.offset
    ((22, 22), (8, 8), (-7, -7))
    """
    links, _ = _resolve(model, layer)
    ndim = next((len(link.module.kernel_size) for link in links if link.kind == "conv"), 2)
    return receptive_fields(links, ndim)[-1]
