"""Where the templates and static files are, and the one jinja2 environment pages render with."""

from __future__ import annotations

from pathlib import Path

import jinja2
from aiohttp import web

from triage_service.domain.words import plural

PACKAGE = Path(__file__).resolve().parents[1]


def data_folder(name: str) -> Path:
    """`templates` or `static`: inside the installed package (a wheel puts them there), else
    at the top level of the checkout (run from source or installed with `pip install -e`)."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name


TEMPLATES = data_folder("templates")
STATIC = data_folder("static")
JINJA = web.AppKey("jinja", jinja2.Environment)


def jinja_environment() -> jinja2.Environment:
    """Templates from `templates/`, autoescaped whatever their file name."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.globals["static"] = "/static"  # create_app points it at the versioned prefix
    env.globals["plural"] = plural  # "1 day", "14 days"
    return env
