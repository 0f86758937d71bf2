"""Volumes larger than memory: TIFF stacks and Zarr stores as lazy Dask arrays, and back.

* :func:`open_volume` opens a TIFF stack lazily through tifffile's Zarr interface
  (``tifffile.imread(path, aszarr=True)`` read by ``dask.array.from_zarr``) or a Zarr
  array store with ``dask.array.from_zarr``; NumPy, Dask and Zarr arrays pass through.
  Values are never rescaled here (unlike :func:`deconvkit.images.read_image`).
* :func:`write_volume` writes a Dask array to a ``.zarr`` store (``dask.array.to_zarr``)
  or to a TIFF stack slab by slab (:class:`tifffile.TiffWriter` fed page by page from
  one computed slab of chunks along the first axis at a time, so memory is bounded by
  one slab). Nothing is overwritten unless ``overwrite=True``.

The voxel size travels with the data: ImageJ TIFF ``spacing`` (the first axis of a
stack) and the X/Y ``resolution`` tags (pixels per ``unit``); Zarr attributes
``"voxel_size"`` (one number per axis) and ``"unit"``.

Needs the extra ``pip install 'deconvkit[dask]'`` (dask, zarr, tifffile), imported when
called.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

__all__ = ["open_volume", "write_volume", "volume_format", "check_volume_path",
           "VOLUME_FORMATS", "import_dask"]

VOLUME_FORMATS = {".zarr": "zarr", ".tif": "tiff", ".tiff": "tiff"}
"""Path endings :func:`open_volume` reads and :func:`write_volume` writes."""

_EXTRA = "pip install 'deconvkit[dask]'"


def import_dask(name: str = "dask.array"):
    """Import ``name`` (``dask.array``, ``distributed``, ``zarr``, ``tifffile``...), or
    an ``ImportError`` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"volumes and tiled restoration need {name.split('.')[0]}: "
                          f"{_EXTRA}") from exc


def volume_format(path) -> str:
    """``"zarr"`` or ``"tiff"`` from the path's ending, else a ``ValueError``.

    >>> volume_format("a.zarr"), volume_format("b.TIF")
    ('zarr', 'tiff')
    >>> volume_format("c.png")
    Traceback (most recent call last):
    ...
    ValueError: expected a volume path ending in .zarr, .tif or .tiff, got 'c.png'
    """
    fmt = VOLUME_FORMATS.get(Path(str(path).rstrip("/")).suffix.lower())
    if fmt is None:
        raise ValueError(f"expected a volume path ending in .zarr, .tif or .tiff, got "
                         f"{str(path)!r}")
    return fmt


def check_volume_path(path, overwrite: bool = False) -> Path:
    """``path`` as a ``Path`` if a volume may be written there: a known ending
    (:func:`volume_format`), an existing folder, and nothing there unless ``overwrite``
    (``FileExistsError``)."""
    volume_format(path)
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"expected a volume path in an existing folder, got {str(path)!r}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"would overwrite {str(path)!r}; pass overwrite=True or "
                              "choose another path")
    return path


def open_volume(source, name: str = "g"):
    """A lazy Dask array of a volume, and what is known of it.

    Parameters
    ----------
    source : ndarray, dask array, zarr array, str or Path
        An array, or the path of a TIFF stack (``.tif``/``.tiff``) or a Zarr array
        store (``.zarr``). Files are opened read-only and never modified.
    name : str
        The parameter name used in error messages.

    Returns
    -------
    x : (*shape) dask array
        The stored values as they are (dtype kept). TIFF stacks come in chunks of one
        page, Zarr stores in their own chunks, NumPy arrays as one chunk.
    info : dict
        ``"path"`` (or ``None``), ``"format"`` (``"tiff"``, ``"zarr"`` or ``"array"``),
        ``"voxel_size"`` (a tuple, one number per axis, or ``None``) and ``"unit"``.

    Examples
    --------
    >>> x, info = open_volume(np.zeros((2, 3, 4)))
    >>> x.shape, info["format"], info["voxel_size"]
    ((2, 3, 4), 'array', None)
    """
    da = import_dask("dask.array")
    info = {"path": None, "format": "array", "voxel_size": None, "unit": None}
    if isinstance(source, (str, Path)):
        path = Path(source)
        fmt = volume_format(path)
        if not path.exists():
            raise FileNotFoundError(f"{name}: no such volume {str(path)!r}")
        info.update(path=str(path), format=fmt)
        x, meta = _open_tiff(path, da) if fmt == "tiff" else _open_zarr(path, da)
        info.update(meta)
        return x, info
    if isinstance(source, da.Array):
        return source, info
    if type(source).__module__.startswith("zarr"):
        info.update(_zarr_attrs(source.attrs, source.ndim))
        return da.from_zarr(source), info
    if isinstance(source, (bytes, type(None))):
        raise TypeError(f"{name} must be an array or a volume path, got "
                        f"{type(source).__name__}")
    return da.from_array(np.asarray(source), chunks=-1), info


