"""A coturn `turnserver` for tests and measurements, in the service's `use-auth-secret` mode."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.netbed import socket_in

TURNSERVER = "/usr/bin/turnserver"
REALM = "triage.test"


def coturn_unavailable() -> str | None:
    """Why coturn cannot be started here, or None if it can."""
    if not Path(TURNSERVER).exists() and not shutil.which("turnserver"):
        return "coturn is not installed (apt-get install -y coturn)"
    return None


def tcp_socket(ns: str | None) -> socket.socket:
    """A TCP socket here, or inside network namespace `ns`."""
    return socket_in(ns) if ns else socket.socket()


def free_port(host: str, ns: str | None = None) -> int:
    """A TCP port free on `host` (in `ns`) now (coturn takes the same number for UDP)."""
    with tcp_socket(ns) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_listening(
    host: str, port: int, process: subprocess.Popen[bytes], log: Path, ns: str | None = None
) -> None:
    """Return once coturn accepts TCP on host:port (in `ns`); raise with its log if it died
    or hung."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"turnserver exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with tcp_socket(ns) as probe:
                probe.settimeout(0.2)
                probe.connect((host, port))
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"turnserver did not listen: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def turnserver(host: str, secret: str, ns: str | None = None) -> Iterator[int]:
    """coturn on `host` (UDP and TCP, no TLS; inside network namespace `ns` when given) for
    credentials minted with `secret`; yields its port. The relay addresses are on `host` too,
    so two clients that reach nothing but `host` can still reach each other's relayed
    candidates. Stopped after the block."""
    port = free_port(host, ns)
    with tempfile.TemporaryDirectory(prefix="coturn-") as tmp:
        log = Path(tmp) / "turn.log"
        command = [
            shutil.which("turnserver") or TURNSERVER,
            "-n",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--fingerprint",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            f"--realm={REALM}",
            f"--listening-ip={host}",
            f"--relay-ip={host}",
            f"--listening-port={port}",
            f"--allowed-peer-ip={host}",
            "--min-port=49200",
            "--max-port=49999",
            f"--log-file={log}",
            "--simple-log",
            f"--pidfile={Path(tmp) / 'turn.pid'}",
        ]
        if ns:
            command = ["ip", "netns", "exec", ns, *command]  # which then runs turnserver itself
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_listening(host, port, process, log, ns)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
