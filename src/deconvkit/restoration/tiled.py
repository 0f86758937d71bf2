"""Restoration of volumes larger than memory: the methods run chunk by chunk on Dask.

Dask does the tiling (``dask.array.map_overlap``), the scheduling and the distribution
(``dask.distributed``); this module supplies the halo rule and the per-chunk function
(:mod:`._tiling`). Needs ``pip install 'deconvkit[dask]'``, imported when called.
"""

from __future__ import annotations

import logging

from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

from .._checks import describe, per_axis
from ..volumes import check_volume_path, import_dask, open_volume, write_volume
from ._common import check_flag
from ._tiling import ITERATIVE, fixed_parameters, halo, restore_block
from .methods import METHODS, method_name
from .psf import as_psf

__all__ = ["tiled", "SCHEDULERS", "CHUNK_BYTES"]

SCHEDULERS = ("threads", "processes", "synchronous", "distributed")
"""Scheduler names ``tiled`` takes (also ``"distributed:ADDRESS"`` or a Client)."""

CHUNK_BYTES = 8 * 2**20
"""Default chunk size in bytes (of the float64 or float32 result), before the halo."""


def tiled(g, psf, method="regularized", *, chunks=None, depth=None, out=None,
          overwrite=False, scheduler=None, progress=False, full_output=False, **options):
    """Restore a volume of any size chunk by chunk with Dask; lazy, or written to ``out``.

    Parameters
    ----------
    g : (*shape) ndarray, dask array, zarr array, str or Path
        The observation, or the path of a TIFF stack or a Zarr array store (opened
        lazily, read-only: :func:`deconvkit.volumes.open_volume`).
    psf : (*k) ndarray
        The PSF (centre ``k // 2``), at most ``g.ndim`` axes, normalised to sum 1.
    method : str
        One of :data:`deconvkit.restoration.METHODS` (``"rl"`` too).
    chunks : int or sequence of int, optional
        Chunk shape (one int per axis). Default: whole along every axis shorter than
        4 halos, blocks of about :data:`CHUNK_BYTES` otherwise. An axis whose chunks
        are smaller than the halo is rechunked to at least twice the halo.
    depth : int or sequence of int >= 0, optional
        The halo per axis; default: the rule of Notes.
    out : str or Path, optional
        A ``.zarr``, ``.tif`` or ``.tiff`` path: the result is computed and written
        there chunk by chunk (TIFF: slab by slab along axis 0) with ``g``'s voxel size.
    overwrite : bool
        Replace an existing ``out``; otherwise ``FileExistsError`` before any work.
    scheduler : None, str or distributed.Client
        ``None`` (Dask's default, threads), ``"threads"``, ``"processes"``,
        ``"synchronous"``, ``"distributed"`` (a LocalCluster of 2 single-thread workers on
        127.0.0.1 for this call), ``"distributed:ADDRESS"`` or a ``Client``: runs what this call computes
        (the parameters and, with ``out``, the result). A lazy result is computed by
        the caller, with any scheduler.
    progress : bool
        Dask's progress bar (``dask.diagnostics.ProgressBar``; ``distributed.progress``)
        while ``out`` is written.
    full_output : bool
        Also return ``info``: ``method``, ``depth``, ``chunks``, ``parameters_from``
        (``"given"``, ``"whole volume"`` or ``"central block of shape ..."``), the fixed
        ``options``, ``halo_capped``, ``out``.
    **options
        The method's options (``boundary``, ``lam``, ``noise``, ``nsr``,
        ``iterations``...), the same for every chunk.

    Returns
    -------
    f : (*shape) dask array
        float32 for float32 ``g``, else float64. Lazy without ``out``; with ``out``, the
        written file opened again lazily (:func:`deconvkit.volumes.open_volume`: float32
        for TIFF).
    info : dict
        Only with ``full_output``.

    Notes
    -----
    Each chunk is restored with its halo and trimmed (``map_overlap(..., trim=True,
    boundary="none")``): at the volume's own outer edges the method applies its own
    ``boundary`` model, as it does on the whole volume, and Dask adds no reflection.

    Parameters a method chooses from the data (``regularized``'s and ``tikhonov``'s
    ``lam`` and ``noise``, ``wiener``'s fitted spectrum when ``nsr=None``,
    Richardson-Lucy's ``eps``) are chosen once, on the whole volume when it takes at
    most 256 MiB in float64, else on its central block of at most 64 MiB, and given to
    every chunk; iteration counts are the same for every chunk. No chunk rescales its
    data.

    The halo rule (:mod:`deconvkit.restoration._tiling`): for linear methods the reach
    of the restoration filter's impulse response to 1e-7 of its peak plus the PSF
    half-width (measured: tiled results within 1e-7 of the whole volume's away from its
    borders for small PSFs); for Richardson-Lucy and Landweber ``ceil(0.6 *
    sqrt(iterations) * (k // 2))``, capped by the exact light cone ``2 * iterations *
    (k // 2)``, an approximation (measured: about 1e-4 relative at 30 iterations on
    smooth data). ``boundary="periodic"`` wraps each chunk, not the volume: prefer
    another boundary. Do not chunk along a long PSF axis (z in wide-field microscopy):
    its halo is large; the default keeps such an axis whole.

    Examples
    --------
    >>> import numpy as np
    >>> from deconvkit.restoration import gaussian, regularized
    >>> g = np.random.default_rng(0).random((8, 64, 64))
    >>> f = tiled(g, gaussian(1.0, ndim=3), lam=1e-2, noise=0.01, boundary="reflect",
    ...           chunks=(8, 32, 32))
    >>> f.chunks, f.dtype
    (((8,), (32, 32), (32, 32)), dtype('float64'))
    >>> whole = regularized(g, gaussian(1.0, ndim=3), 1e-2, 0.01, boundary="reflect")
    >>> inner = (slice(None), slice(24, -24), slice(24, -24))   # away from g's borders
    >>> bool(np.abs(f.compute() - whole)[inner].max() < 1e-6)
    True
    """
    import_dask("dask.array")   # a clear error if Dask is missing
    name = method_name(method)
    x, meta = open_volume(g)
    psf = as_psf(psf, ndim=x.ndim)
    options.pop("full_output", None)
    full_output = check_flag(full_output, "full_output")
    check_flag(progress, "progress")
    if out is not None:
        _check_out(out, g, overwrite)
    dtype = np.dtype(np.float32 if x.dtype == np.float32 else np.float64)
    with _scheduler(scheduler) as compute:
        _check_options(name, psf, dtype, options)
        fixed, spectrum, where = fixed_parameters(x, psf, name, options, compute)
        rule = {**fixed, "spectrum": spectrum} if spectrum else fixed
        depth, capped = _depth(depth, x.ndim, psf, name, rule, x.shape)
        x = _rechunk(x, chunks, depth, dtype)
        f = x.map_overlap(restore_block, depth=depth, boundary="none", trim=True,
                          dtype=dtype, meta=np.empty((0,) * x.ndim, dtype), psf=psf,
                          method=name, options=fixed, spectrum=spectrum)
        info = {"method": name, "depth": depth, "chunks": f.chunks, "parameters_from": where,
                "options": fixed, "spectrum": spectrum, "halo_capped": capped, "out": None}
        if out is not None:
            written = write_volume(out, f, voxel_size=meta["voxel_size"], unit=meta["unit"],
                                   overwrite=overwrite, compute=_shown(compute, progress))
            f, info["out"] = open_volume(out)[0], written
    return (f, info) if full_output else f