def _open_tiff(path: Path, da):
    tifffile = import_dask("tifffile")
    try:
        with tifffile.TiffFile(path) as tif:
            meta = _tiff_meta(tif, tif.series[0].ndim)
        store = tifffile.imread(path, aszarr=True)
        return da.from_zarr(store), meta
    except (OSError, ValueError, tifffile.TiffFileError) as exc:
        raise ValueError(f"cannot read {str(path)!r} as a TIFF stack: {exc}") from exc


def _tiff_meta(tif, ndim: int) -> dict:
    """The voxel size of an ImageJ (or resolution-tagged) TIFF, per axis, or ``None``."""
    ij = tif.imagej_metadata or {}
    tags = tif.pages[0].tags
    size = [None] * ndim
    for axis, tag in ((-1, "XResolution"), (-2, "YResolution")):
        if tag in tags and ndim >= -axis:
            num, den = tags[tag].value
            size[axis] = den / num if num else None
    if "spacing" in ij and ndim >= 3:
        size[-3] = float(ij["spacing"])
    known = "unit" in ij or "spacing" in ij
    if not known or any(s is None for s in size[-3:]):
        return {"voxel_size": None, "unit": None}
    return {"voxel_size": tuple(1.0 if s is None else float(s) for s in size),
            "unit": ij.get("unit")}


def _open_zarr(path: Path, da):
    zarr = import_dask("zarr")
    try:
        z = zarr.open_array(str(path), mode="r")
    except Exception as exc:  # zarr's own errors for a group or a broken store
        raise ValueError(f"cannot read {str(path)!r} as a Zarr array: {exc}") from exc
    return da.from_zarr(z), _zarr_attrs(z.attrs, z.ndim)


def _zarr_attrs(attrs, ndim: int) -> dict:
    size = attrs.get("voxel_size")
    ok = isinstance(size, (list, tuple)) and len(size) == ndim
    return {"voxel_size": tuple(float(s) for s in size) if ok else None,
            "unit": attrs.get("unit") if ok else None}


def write_volume(path, x, *, voxel_size=None, unit=None, overwrite=False, compute=None):
    """Write a (Dask) array to a ``.zarr`` store or a TIFF stack, chunk by chunk.

    Parameters
    ----------
    path : str or Path
        Ending in ``.zarr``, ``.tif`` or ``.tiff``; its folder must exist.
    x : (*shape) dask array or array_like
        Computed here, one chunk (Zarr) or one slab of chunks along axis 0 (TIFF) at a
        time. Floats go to TIFF as float32 (as :func:`deconvkit.images.write_image`);
        Zarr keeps the dtype.
    voxel_size : sequence of float, optional
        One number per axis, stored as Zarr attributes or ImageJ ``spacing`` (axis -3)
        and X/Y ``resolution`` (axes -1, -2; 2-d and 3-d TIFF only).
    unit : str, optional
        The unit of ``voxel_size`` (e.g. ``"um"``).
    overwrite : bool
        Replace an existing file or store; otherwise ``FileExistsError``.
    compute : callable, optional
        ``compute(*collections) -> results``, e.g. a scheduler of
        :func:`deconvkit.restoration.tiled`; default ``dask.compute``.

    Returns
    -------
    info : dict
        ``"path"``, ``"format"``, ``"shape"``, ``"dtype"`` stored, ``"voxel_size"``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "v.zarr")
    >>> info = write_volume(path, np.ones((2, 3, 4)), voxel_size=(2.0, 0.5, 0.5))
    >>> y, meta = open_volume(path)
    >>> float(y.sum().compute()), meta["voxel_size"]
    (24.0, (2.0, 0.5, 0.5))
    """
    da = import_dask("dask.array")
    fmt = volume_format(path)
    path = check_volume_path(path, overwrite)
    x = x if isinstance(x, da.Array) else da.from_array(np.asarray(x), chunks="auto")
    if voxel_size is not None:
        voxel_size = tuple(float(v) for v in voxel_size)
        if len(voxel_size) != x.ndim or not all(math.isfinite(v) and v > 0
                                                for v in voxel_size):
            raise ValueError(f"voxel_size must be {x.ndim} finite numbers > 0, got "
                             f"{voxel_size!r}")
    compute = compute or import_dask("dask").compute
    if path.exists():   # overwrite=True: replace, never merge into an old store
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    if fmt == "zarr":
        stored = _write_zarr(path, x, voxel_size, unit, compute, da)
    else:
        stored = _write_tiff(path, x, voxel_size, unit, compute)
    return {"path": str(path), "format": fmt, "shape": x.shape, "dtype": str(stored),
            "voxel_size": voxel_size}


