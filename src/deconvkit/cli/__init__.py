"""The ``deconvkit`` command.

Each subcommand is a module here whose ``add(subparsers)`` declares its options and sets
``run``, a function ``(args) -> int``; add a new one to :data:`COMMANDS`. The shared
parser class, argument types and output are in :mod:`.common`.
Arguments are parsed into Python values here, every number bounded (integers by
the library's ``MAX_INT``), and handed to the library, which canonicalizes them; its
``ValueError``/``TypeError`` become a one-line error and exit status 2, like
argparse's own usage errors, and so do an ``OSError`` (a file that cannot be
written), an ``ImportError`` (an optional dependency that is missing; its message names
the extra to install) and a ``MemoryError``. Output paths are checked before any work.
"""

from __future__ import annotations

import argparse
import sys

from . import bench, explain, inspect, predict, restore, sparse, train, translate
from .common import EXIT_USAGE, Parser, parse_ints, parse_padding, parse_sizes, parse_weights
from .translate import parse_translate_padding

__all__ = ["main", "build_parser", "parse_sizes", "parse_ints", "parse_padding",
           "parse_weights", "parse_translate_padding", "COMMANDS", "EXIT_USAGE"]

COMMANDS = (explain.add, inspect.add, bench.add, translate.add, train.add, predict.add,
            restore.add, sparse.add)
"""One function per subcommand; each adds its parser and sets ``run``."""


def build_parser() -> argparse.ArgumentParser:
    """The ``deconvkit`` argument parser with every subcommand of :data:`COMMANDS`."""
    parser = Parser(prog="deconvkit",
                     description="Deconvolution in both senses: transposed convolution "
                                 "and restoration.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the ``deconvkit`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 for bad arguments or a failure to write or allocate (a
        one-line message on stderr, never a traceback).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports usage errors and --help this way
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        commands = ", ".join(parser._subparsers._group_actions[0].choices)
        sys.stderr.write(f"deconvkit: error: choose a command: {commands} "
                         "(see deconvkit --help)\n")
        return EXIT_USAGE
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError, ImportError) as exc:  # OSError: a file
        message = str(exc)
    except MemoryError:
        message = "out of memory: try smaller sizes"
    sys.stderr.write(f"deconvkit {args.command}: error: {' '.join(message.split())}\n")
    return EXIT_USAGE
