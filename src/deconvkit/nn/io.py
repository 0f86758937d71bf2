"""Save and load a module's parameters and buffers as a NumPy ``.npz`` archive.

:func:`save` / :func:`load` move the weights of a module you build yourself.
:func:`save_model` / :func:`load_model` also store the architecture of an
:class:`~deconvkit.nn.models.FCN` (its :func:`~deconvkit.nn.fcn` arguments) and
free-form metadata, so that a file alone rebuilds the trained network.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .._files import write_npz
from .module import Module

__all__ = ["save", "load", "save_model", "load_model", "MODEL_KEY"]

MODEL_KEY = "__model__"
"""The archive entry of a model file holding ``{"fcn": args, "meta": ...}`` as JSON."""


def save(module: Module, path) -> None:
    """Write every parameter and buffer of ``module`` to ``path`` (``.npz``), by dotted name.

    Examples
    --------
    >>> import os, tempfile
    >>> from deconvkit.nn import Conv
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> save(Conv(1, 2, 3, rng=0), path)
    >>> sorted(np.load(path))
    ['bias', 'weight']
    """
    if not isinstance(module, Module):
        raise TypeError(f"save needs a Module, got {type(module).__name__}")
    np.savez(os.fspath(path), **module.state_dict())


def load(module: Module, path, strict: bool = True) -> Module:
    """Read parameters and buffers saved by :func:`save` into ``module``; returns it.

    ``ValueError`` names missing or unexpected entries (with ``strict``) and shape
    mismatches. Values are cast to the module's dtypes.
    """
    if not isinstance(module, Module):
        raise TypeError(f"load needs a Module, got {type(module).__name__}")
    with np.load(os.fspath(path), allow_pickle=False) as archive:
        state = {name: archive[name] for name in archive.files if name != MODEL_KEY}
    return module.load_state_dict(state, strict=strict)


def save_model(model, path, *, meta=None, overwrite=False) -> None:
    """Write an FCN's weights, its architecture and ``meta`` to ``path`` (``.npz``, compressed).

    Parameters
    ----------
    model : FCN
        Built by :func:`deconvkit.nn.fcn` (its ``config`` is stored).
    path : str or os.PathLike
        Written as given (no ``.npz`` is appended).
    meta : dict, optional
        JSON-serialisable facts to keep with the weights (how it was trained, what it
        scored); :func:`load_model` returns them.
    overwrite : bool
        An existing file is replaced only when ``True`` (``FileExistsError`` otherwise).
    """
    from .models import FCN

    if not isinstance(model, FCN):
        raise TypeError(f"model must be an FCN built by deconvkit.nn.fcn, got "
                        f"{type(model).__name__}")
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict or None, got {type(meta).__name__}")
    path = os.fspath(path)
    header = json.dumps({"fcn": model.config, "meta": meta or {}}, sort_keys=True)
    arrays = {**model.state_dict(), MODEL_KEY: np.array(header)}
    write_npz(path, arrays, overwrite)


def load_model(path):
    """The FCN saved by :func:`save_model` at ``path``, and its ``meta``.

    Returns
    -------
    model : FCN
        Rebuilt with the stored :func:`~deconvkit.nn.fcn` arguments, weights loaded,
        in evaluation mode.
    meta : dict

    Raises
    ------
    ValueError
        When ``path`` is not a model file (no architecture entry) or its weights do
        not match the architecture.
    """
    from .models import fcn

    path = os.fspath(path)
    with np.load(path, allow_pickle=False) as archive:
        if MODEL_KEY not in archive.files:
            raise ValueError(f"{path} is not a model file written by save_model (no "
                             f"{MODEL_KEY!r} entry; weights alone load with nn.load)")
        header = json.loads(str(archive[MODEL_KEY]))
        state = {name: archive[name] for name in archive.files if name != MODEL_KEY}
    args = dict(header["fcn"])
    args["dtype"] = np.dtype(args.get("dtype", "float32"))
    model = fcn(**args)
    model.load_state_dict(state)
    model.eval()
    return model, header.get("meta", {})
