"""The checkout's own files, for the tests that read its source and documents: without the
npm packages that the browser and identity tests install under tests/ (tens of thousands of
files, which a plain `rglob` walks through)."""

from __future__ import annotations

import ast
import os
from fnmatch import fnmatch
from pathlib import Path

NOT_OURS = ("node_modules", "__pycache__")


def own_files(folder: Path, pattern: str = "*") -> list[Path]:
    """Every file under `folder` whose name matches `pattern`, sorted, skipping `NOT_OURS`."""
    found = []
    for directory, subfolders, names in os.walk(folder):
        subfolders[:] = [name for name in subfolders if name not in NOT_OURS]
        found += [Path(directory, name) for name in names if fnmatch(name, pattern)]
    return sorted(found)


def parse_python(source: str | bytes) -> ast.Module:
    """`source`'s syntax tree. CPython 3.11 may raise a spurious SystemError ("AST constructor
    recursion depth mismatch") when its shared AST state was left off by another parse in the
    process (python/cpython#106905; seen in a whole run here); parsing again succeeds."""
    try:
        return ast.parse(source)
    except SystemError:
        return ast.parse(source)
