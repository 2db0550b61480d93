"""`scripts/screens`: a screenshot of every page, as wide as its user's device."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from triage_tools.screens import SHOTS, main

from .conftest import HEADLESS_SHELL

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height in pixels, from the PNG's header chunk (IHDR)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", head[16:24])
    return width, height


# About 12 s alone (17 s on Chromium itself, which the tool uses by default); several times
# that beside the suite's other workers on two cores.
@pytest.mark.timeout(400)
def test_every_page_is_written_at_its_device_width(tmp_path: Path) -> None:
    """With one day of history, the tool prints one line per screenshot as it writes it, and
    each is a PNG as wide as its device: 360 px phone, 1366 px console, 1440 px dashboard;
    the screenshots of the visible screen only are as tall as it (740 and 768 px)."""
    command = [sys.executable, "-m", "triage_tools.screens", "--days", "1"]
    done = subprocess.run(
        [*command, "--chromium", HEADLESS_SHELL, "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=360,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [str(tmp_path / f"{name}.png") for name in SHOTS]
    sizes = {name: png_size(tmp_path / f"{name}.png") for name in SHOTS}
    assert {name: width for name, (width, _) in sizes.items()} == SHOTS
    assert sizes["officer-waiting"][1] == 740 and sizes["console-queue"][1] == 768
    assert sizes["officer-request"][1] > 740 and sizes["supervisor"][1] > 900


def test_missing_chromium_stops_with_a_clear_message(tmp_path: Path) -> None:
    """Without a browser at the given path the tool stops before starting anything and says
    where it looked and what to install."""
    with pytest.raises(SystemExit) as stopped:
        main(["--out", str(tmp_path), "--chromium", str(tmp_path / "chromium")])
    assert str(stopped.value).startswith(f"screens: no Chromium at {tmp_path / 'chromium'}")
    assert "apt-get install chromium" in str(stopped.value)
    assert not list(tmp_path.iterdir())
