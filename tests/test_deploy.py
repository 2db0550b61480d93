"""deploy/: the Compose file is valid (docker-compose's own check, with deploy/.env.example)
and wires what the operations guide says: Sentinel with a quorum of two, two instances on
Sentinel with WAIT for one replica and the same secrets, Caddy balancing both on /readyz,
coturn sharing the TURN secret. No image is built and no container started."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from triage_service.settings import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
INSTANCES = ("triage-1", "triage-2")


def env_example() -> dict[str, str]:
    """The variables deploy/.env.example sets."""
    pairs = (
        line.split("=", 1)
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {name: value for name, value in pairs}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    """`docker-compose config` of deploy/compose.yaml with deploy/.env.example (validated)."""
    compose = shutil.which("docker-compose")
    if compose is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing (scripts/test installs it)")
        pytest.skip("docker-compose is not installed (scripts/test installs it, as root)")
    command = [compose, "-f", str(DEPLOY / "compose.yaml"), "--env-file"]
    command += [str(DEPLOY / ".env.example"), "config"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = yaml.safe_load(done.stdout)
    return found


def test_compose_file_is_valid_and_complete(config: dict[str, Any]) -> None:
    """Every part is there: master, replica, three sentinels, two instances, Caddy, coturn."""
    assert set(config["services"]) == {
        "redis-master",
        "redis-replica",
        "sentinel-1",
        "sentinel-2",
        "sentinel-3",
        *INSTANCES,
        "caddy",
        "coturn",
    }
    assert "--replicaof redis-master 6379" in config["services"]["redis-replica"]["command"]


def test_instances_share_secrets_and_use_sentinel(config: dict[str, Any]) -> None:
    """Both instances are built from the repository's Dockerfile, find Redis through the
    three sentinels, wait for one replica, and have the .env secrets."""
    env = env_example()
    for name in INSTANCES:
        service = config["services"][name]
        assert Path(service["build"]["context"]) == DEPLOY.parent
        assert service["build"]["dockerfile"] == "Dockerfile"
        settings = service["environment"]
        sentinels = settings["TRIAGE_REDIS_SENTINELS"].split(",")
        assert sentinels == [f"sentinel-{n}:26379" for n in (1, 2, 3)]
        assert settings["TRIAGE_REDIS_MIN_REPLICAS"] == "1"
        assert settings["TRIAGE_SECRET_KEY"] == env["TRIAGE_SECRET_KEY"]
        assert settings["TRIAGE_TURN_SECRET"] == env["TRIAGE_TURN_SECRET"]


def test_redis_fsyncs_every_write_and_an_isolated_master_refuses_writes(
    config: dict[str, Any],
) -> None:
    """Master and replica (either may be the master) run AOF with fsync on every write, and
    refuse writes while no replica has been heard from for 5 s (`min-replicas-to-write`)."""
    for name in ("redis-master", "redis-replica"):
        command = config["services"][name]["command"]
        assert "--appendonly yes --appendfsync always" in command, name
        assert "--min-replicas-to-write 1 --min-replicas-max-lag 5" in command, name


def test_sentinels_watch_the_master_with_a_quorum_of_two() -> None:
    """Each sentinel monitors the `triage` group (TRIAGE_REDIS_SERVICE) at redis-master."""
    for n in (1, 2, 3):
        conf = (DEPLOY / "sentinel" / f"sentinel-{n}.conf").read_text()
        assert "sentinel monitor triage redis-master 6379 2" in conf
        assert f"sentinel announce-ip sentinel-{n}" in conf


def test_caddy_balances_both_instances_on_readyz(config: dict[str, Any]) -> None:
    """Caddy proxies to both instances, health-checking /readyz."""
    caddyfile = (DEPLOY / "caddy" / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy triage-1:8080 triage-2:8080 \{", caddyfile)
    assert "health_uri /readyz" in caddyfile
    volumes = config["services"]["caddy"]["volumes"]
    assert any(v.endswith(":/etc/caddy/Caddyfile:ro") for v in volumes)


def test_coturn_shares_the_turn_secret(config: dict[str, Any]) -> None:
    """coturn uses the TURN REST secret the instances mint credentials from."""
    command = config["services"]["coturn"]["command"]
    assert "--use-auth-secret" in command
    assert f"--static-auth-secret={env_example()['TRIAGE_TURN_SECRET']}" in command


def pins(path: Path) -> dict[str, str]:
    """Package name (normalised) -> pinned version, of a pip-compile lock file."""
    found = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", path.read_text(), re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


def test_locks_pin_every_dependency_with_hashes() -> None:
    """requirements/lock.txt pins every runtime and test dependency of pyproject.toml with
    hashes; requirements/runtime.txt (the Dockerfile's) pins the runtime ones at the same
    versions; the Dockerfile installs from it, hash-checked."""
    root = DEPLOY.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    lock, runtime = pins(root / "requirements/lock.txt"), pins(root / "requirements/runtime.txt")

    def names(requirements: list[str]) -> set[str]:
        return {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=~ ;]", r)[0]).lower() for r in requirements}

    assert names(project["dependencies"]) <= set(runtime)
    assert names(project["dependencies"] + project["optional-dependencies"]["test"]) <= set(lock)
    assert all(lock[name] == version for name, version in runtime.items())
    for path in ("requirements/lock.txt", "requirements/runtime.txt"):
        text = (root / path).read_text()
        blocks = re.findall(
            r"^[A-Za-z0-9._-]+==\S+ \\\n((?:    --hash=sha256:\w+.*\n)+)", text, re.M
        )
        assert len(blocks) == len(pins(root / path)), path  # every pin has its hashes
        assert not re.search(r"^--(extra-)?(index-url|find-links)", text, re.M), path
    dockerfile = (root / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/runtime.txt" in dockerfile
    assert "--require-hashes -r requirements/lock.txt" in (root / "scripts/test").read_text()


def test_instances_trust_only_caddy_as_a_proxy(config: dict[str, Any]) -> None:
    """Caddy has a fixed address on the backend network and it is the only trusted proxy of
    each instance, so sign-in throttling sees each client's own address."""
    caddy = config["services"]["caddy"]["networks"]["backend"]["ipv4_address"]
    for name in INSTANCES:
        trusted = config["services"][name]["environment"]["TRIAGE_TRUSTED_PROXIES"]
        assert trusted == f"{caddy}/32"
    Settings(trusted_proxies=f"{caddy}/32")  # a value the service starts with
