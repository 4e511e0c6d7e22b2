"""The ``dexsim`` command line: one sub-command per pipeline stage.

Each stage lives in its own module that exposes ``register(subparsers)``; this
file only lists them, so adding a stage is a one-line change here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules that each add sub-commands with ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = (
    "dexsim.sim.demo",
    "dexsim.data.cli",
    "dexsim.teleop.cli",
    "dexsim.real.cli",
    "dexsim.filtering.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every stage's sub-commands."""
    parser = argparse.ArgumentParser(prog="dexsim", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dexsim`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"dexsim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
