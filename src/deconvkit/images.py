"""Reading and writing images for restoration: PNG, TIFF (stacks too), any imageio format.

* :func:`read_image` gives floats: 8-bit and 16-bit (any integer) images are divided by
  their dtype's largest value, so they lie in [0, 1]; float images are kept as they are
  (float32 stays float32). The ``info`` it returns says which scale was used.
* :func:`write_image` writes TIFF as float32 values as they are, and PNG as 8-bit or
  16-bit integers, clipping to the range only then and counting what it clipped.
  Nothing is overwritten unless ``overwrite=True``.

Colour images are read channels-last, ``(H, W, 3)`` or ``(H, W, 4)``; ``info["channel_axis"]``
is then ``-1`` (``None`` for grayscale images and stacks), as in scikit-image. What to do with
the channels is the caller's choice: ``deconvkit restore`` restores each colour channel
separately and copies an alpha channel unchanged.

Needs imageio and tifffile (``pip install 'deconvkit[restore]'``), imported when called.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._files import write_file

__all__ = ["read_image", "write_image", "write_format", "WRITE_FORMATS", "PNG_BITS"]

WRITE_FORMATS = {".tif": "tiff", ".tiff": "tiff", ".png": "png"}
"""File extensions :func:`write_image` writes, and their formats."""

PNG_BITS = (8, 16)
"""Bit depths of PNG files: 16 for grayscale by default, 8 for colour (Pillow writes colour
PNG with 8 bits only)."""

_EXTRA = "pip install 'deconvkit[restore]'"


def _import(name: str):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"image files need {name.split('.')[0]}: {_EXTRA}") from exc


def _is_tiff(path: Path) -> bool:
    return path.suffix.lower() in (".tif", ".tiff")


def _read_tiff(path: Path):
    """A TIFF file's pages, samples (colour) last, and its channel axis.

    One series is read as it is; several series of one shape and dtype (pages written
    one by one) are stacked on a new first axis; otherwise the first series is read.
    """
    tifffile = _import("tifffile")
    with tifffile.TiffFile(path) as tif:
        series = tif.series
        array, axes = series[0].asarray(), series[0].axes
        if len(series) > 1 and all(s.shape == series[0].shape and s.dtype == series[0].dtype
                                   for s in series):
            array, axes = np.stack([array] + [s.asarray() for s in series[1:]]), "Q" + axes
    if "S" in axes and array.ndim == len(axes):
        return np.moveaxis(array, axes.index("S"), -1), -1
    return array, None


def _read_other(path: Path):
    """Any format imageio reads; a last axis of 2 to 4 on a 3-d or larger array is colour."""
    array = np.asarray(_import("imageio.v3").imread(path))
    colour = array.ndim >= 3 and 2 <= array.shape[-1] <= 4
    return array, (-1 if colour else None)


def _as_float(array: np.ndarray):
    """``array`` as floats and the scale used: integers divided by their dtype's max."""
    kind = array.dtype.kind
    if kind == "f":
        return array, 1.0
    if kind == "b":
        return array.astype(np.float64), 1.0
    if kind in "ui":
        top = np.iinfo(array.dtype).max
        return array.astype(np.float64) / top, 1.0 / top
    raise ValueError(f"expected an image of integers or real numbers, got dtype {array.dtype}")


