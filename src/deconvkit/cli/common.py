"""What every subcommand shares: the parser class, argument types and output."""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["EXIT_USAGE", "Parser", "parse_sizes", "parse_ints", "parse_padding",
           "parse_weights", "write"]

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer {what}, got {text!r}") from None


def _split(text: str) -> list[str]:
    sep = "x" if "x" in text.lower() else ","
    parts = [p.strip() for p in text.lower().split(sep)]
    if not text.strip() or any(not p for p in parts):
        raise argparse.ArgumentTypeError(f"expected sizes like 5, 4x4 or 3x3x3, got {text!r}")
    return parts


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"4x4"`` (or ``"4,4"``) as ``(4, 4)``; ``"5"`` as ``(5,)``.

    >>> parse_sizes("3x3x3"), parse_sizes("5")
    ((3, 3, 3), (5,))
    """
    return tuple(_int(p, "size") for p in _split(text))


def parse_ints(text: str):
    """One int for every axis (``"2"`` -> ``2``) or one per axis (``"2x1"`` -> ``(2, 1)``).

    >>> parse_ints("2"), parse_ints("2x1")
    (2, (2, 1))
    """
    values = parse_sizes(text)
    return values[0] if len(values) == 1 else values


def parse_padding(text: str):
    """Padding: ``"1"``, ``"same"``, ``"valid"``, per axis ``"1,0"``, or pairs ``"1:0,0:1"``.

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
            return parse_ints(word)
        pairs = []
        for item in word.split(","):
            lo, sep, hi = item.partition(":")
            pairs.append((_int(lo, "padding"), _int(hi, "padding")) if sep else _int(lo, ""))
        return tuple(pairs)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected padding like 1, same, valid, 1,0 or 1:0,0:1, got {text!r}") from None


def parse_weights(text: str) -> tuple[float, ...]:
    """Kernel values in C order, separated by commas or spaces: ``"0,1,2"``.

    >>> parse_weights("0, 1 2.5")
    (0.0, 1.0, 2.5)
    """
    parts = text.replace(",", " ").split()
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 0,1,2, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


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