def _check_out(out, g, overwrite):
    """``out`` writable, and not the input itself (read while it is rewritten)."""
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out must be a .zarr, .tif or .tiff path, got {describe(out)}")
    check_volume_path(out, overwrite)
    if isinstance(g, (str, Path)) and Path(g).resolve() == Path(out).resolve():
        raise ValueError(f"out must differ from the input g, got {str(out)!r} for both")


def _check_options(name, psf, dtype, options):
    """The method's options, checked once on a tiny volume (not in every chunk)."""
    options.pop("progress", None)
    if "boundary" in options and options["boundary"] is None:
        del options["boundary"]
    if name == "wiener" and np.ndim(options.get("nsr", 0)) != 0:
        raise ValueError("nsr must be a number or None for tiled restoration (an array "
                         "is tied to one grid)")
    probe = dict(options)
    if name in ITERATIVE + ("tikhonov",):
        probe["iterations"] = 1
    key = {"regularized": "lam", "tikhonov": "lam", "wiener": "nsr"}.get(name)
    if key is not None and probe.get(key) is None:
        probe[key] = 1.0
    METHODS[name](np.zeros(tuple(2 * k + 1 for k in psf.shape), dtype), psf, **probe)


def _depth(depth, ndim, psf, name, options, shape):
    if depth is None:
        return halo(psf, name, options, shape)
    return per_axis(depth, ndim, "depth", 0), False


