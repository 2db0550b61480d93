"""A plain (non-editable) wheel install serves every page, asset and the OpenAPI document."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from conftest import REDIS_URL
from live_server import delete_keys, environment, fetch, free_port, serving

ROOT = Path(__file__).resolve().parents[1]
# What a build needs, as the Dockerfile copies it: nothing else of the checkout.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "triage_service", "templates", "static")


def build_wheel(work: Path) -> Path:
    """The project's wheel, built from a copy of its sources without build isolation."""
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    dist = work / "dist"
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, str(source), "--wheel-dir", str(dist)],
        check=True,
        timeout=180,
        env=environment(),
    )
    (wheel,) = dist.glob("triage_service-*.whl")
    return wheel


def fresh_venv(work: Path) -> Path:
    """A venv outside the checkout that sees this interpreter's installed dependencies."""
    target = work / "venv"
    venv.create(target, with_pip=False, symlinks=True)
    python = target / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=environment(),
    ).stdout.strip()
    # Plain path lines only: an `import` line would run the checkout's editable finder.
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(paths)))
    return target


@pytest.mark.timeout(300)
def test_wheel_install_serves_pages_assets_and_openapi(tmp_path: Path) -> None:
    """Installed from its wheel and run outside the checkout, the service serves /, a static
    asset and /api/v1/openapi.json from the installed package."""
    wheel = build_wheel(tmp_path)
    names = subprocess.run(
        [sys.executable, "-m", "zipfile", "-l", str(wheel)], check=True, capture_output=True
    ).stdout.decode()
    for member in ("templates/login.html", "static/js/api.js", "store/lua/create.lua"):
        assert f"triage_service/{member}" in names, member
    target = fresh_venv(tmp_path)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run(
        [*pip, "--no-index", str(wheel)],
        check=True,
        timeout=120,
        env=environment(),
    )
    run = tmp_path / "run"
    run.mkdir()
    where = subprocess.run(
        [
            str(target / "bin" / "python"),
            "-c",
            "import triage_service; print(triage_service.__file__)",
        ],
        cwd=run,
        check=True,
        capture_output=True,
        text=True,
        env=environment(),
    ).stdout
    assert Path(where).resolve().is_relative_to(target.resolve()), where
    prefix = f"test-wheel-{secrets.token_hex(4)}:"
    port = free_port()
    command = [str(target / "bin" / "triage-service"), "serve", "--port", str(port)]
    command += ["--redis-url", REDIS_URL, "--key-prefix", prefix]
    try:
        with serving(command, port=port, cwd=run) as base:
            status, kind, body = fetch(base + "/")
            assert status == 200 and kind.startswith("text/html") and b"<form" in body
            status, kind, body = fetch(base + "/static/js/api.js")
            assert status == 200 and "javascript" in kind and body
            status, kind, body = fetch(base + "/static/css/app.css")
            assert status == 200 and kind.startswith("text/css")
            status, kind, body = fetch(base + "/api/v1/openapi.json")
            assert status == 200 and kind.startswith("application/json") and b'"openapi"' in body
    finally:
        delete_keys(prefix)