def read_image(path):
    """Read an image file as floats.

    Parameters
    ----------
    path : str or Path
        A TIFF file (``.tif``, ``.tiff``; read with tifffile, every page: a multi-page
        stack is an N-d array, pages first) or any file imageio reads (PNG, JPEG, ...).

    Returns
    -------
    image : (*shape) or (*shape, channels) ndarray
        float64 in [0, 1] for integer images (the stored values times ``info["scale"]``);
        float images as they are stored (float32 stays float32). Colour is the last axis.
    info : dict
        ``"path"``; ``"format"`` (the file's extension, lower case, without the dot);
        ``"dtype"``, the stored dtype (``"uint8"``); ``"scale"``, what the stored values
        were multiplied by (``1/255`` for 8 bits, ``1/65535`` for 16 bits, ``1.0`` for
        floats and booleans); ``"shape"``; ``"channel_axis"``, ``-1`` for colour images and
        ``None`` otherwise.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file cannot be read as an image, holds no pixels, or is complex-valued.

    Examples
    --------
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> info = write_image(os.path.join(folder, "a.png"), np.array([[0, 1.0]]), bits=8)
    >>> image, info = read_image(os.path.join(folder, "a.png"))
    >>> image, info["dtype"], info["scale"] == 1 / 255
    (array([[0., 1.]]), 'uint8', True)
    """
    path = Path(path)
    if not path.is_file():
        what = "a folder" if path.is_dir() else "no such file"
        raise FileNotFoundError(f"expected an image file, got {str(path)!r} ({what})")
    try:
        stored, channel_axis = _read_tiff(path) if _is_tiff(path) else _read_other(path)
    except ImportError:
        raise
    except Exception as exc:  # every backend has its own errors for a file it cannot decode
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"cannot read {str(path)!r} as an image: {message}") from exc
    if stored.size == 0:
        raise ValueError(f"expected an image with pixels, got {str(path)!r} of shape "
                         f"{stored.shape}")
    image, scale = _as_float(stored)
    info = {"path": str(path), "format": path.suffix.lower().lstrip("."),
            "dtype": str(stored.dtype), "scale": scale, "shape": stored.shape,
            "channel_axis": channel_axis}
    return image, info


def write_format(path) -> str:
    """The format :func:`write_image` writes ``path`` in: ``"tiff"`` or ``"png"``.

    Raises ``ValueError`` for any other extension, naming the ones it writes.

    >>> write_format("out.TIF"), write_format("out.png")
    ('tiff', 'png')
    >>> write_format("out.jpg")
    Traceback (most recent call last):
    ...
    ValueError: expected an image path ending in .tif, .tiff or .png, got 'out.jpg'
    """
    fmt = WRITE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"expected an image path ending in .tif, .tiff or .png, got "
                         f"{str(path)!r}")
    return fmt


def _check_array(array) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind not in "buif":
        raise TypeError(f"expected an array of real numbers, got dtype {array.dtype}")
    if array.ndim < 2 or array.size == 0:
        raise ValueError(f"expected an image with pixels on at least 2 axes, got shape "
                         f"{array.shape}")
    return array


def _is_colour(array: np.ndarray) -> bool:
    return array.ndim == 3 and 2 <= array.shape[-1] <= 4


def _encode_tiff(array: np.ndarray, scale):
    """TIFF bytes: floats as float32 (divided by ``scale`` if given), integers unchanged."""
    if array.dtype.kind == "f":
        stored = (array if scale is None else array / scale).astype(np.float32)
    elif scale is not None:
        raise ValueError(f"scale applies to float arrays, got scale={scale!r} for dtype "
                         f"{array.dtype}")
    else:
        stored = array
    photometric = "rgb" if array.ndim == 3 and array.shape[-1] in (3, 4) else "minisblack"
    import io

    buffer = io.BytesIO()
    _import("tifffile").imwrite(buffer, stored, photometric=photometric)
    info = {"format": "tiff", "dtype": str(stored.dtype), "bits": 8 * stored.itemsize,
            "scale": 1.0 if scale is None else float(scale), "clipped": 0}
    return buffer.getvalue(), info


def _png_bits(array: np.ndarray, bits) -> int:
    if array.ndim != 2 and not _is_colour(array):
        raise ValueError(f"expected a PNG image of shape (H, W) or (H, W, 2|3|4), got shape "
                         f"{array.shape}; write a .tif for stacks")
    if array.dtype.kind in "ui" and array.dtype.itemsize * 8 in PNG_BITS:
        default = array.dtype.itemsize * 8
    else:
        default = 8 if _is_colour(array) else 16
    bits = default if bits is None else bits
    if bits not in PNG_BITS:
        raise ValueError(f"bits: expected 8 or 16, got {bits!r}")
    if bits == 16 and _is_colour(array):
        raise ValueError("bits: expected 8 for a colour PNG (16-bit colour PNG is not "
                         "supported), got 16; write a .tif to keep the values")
    return bits