def _rechunk(x, chunks, depth, dtype):
    """``x`` in the chunks asked for (or the default), every chunk at least the halo."""
    if chunks is None:
        spec = {a: (-1 if n < 4 * d else "auto") for a, (n, d) in
                enumerate(zip(x.shape, depth))}
        limit = CHUNK_BYTES * x.dtype.itemsize // dtype.itemsize
        x = x.rechunk(spec, block_size_limit=max(limit, 1))
    else:
        x = x.rechunk(per_axis(chunks, x.ndim, "chunks", 1))
    small = {a: min(n, max(max(c), 2 * d)) for a, (c, n, d) in
             enumerate(zip(x.chunks, x.shape, depth)) if d and min(c) < d}
    return x.rechunk(small) if small else x


@contextmanager
def _scheduler(scheduler):
    """``compute(*collections, progress=False) -> results`` on ``scheduler``."""
    dask = import_dask("dask")
    if scheduler is None or (isinstance(scheduler, str) and scheduler in SCHEDULERS[:3]):
        def compute(*collections, progress=False):
            from dask.diagnostics import ProgressBar
            with ProgressBar() if progress else nullcontext():
                return dask.compute(*collections, scheduler=scheduler)
        yield compute
        return
    with _client(scheduler) as client:
        def compute(*collections, progress=False):
            futures = client.compute(list(collections))
            if progress:
                import_dask("distributed").progress(futures)
            return client.gather(futures)
        yield compute


@contextmanager
def _client(scheduler):
    """The ``distributed.Client`` of ``scheduler``; one this call starts is closed."""
    expected = (f"scheduler must be None, one of {', '.join(SCHEDULERS)}, "
                "'distributed:ADDRESS' or a distributed.Client")
    if not isinstance(scheduler, str):
        distributed = import_dask("distributed")
        if not isinstance(scheduler, distributed.Client):
            raise TypeError(f"{expected}, got {describe(scheduler)}")
        yield scheduler
        return
    head, sep, address = scheduler.partition(":")
    if head != "distributed" or (sep and not address):
        raise ValueError(f"{expected}, got {scheduler!r}")
    distributed = import_dask("distributed")
    if address:
        with distributed.Client(address) as client:
            yield client
        return
    # threads in this process, over TCP on loopback (the in-process transport refuses a
    # host; worker processes need a working nanny): "distributed:ADDRESS" for more.
    # Its HTTP servers too on loopback, any free port (None still opens port 8787)
    # (task errors reach the caller as exceptions; the cluster's own logs are silenced,
    # or closing it after a progress bar logs the bar's cancelled feed as an error)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.CRITICAL) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _shown(compute, progress):
    return lambda *collections: compute(*collections, progress=progress)
