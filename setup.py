"""Package layout: the code, its Lua scripts, and the top-level templates/ and static/
shipped inside the package as `triage_service/templates` and `triage_service/static`.

Only `triage_service` is packaged: the client and the tools beside it (triage_client/,
triage_tools/) and the tests stay in the checkout, which is where they run from.

The rest of the metadata is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

DATA_FOLDERS = ("templates", "static")
# Each data folder and its subfolders, as packages holding nothing but data.
DATA_PACKAGES = [
    f"triage_service.{folder}" + (f".{sub}" if sub else "")
    for folder in DATA_FOLDERS
    for sub in ("", *find_namespace_packages(where=folder))
]

setup(
    packages=[*find_namespace_packages(include=["triage_service*"]), *DATA_PACKAGES],
    package_dir={f"triage_service.{folder}": folder for folder in DATA_FOLDERS},
    package_data={
        "triage_service.store": ["lua/*.lua"],
        "triage_service.service": ["data/*"],
        **{p: ["*"] for p in DATA_PACKAGES}},
)
