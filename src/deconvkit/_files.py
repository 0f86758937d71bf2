"""Writing a file whole or not at all, and never over an existing file by surprise.

:func:`write_file` writes models, filters, images and the pictures drawn in memory
(``predict``, ``sparse learn``, ``restore --demo``): the bytes go to a temporary file
beside ``path``, which is then moved onto ``path`` in one step. A failed write leaves an
existing ``path`` as it was and no temporary behind. Without ``overwrite`` the move is a
hard link, which the operating system refuses when ``path`` exists — even when it
appeared after the first check.
"""

from __future__ import annotations

import os
import secrets

import numpy as np


def write_file(path, write, *, overwrite, exists_error):
    """Write ``path`` by calling ``write(file)`` on a binary file object.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write, exactly as given.
    write : callable
        ``write(file)`` writes the whole contents.
    overwrite : bool
        Replace an existing ``path`` only when ``True``.
    exists_error : callable
        ``exists_error()`` gives the exception raised when ``path`` exists and
        ``overwrite`` is ``False`` (checked before any work and again at the move).

    Notes
    -----
    The file gets the permissions a plain ``open(path, "wb")`` would give (``0o666``
    less the umask). Where the file system has no hard links, the refusal falls back
    to a check just before the move.
    """
    path = os.fspath(path)
    if not isinstance(overwrite, (bool, np.bool_)):
        raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
    if not overwrite and os.path.lexists(path):
        raise exists_error()
    temporary, fd = _create_beside(path)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
        if overwrite:
            os.replace(temporary, path)
        else:
            _move_refusing(temporary, path, exists_error)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def write_npz(path, arrays, overwrite):
    """``np.savez_compressed(**arrays)`` at exactly ``path`` with :func:`write_file`;
    ``FileExistsError`` for an existing file unless ``overwrite``."""
    write_file(path, lambda file: np.savez_compressed(file, **arrays), overwrite=overwrite,
               exists_error=lambda: FileExistsError(
                   f"{os.fspath(path)} exists; pass overwrite=True to replace it"))


def _create_beside(path):
    folder, name = os.path.split(os.path.abspath(path))
    for _ in range(100):
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:   # mode 0o666: the umask applies, as for open(path, "wb")
            return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def _move_refusing(temporary, path, exists_error):
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise exists_error() from None
    except OSError:   # no hard links on this file system
        if os.path.lexists(path):
            raise exists_error() from None
        os.replace(temporary, path)
