"""The service's wheel: it holds the service and nothing that only tests or tools use, and a
plain (non-editable) install of it serves every page, asset and the OpenAPI document."""

from __future__ import annotations

import ast
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import REDIS_URL, delete_keys
from live_server import environment, fetch, free_port, serving
from support.checkout import parse_python
from triage_client.call_flow import accept, raise_request
from triage_client.client import ServiceClient
from triage_client.forms import REQUEST_FORM
from triage_service.report.month import last_month

ROOT = Path(__file__).resolve().parents[1]
# What a build needs, as the Dockerfile copies it, and beside it the checkout's test and tool
# code, which setup.py must leave out of the wheel.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "triage_service", "templates", "static")
BESIDE = ("triage_client", "triage_tools", "tests", "scripts")
# What only tests and tools import: no module of the wheel may.
TEST_ONLY = ("triage_client", "triage_tools", "playwright", "pytest", "conftest", "support")
WHERE = "import triage_service; print(triage_service.__file__)"
PASSWORD = "wheel-test-" + secrets.token_hex(8)


def build_wheel(work: Path) -> Path:
    """The project's wheel, built from a copy of its sources without build isolation."""
    source = work / "source"
    source.mkdir()
    for name in SOURCES + BESIDE:
        path = ROOT / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "node_modules")
            shutil.copytree(path, source / name, ignore=ignore)
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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once for this module."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def imports_of(source: bytes) -> Iterator[str]:
    """The top-level names of every module a Python file imports."""
    for node in ast.walk(parse_python(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module.split(".")[0]


def test_wheel_holds_the_service_and_no_test_or_tool_code(wheel: Path) -> None:
    """Built from a checkout that has the client, the tools and the tests beside the
    service, the wheel holds only the `triage_service` package (with its templates, static
    files and Lua scripts) and its metadata: no benchmark, simulation, screenshot, browser
    or network-test code, and no module that imports the client, the tools or a test library."""
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {
        "triage_service",
        f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info",
    }
    for member in ("templates/login.html", "static/js/api.js", "store/lua/create.lua"):
        assert f"triage_service/{member}" in names, member
    parts = {part for name in names for part in name.removesuffix(".py").split("/")}
    assert not parts & {"tools", "bench", "simulate", "screens", "measure_call", "tests"}
    with zipfile.ZipFile(wheel) as archive:
        found = {
            f"{name} imports {module}"
            for name in names
            if name.endswith(".py")
            for module in imports_of(archive.read(name))
            if module in TEST_ONLY
        }
    assert found == set()


def install(wheel: Path, work: Path) -> Path:
    """The wheel installed into a fresh venv outside the checkout; its bin folder."""
    target = fresh_venv(work)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run([*pip, "--no-index", str(wheel)], check=True, timeout=120, env=environment())
    run = work / "run"
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
    return target / "bin"


ACCOUNTS = {
    "officer": (),
    "clinician": (),
    "supervisor": (),
    "receiver": ("--team", "crisis_team:default"),
}


def add_accounts(bin_dir: Path, store: list[str], run: Path) -> None:
    """One account per role, made by the installed command line."""
    for role, extra in ACCOUNTS.items():
        add = [str(bin_dir / "triage-service"), "user", "add", role, "--role", role, *extra]
        subprocess.run(
            [*add, "--password-stdin", *store],
            input=PASSWORD,
            cwd=run,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env=environment(),
        )


@pytest.fixture
def store_flags() -> Iterator[list[str]]:
    """Flags that point the installed service at the test Redis under a fresh prefix."""
    prefix = f"test-wheel-{secrets.token_hex(4)}:"
    yield ["--redis-url", REDIS_URL, "--key-prefix", prefix]
    delete_keys(prefix)


async def signed_in(base: str, role: str) -> ServiceClient:
    """A client of the installed service signed in as the account of `role`."""
    client = ServiceClient(base)
    try:
        await client.sign_in(role, PASSWORD)
    except BaseException:
        await client.close()
        raise
    return client


async def page(client: ServiceClient, path: str) -> tuple[int, str, bytes]:
    """Status, content type and body of a page the signed-in user opens."""
    async with client.http.get(path) as response:
        return response.status, response.content_type, await response.read()


def check_anonymous_pages(base: str) -> None:
    """The sign-in page, an asset, the stylesheet, the OpenAPI document and a 404 page."""
    status, kind, body = fetch(base + "/")
    assert status == 200 and kind.startswith("text/html") and b"<form" in body
    status, kind, body = fetch(base + "/static/js/api.js")
    assert status == 200 and "javascript" in kind and body
    status, kind, body = fetch(base + "/static/css/app.css")
    assert status == 200 and kind.startswith("text/css")
    status, kind, body = fetch(base + "/api/v1/openapi.json")
    assert status == 200 and kind.startswith("application/json") and b'"openapi"' in body
    status, kind, body = fetch(base + "/no-such-page")
    assert status == 404 and kind.startswith("text/html") and b"<html" in body


async def check_role_pages(base: str) -> None:
    """Each role's page, the call page of a request in session, and a board's report as a
    page and as a PDF."""
    month = last_month(int(time.time() * 1000), ZoneInfo("Europe/London"))
    pages = {
        "officer": ["/officer"],
        "clinician": ["/console"],
        "supervisor": ["/supervisor", f"/reports/default/{month}"],
        "receiver": ["/referrals"],
    }
    signed = {role: await signed_in(base, role) for role in pages}
    try:
        created = await raise_request(signed["officer"], REQUEST_FORM)
        await accept(signed["clinician"], created["id"])
        pages["officer"].append(f"/session/{created['id']}")
        pages["clinician"].append(f"/session/{created['id']}")
        for role, paths in pages.items():
            for path in paths:
                status, kind, body = await page(signed[role], path)
                assert (status, kind) == (200, "text/html") and b"<html" in body, path
        status, kind, body = await page(signed["supervisor"], f"/reports/default/{month}.pdf")
        assert (status, kind) == (200, "application/pdf") and body.startswith(b"%PDF")
    finally:
        for client in signed.values():
            await client.close()


@pytest.mark.timeout(300)
async def test_wheel_install_serves_every_page(
    wheel: Path, tmp_path: Path, store_flags: list[str]
) -> None:
    """Installed from its wheel into a fresh venv and run outside the checkout, the service
    serves from the installed package the sign-in page, assets, the OpenAPI document, the
    404 page, every role's page, the call page and the board report (page and PDF)."""
    bin_dir = install(wheel, tmp_path)
    run = tmp_path / "run"
    add_accounts(bin_dir, store_flags, run)
    port = free_port()
    command = [str(bin_dir / "triage-service"), "serve", "--port", str(port), *store_flags]
    with serving([*command, "--mfa-required-roles="], port=port, cwd=run) as base:
        check_anonymous_pages(base)
        await check_role_pages(base)