def _write_zarr(path, x, voxel_size, unit, compute, da):
    zarr = import_dask("zarr")
    x = x.rechunk({i: "auto" for i in range(x.ndim)}) if _irregular(x) else x
    z = zarr.open_array(str(path), mode="w", shape=x.shape, dtype=x.dtype,
                        chunks=tuple(c[0] for c in x.chunks))
    for group in _block_groups(x):
        compute(*[da.store(x.blocks[b], z, regions=_region(x, b), lock=False, compute=False)
                  for b in group])
    if voxel_size is not None:
        z.attrs.update({"voxel_size": list(voxel_size), "unit": unit})
    return x.dtype


BLOCKS_AT_ONCE = 4
"""Output blocks computed per step when writing: memory holds their neighbourhoods (a
block and its halo's source chunks), not the whole graph's, whatever Dask's ordering."""


def _block_groups(x, size=BLOCKS_AT_ONCE):
    """The block indices of ``x`` in C order, ``size`` at a time."""
    blocks = list(np.ndindex(*x.numblocks))
    return [blocks[i:i + size] for i in range(0, len(blocks), size)]


def _region(x, block):
    """The slices of ``x`` that block index ``block`` covers."""
    starts = [sum(c[:i]) for c, i in zip(x.chunks, block)]
    return tuple(slice(a, a + c[i]) for a, c, i in zip(starts, x.chunks, block))


def _irregular(x) -> bool:
    """Whether ``x`` has chunks Zarr cannot store (unequal except the last)."""
    return any(len(set(c[:-1])) > 1 or (len(c) > 1 and c[-1] > c[0]) for c in x.chunks)


def _write_tiff(path, x, voxel_size, unit, compute):
    tifffile = import_dask("tifffile")
    dtype = np.dtype(np.float32) if x.dtype.kind == "f" else x.dtype
    imagej = x.ndim in (2, 3) and dtype in (np.uint8, np.uint16, np.float32)
    kwargs = {}
    if voxel_size is not None and imagej:
        kwargs["resolution"] = (1 / voxel_size[-1], 1 / voxel_size[-2])
        kwargs["metadata"] = {"unit": unit or "pixel", "axes": "ZYX"[-x.ndim:]}
        if x.ndim == 3:
            kwargs["metadata"]["spacing"] = voxel_size[0]
    elif imagej:
        kwargs["metadata"] = {"axes": "ZYX"[-x.ndim:]}
    big = x.size * dtype.itemsize > 2**31
    with tifffile.TiffWriter(path, imagej=imagej and not big, bigtiff=big) as tif:
        tif.write(_pages(x, dtype, compute), shape=x.shape, dtype=dtype,
                  photometric="minisblack", **kwargs)
    return dtype


def _pages(x, dtype, compute):
    """The 2-d pages of ``x`` in order, one slab of chunks along axis 0 at a time, each
    slab computed a few blocks at a time (a 2-d array is one page)."""
    if x.ndim == 2:
        yield np.asarray(compute(x)[0], dtype=dtype)
        return
    start = 0
    for size in x.chunks[0]:
        part = x[start:start + size]
        slab = np.empty(part.shape, dtype)
        for group in _block_groups(part):
            for b, value in zip(group, compute(*[part.blocks[b] for b in group])):
                slab[_region(part, b)] = value
        start += size
        yield from slab.reshape((-1,) + slab.shape[-2:])
