"""What every subcommand shares: the parser class, argument types and output."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from .._checks import MAX_INT  # the largest integer any option takes, as in the library

__all__ = ["EXIT_USAGE", "MAX_INT", "Parser", "parse_sizes", "parse_ints",
           "parse_output_padding", "parse_padding", "parse_weights", "positive_int",
           "nonnegative_int", "thread_count", "positive_float", "seconds", "MAX_SECONDS",
           "check_output_path", "write"]

EXIT_USAGE = 2

MAX_SECONDS = 60.0
"""Longest timing block (``bench --block-time``): a block's timings are kept in memory."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int(text: str, what: str = "", minimum: int = 1) -> int:
    """``text`` as an int from ``minimum`` to :data:`MAX_INT`, or a usage error."""
    try:
        value = int(text)
    except ValueError:  # also for more digits than Python converts
        value = None
    if value is None or not minimum <= value <= MAX_INT:
        noun = f"an integer {what}" if what else "an integer"
        raise argparse.ArgumentTypeError(
            f"expected {noun} from {minimum} to {MAX_INT}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An int from 1 to :data:`MAX_INT` (counts, sizes).

    >>> positive_int("5")
    5
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer from 1 to 2147483647, got '0'
    """
    return _int(text, minimum=1)


def nonnegative_int(text: str) -> int:
    """An int from 0 to :data:`MAX_INT` (seeds).

    >>> nonnegative_int("0")
    0
    """
    return _int(text, minimum=0)


def thread_count(text: str) -> int:
    """A number of threads, from 1 to :data:`MAX_INT`.

    >>> thread_count("2")
    2
    """
    return _int(text, "number of threads", 1)


def _float(text: str):
    try:
        return float(text)
    except ValueError:
        return math.nan


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates).

    >>> positive_float("0.5")
    0.5
    >>> positive_float("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a finite number > 0, got 'nan'
    """
    value = _float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A duration from 0 to :data:`MAX_SECONDS` seconds (0: as short as possible).

    >>> seconds("0"), seconds("0.5")
    (0.0, 0.5)
    >>> seconds("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a number of seconds from 0 to 60, got '-1'
    """
    value = _float(text)
    if not 0 <= value <= MAX_SECONDS:  # also false for NaN
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds from 0 to {MAX_SECONDS:g}, got {text!r}")
    return value


def _split(text: str) -> list[str]:
    sep = "x" if "x" in text.lower() else ","
    parts = [p.strip() for p in text.lower().split(sep)]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"expected sizes like 5, 4x4 or 3x3x3, got {text!r}")
    return parts


def parse_sizes(text: str, minimum: int = 1) -> tuple[int, ...]:
    """``"4x4"`` (or ``"4,4"``) as ``(4, 4)``; ``"5"`` as ``(5,)``.

    Every size is an int from ``minimum`` to :data:`MAX_INT`.

    >>> parse_sizes("3x3x3"), parse_sizes("5")
    ((3, 3, 3), (5,))
    >>> parse_sizes("4x0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer size from 1 to 2147483647, got '0'
    """
    return _ints(text, "size", minimum)


def _ints(text: str, what: str, minimum: int) -> tuple[int, ...]:
    return tuple(_int(p, what, minimum) for p in _split(text))


def parse_ints(text: str, minimum: int = 1):
    """One int for every axis (``"2"`` -> ``2``) or one per axis (``"2x1"`` -> ``(2, 1)``).

    Each an int from ``minimum`` to :data:`MAX_INT` (kernel sizes, strides, dilations).

    >>> parse_ints("2"), parse_ints("2x1")
    (2, (2, 1))
    """
    values = _ints(text, "", minimum)
    return values[0] if len(values) == 1 else values


def parse_output_padding(text: str):
    """Like :func:`parse_ints`, from 0: ``"0"`` or ``"1x0"``.

    >>> parse_output_padding("0"), parse_output_padding("1x0")
    (0, (1, 0))
    """
    return parse_ints(text, 0)


def parse_padding(text: str, minimum: int = 0):
    """Padding: ``"1"``, ``"same"``, ``"valid"``, per axis ``"1,0"``, or pairs ``"1:0,0:1"``.

    Every amount is an int from ``minimum`` to :data:`MAX_INT`.

    >>> parse_padding("same"), parse_padding("1"), parse_padding("1,0"), parse_padding("1:0,0:1")
    ('same', 1, (1, 0), ((1, 0), (0, 1)))
    >>> parse_padding("2:1")
    ((2, 1),)
    """
    word = text.strip().lower()
    if word in ("same", "valid"):
        return word
    try:
        if ":" not in word:
            return parse_ints(word, minimum)
        pairs = []
        for item in word.split(","):
            lo, sep, hi = item.partition(":")
            pairs.append((_int(lo, "", minimum), _int(hi, "", minimum)) if sep
                         else _int(lo, "", minimum))
        return tuple(pairs)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected padding like 1, same, valid, 1,0 or 1:0,0:1 (integers from {minimum} "
            f"to {MAX_INT}), got {text!r}") from None


def parse_weights(text: str) -> tuple[float, ...]:
    """Kernel values in C order, separated by commas or spaces: ``"0,1,2"``.

    >>> parse_weights("0, 1 2.5")
    (0.0, 1.0, 2.5)
    """
    parts = text.replace(",", " ").split()
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = (math.nan,)
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers like 0,1,2, got {text!r}")
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def check_output_path(path, option: str, *, overwrite: bool = False,
                      make_parents: bool = False) -> Path:
    """Check, before any work, that a file can be written at ``path``.

    Parameters
    ----------
    path : str or Path
    option : str
        The option that gave the path, e.g. ``"--markdown"``, named in the message.
    overwrite : bool
        Whether an existing file may be replaced (``--overwrite``).
    make_parents : bool
        Whether the writer creates missing folders; then every folder on the way that
        exists must be a folder. Otherwise the file's folder must exist.

    Returns
    -------
    path : Path

    Raises
    ------
    ValueError
        Naming ``option`` and the path: it is a folder, its folder is missing, is a
        file or is not writable, or it exists and ``overwrite`` is false.

    Examples
    --------
    >>> check_output_path("no-such-folder/x.md", "--markdown")
    Traceback (most recent call last):
    ...
    ValueError: --markdown: expected a file path in an existing folder, got ... (no folder 'no-such-folder')
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option}: expected a file path, got {str(path)!r}, which is a folder")
    for folder in (path.parent, *path.parent.parents):
        if folder.exists():
            break
        if not make_parents:
            raise ValueError(f"{option}: expected a file path in an existing folder, got "
                             f"{str(path)!r} (no folder {str(path.parent)!r})")
    if not folder.is_dir():
        raise ValueError(f"{option}: expected a file path in a folder, got {str(path)!r}, "
                         f"but {str(folder)!r} is a file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{option}: expected a path in a writable folder, got {str(path)!r} "
                         f"({str(folder)!r} is not writable)")
    if path.exists() and not overwrite:
        raise ValueError(f"would overwrite {str(path)!r}; pass --overwrite or choose another "
                         f"{option}")
    return path


def write(text: str) -> None:
    """Write to stdout, replacing characters its encoding lacks; quiet on a closed pipe."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    text = text.encode(encoding, "replace").decode(encoding)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `deconvkit explain | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
