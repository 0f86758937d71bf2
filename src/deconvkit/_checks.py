"""Argument checks shared across the package: one int check, one per-axis normaliser.

Every integer a user gives for a size, a count or a geometry parameter passes through
:func:`check_int` or :func:`per_axis`. Both reject bools and non-integers with a
``TypeError`` and values out of range with a ``ValueError``; both bound values by
:data:`MAX_INT` so that no later size arithmetic in NumPy's int64 can overflow.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

__all__ = ["MAX_INT", "MAX_NDIM", "IntTypeError", "check_int", "is_int", "per_axis", "describe",
           "available_bytes", "set_memory_limit", "format_bytes", "check_allocation"]


class IntTypeError(TypeError, ValueError):
    """A non-integer where an int was expected.

    A ``TypeError``; also a ``ValueError``, which is what :func:`check_int` raised for
    it before, so that code catching that keeps working (as NumPy's ``AxisError`` is
    both a ``ValueError`` and an ``IndexError``).
    """

MAX_INT = 2**31 - 1
"""Largest size, stride, padding or dilation accepted (products of two stay in int64)."""

MAX_NDIM = 62
"""Most spatial axes a convolution may have (NumPy arrays have at most 64 axes)."""


def is_int(value) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), and not a bool."""
    if type(value) is int:  # the common case, without the slower ABC check
        return True
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def describe(value) -> str:
    """``repr`` of a received value, with its type when that is not obvious, shortened."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    if isinstance(value, (bool, np.bool_, float, np.floating, str, type(None), tuple, list)):
        return text
    if is_int(value):
        return text
    return f"{text} ({type(value).__name__})"


def check_int(value, name: str, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """``value`` as an int if it is one (NumPy ints too, not bools) in ``[minimum, maximum]``.

    Raises :class:`IntTypeError` (a ``TypeError``) for a non-integer and ``ValueError`` for one out of range, both
    naming ``name``, what was expected and what was received.

    >>> check_int(np.int64(3), "epochs")
    3
    >>> check_int(0, "epochs")
    Traceback (most recent call last):
    ...
    ValueError: epochs must be an int >= 1, got 0
    >>> check_int(2.0, "epochs")
    Traceback (most recent call last):
    ...
    deconvkit._checks.IntTypeError: epochs must be an int >= 1, got 2.0
    """
    if not is_int(value):
        raise IntTypeError(f"{name} must be an int >= {minimum}, got {describe(value)}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {value!r}")
    return value


def per_axis(value, ndim: int, name: str, minimum: int = 0, maximum: int = MAX_INT
             ) -> tuple[int, ...]:
    """An int broadcast to ``ndim`` axes, or a sequence of ``ndim`` ints, each checked.

    >>> per_axis(2, 3, "stride", 1)
    (2, 2, 2)
    >>> per_axis((1, 2), 3, "stride", 1)
    Traceback (most recent call last):
    ...
    ValueError: stride must be an int or a sequence of 3 ints (one per spatial axis), got (1, 2)
    """
    if type(value) is tuple and len(value) == ndim and all(
            type(v) is int and minimum <= v <= maximum for v in value):
        return value    # the common case inside the library, already canonical
    if is_int(value):
        return (_in_range(int(value), value, name, minimum, maximum),) * ndim
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or (
            isinstance(value, np.ndarray) and value.ndim == 0):
        raise TypeError(f"{name} must be an int or a sequence of {ndim} ints, "
                        f"got {describe(value)}")
    items = tuple(value)
    if len(items) != ndim:
        raise ValueError(f"{name} must be an int or a sequence of {ndim} ints "
                         f"(one per spatial axis), got {describe(value)}")
    for v in items:
        if not is_int(v):
            raise TypeError(f"{name} must be an int or a sequence of {ndim} ints, "
                            f"got {describe(value)}")
    return tuple(_in_range(int(v), value, name, minimum, maximum) for v in items)


def _in_range(v: int, value, name, minimum, maximum) -> int:
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum} on every axis, got {describe(value)}")
    if v > maximum:
        raise ValueError(f"{name} must be <= {maximum} on every axis, got {describe(value)}")
    return v


_LIMIT = [None]


def set_memory_limit(nbytes) -> None:
    """Cap the memory deconvkit plans to use (``None``: no cap but the machine's).

    Every call checks its output and working memory against :func:`available_bytes`
    before it allocates; this lowers that figure, e.g. on a shared machine.

    >>> set_memory_limit(2**30); available_bytes() <= 2**30
    True
    >>> set_memory_limit(None)
    """
    _LIMIT[0] = None if nbytes is None else check_int(nbytes, "nbytes", 1, 2**62)


def available_bytes() -> int:
    """Memory the process could allocate now: the least of ``MemAvailable`` (Linux; else
    the physical memory), the room left under ``ulimit -v`` (``RLIMIT_AS``) and the cap
    of :func:`set_memory_limit`."""
    room = [1 << 62]
    try:
        with open("/proc/meminfo") as f:
            room += [int(line.split()[1]) * 1024 for line in f
                     if line.startswith("MemAvailable:")]
    except OSError:
        try:
            room.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    room.append(_address_space_room())
    if _LIMIT[0] is not None:
        room.append(_LIMIT[0])
    return max(min(room), 0)


def _address_space_room() -> int:
    """Bytes left under ``RLIMIT_AS``, or 2**62 without one."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft == resource.RLIM_INFINITY:
            return 1 << 62
        with open("/proc/self/status") as f:
            size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        return soft - size
    except (ImportError, OSError, ValueError, StopIteration):
        return 1 << 62


def format_bytes(nbytes: float) -> str:
    """``1536`` -> ``'1.5 KiB'``.

    >>> format_bytes(1536), format_bytes(3 * 2**30)
    ('1.5 KiB', '3.0 GiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024:
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"


def check_allocation(nbytes: int, what: str) -> None:
    """``ValueError`` when ``nbytes`` for ``what`` exceed the memory available, before
    anything is allocated: a large number gives a clear error, not a ``MemoryError``
    (or swapping) half-way through."""
    available = available_bytes()
    if nbytes > available:
        raise ValueError(f"{what} would take {format_bytes(nbytes)}, more than the "
                         f"{format_bytes(available)} of memory available")