def _quantize(array: np.ndarray, bits: int, scale):
    """``array / scale`` rounded to ``bits``-bit integers, clipped: (stored, scale, clipped)."""
    if array.dtype.kind in "ui" and array.dtype.itemsize * 8 == bits:
        if scale is not None:
            raise ValueError(f"scale applies to float arrays, got scale={scale!r} for dtype "
                             f"{array.dtype}")
        return array, 1.0, 0
    if array.dtype.kind != "f":
        raise TypeError(f"expected a float, uint8 or uint16 array for a {bits}-bit PNG, got "
                        f"dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError("expected finite values for a PNG, got NaN or infinity; write a .tif")
    top = 2**bits - 1
    scale = 1.0 / top if scale is None else float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale: expected a finite number > 0, got {scale!r}")
    values = array / scale
    clipped = int(np.count_nonzero((values < 0) | (values > top)))
    stored = np.rint(np.clip(values, 0, top)).astype(np.uint8 if bits == 8 else np.uint16)
    return stored, scale, clipped


def _encode_png(array: np.ndarray, scale, bits):
    bits = _png_bits(array, bits)
    stored, scale, clipped = _quantize(array, bits, scale)
    data = _import("imageio.v3").imwrite("<bytes>", stored, extension=".png")
    info = {"format": "png", "dtype": str(stored.dtype), "bits": bits, "scale": scale,
            "clipped": clipped}
    return data, info


def write_image(path, array, *, overwrite=False, scale=None, bits=None):
    """Write an image file; never replace one unless ``overwrite=True``.

    Parameters
    ----------
    path : str or Path
        Ending in ``.tif``/``.tiff`` or ``.png`` (:func:`write_format`).
    array : (*shape) or (H, W, channels) array_like
        Real numbers on 2 or more axes, not empty; never modified. Colour is the last axis.
    overwrite : bool
        Replace an existing file. Otherwise an existing file is left untouched.
    scale : float, optional
        The value of one stored unit: the file stores ``array / scale``, and
        :func:`read_image` gives back the stored values times ``scale``. Default: ``1``
        for TIFF (values as they are) and ``1 / (2**bits - 1)`` for PNG, so [0, 1] maps
        to the full integer range. Only for float arrays.
    bits : {8, 16}, optional
        PNG only. Default 16 for grayscale (a restored image keeps detail finer than
        1/255), 8 for colour (the only depth the PNG writer has for colour); the dtype's
        bits for a uint8 or uint16 array, which is written as it is.

    Returns
    -------
    info : dict
        ``"path"``, ``"format"`` (``"tiff"`` or ``"png"``), ``"dtype"`` and ``"bits"``
        stored, ``"scale"`` used, and ``"clipped"``: how many values fell outside
        ``[0, 2**bits - 1]`` after scaling and were clipped (PNG only; TIFF never clips).

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is false.
    ValueError
        An extension other than .tif/.tiff/.png, an empty or 1-d array, a shape PNG cannot hold,
        NaN or infinity for PNG, or a bad ``bits`` or ``scale``.
    TypeError
        A dtype that cannot be written (complex, object; integers other than uint8 and
        uint16 for PNG).

    Notes
    -----
    TIFF stores floats as float32, whatever their precision, without clipping or
    rounding; integer arrays keep their dtype. A 3-d array whose last axis is 3 or 4 is
    written as RGB(A); other arrays as grayscale pages. PNG stores
    ``round(clip(array / scale, 0, 2**bits - 1))``: clipping happens only here.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.png")
    >>> info = write_image(path, np.array([[-0.5, 0.5, 1.0]]))
    >>> info["bits"], info["scale"] == 1 / 65535, info["clipped"]
    (16, True, 1)
    >>> write_image(path, np.zeros((2, 2)))
    Traceback (most recent call last):
    ...
    FileExistsError: would overwrite '...x.png'; pass overwrite=True or choose another path
    """
    fmt = write_format(path)
    array = _check_array(array)
    path = Path(path)
    if path.exists() and not overwrite:
        raise _exists(path)
    if fmt == "png":
        data, info = _encode_png(array, scale, bits)
    else:
        if bits is not None:
            raise ValueError(f"bits: applies to PNG files, got bits={bits!r} for {str(path)!r}")
        data, info = _encode_tiff(array, scale)
    write_file(path, lambda file: file.write(data), overwrite=overwrite,
               exists_error=lambda: _exists(path))
    return {"path": str(path), **info}


def _exists(path: Path) -> FileExistsError:
    return FileExistsError(f"would overwrite {str(path)!r}; pass overwrite=True or choose "
                           "another path")
