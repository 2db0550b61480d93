"""The checkout's own files, for the tests that read its source and documents: without the
npm packages that the browser and identity tests install under tests/ (tens of thousands of
files, which a plain `rglob` walks through)."""

from __future__ import annotations

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
