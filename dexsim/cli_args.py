"""Checks of command-line values shared by the stage modules (import-light: only the standard library).

Each raises ``ValueError`` or ``FileNotFoundError`` with a one-line message naming the option and the path, which
:func:`dexsim.cli.main` prints as ``dexsim <command>: error: ...`` with exit status 2.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["input_file", "output_file", "at_least"]


def input_file(path: str | os.PathLike[str], option: str) -> Path:
    """``path`` as a file to read.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is a directory.
    """
    result = Path(path)
    if result.is_dir():
        raise ValueError(f"{option} {path} is a directory, expected a file")
    if not result.exists():
        raise FileNotFoundError(f"{option} {path} does not exist")
    return result


def output_file(path: str | os.PathLike[str], option: str, *, overwrite: bool = True) -> Path:
    """``path`` as a file to write (its missing parent directories may be created by the caller).

    Raises:
        ValueError: ``path`` is (or, with a trailing slash, names) a directory, a parent of it is a file, or it
            exists and ``overwrite`` is false.
    """
    text = os.fspath(path)
    result = Path(text)
    if result.is_dir() or text.endswith(("/", os.sep)):
        raise ValueError(f"{option} {text} is a directory: give a file path (e.g. {result / 'name'})")
    for ancestor in result.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ValueError(f"{option} {text}: {ancestor} is a file, not a directory")
            break
    if not overwrite and result.exists():
        raise ValueError(f"{option} {text} already exists (choose a new file name)")
    return result


def at_least(value: int | float | None, minimum: int | float, option: str) -> None:
    """Raise ``ValueError`` naming ``option`` when ``value`` is given and below ``minimum``."""
    if value is not None and value < minimum:
        raise ValueError(f"{option} must be >= {minimum}, got {value}")
