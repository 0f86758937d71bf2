"""Save and load a module's parameters and buffers as a NumPy ``.npz`` archive."""

from __future__ import annotations

import os

import numpy as np

from .module import Module

__all__ = ["save", "load"]


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
        state = {name: archive[name] for name in archive.files}
    return module.load_state_dict(state, strict=strict)
