"""The ``dexsim`` command line: one sub-command per pipeline stage.

Each stage lives in its own module that exposes ``register(subparsers)``; this
file only lists them, so adding a stage is a one-line change here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

#: Modules that each add sub-commands with ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = (
    "dexsim.sim.demo",
    "dexsim.data.cli",
    "dexsim.teleop.cli",
    "dexsim.real.cli",
    "dexsim.eval.cli",
    "dexsim.reproduce.cli",
    "dexsim.policy.cli",
    "dexsim.filtering.cli",
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``dexsim collect: error: argument --seed: ...``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every stage's sub-commands."""
    from dexsim import __version__

    parser = _Parser(prog="dexsim", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"dexsim {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _error_text(exc: BaseException) -> str:
    """One line: the message, or for an ``OSError`` from the system its reason and file."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dexsim`` console script; returns the exit status.

    ``ValueError`` and ``OSError`` (missing file, a directory where a file belongs, ...) become one line on
    stderr naming the command and exit status 2, without a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    action = getattr(args, f"{args.command}_command", None)
    command = f"{args.command} {action}" if action else args.command
    try:
        return int(args.handler(args) or 0)
    except (ValueError, OSError) as exc:
        print(f"dexsim {command}: error: {_error_text(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
