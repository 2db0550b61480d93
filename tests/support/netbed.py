"""A two-network test bed: the officer and the clinician in separate network namespaces.

Each side's namespace has one veth pair to the bed's router namespace and no route to the
other, so their browsers can only meet through the TURN relay. The router's end of the
officer's pair also carries the `shared` address (a /32) that both sides route to: the
service and coturn listen on it, from sockets made inside the router (`socket_in`). Nothing is
made in the host's own namespace: a link or address appearing there is a network change to
every Chromium on the machine, which fails their loading pages with ERR_NETWORK_CHANGED
(other browser tests run meanwhile). `down()` removes the namespaces, and with them the
veths. Needs root and iproute2 (`ip netns`, `tc`); the kernel here has `tbf` but no `netem`,
so loss is what a tight `tbf` queue drops.

Several beds may run at once on one machine (other test runs): each claims a free tag first,
by creating its officer namespace (which fails if the name is taken), and only ever removes
what it made itself. Their addresses may repeat: each bed's live in its own namespaces.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def run(*args: str, ns: str | None = None) -> None:
    """Run one iproute2/tc command (inside `ns` when given); raise with its stderr if it fails."""
    command = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


def without_ipv6(ns: str) -> None:
    """No IPv6 in `ns`, set before it gets its links. With it, each link gets a link-local
    address some 1.6 s after coming up (when duplicate detection ends), which a Chromium inside
    takes for a network change: the requests it has in flight fail with ERR_NETWORK_CHANGED,
    and a page that loses one of its modules so never runs (the officer's form never shown, in
    whole runs). The bed's addresses are all IPv4."""
    sysctls = ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]
    run("sysctl", "-q", "-w", *sysctls, ns=ns)


def netns_unavailable() -> str | None:
    """Why a bed cannot be built here (not root, no iproute2, no netns), or None if it can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip") or not shutil.which("tc"):
        return "iproute2 (ip, tc) is not installed"
    probe = f"tsprobe{secrets.token_hex(3)}"
    try:
        run("ip", "netns", "add", probe)
    except RuntimeError as e:
        return f"ip netns cannot run here: {e}"
    run("ip", "netns", "del", probe)
    return None


CLONE_NEWNET = 0x40000000  # setns(2): enter a network namespace
_LIBC = ctypes.CDLL(None, use_errno=True)


def socket_in(ns: str, family: int = socket.AF_INET) -> socket.socket:
    """A TCP socket made inside network namespace `ns`, where it stays whichever thread uses
    it: made on a short-lived thread that enters `ns` first (setns moves only the calling
    thread), so this process serves and connects inside the bed without leaving the host's
    namespace itself."""
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def make() -> None:
        try:
            with open(f"/var/run/netns/{ns}", "rb") as handle:
                if _LIBC.setns(handle.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"cannot enter network namespace {ns}")
            made.append(socket.socket(family, socket.SOCK_STREAM))
        except BaseException as e:  # handed to the caller's thread
            failed.append(e)

    thread = threading.Thread(target=make, name=f"netns-{ns}")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]


@dataclass
class Side:
    """One namespace and its veth pair to the router."""

    ns: str
    router_if: str
    ns_if: str
    router_ip: str
    ns_ip: str
    moves: int = 0


TAGS = range(20, 220)  # 10.TAG.0.0/16 per bed
CLAIM_ATTEMPTS = 40


def namespaces() -> list[str]:
    """The network namespaces on this machine, by name."""
    done = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [line.split()[0] for line in done.stdout.splitlines() if line.strip()]


def claim_tag() -> int:
    """A tag no other bed uses, claimed by creating its officer namespace; raise if none is
    found."""
    for _ in range(CLAIM_ATTEMPTS):
        tag = TAGS[secrets.randbelow(len(TAGS))]
        done = subprocess.run(
            ["ip", "netns", "add", namespace("officer", tag)], capture_output=True, check=False
        )
        if done.returncode == 0:
            return tag
    raise RuntimeError(f"no free network bed tag after {CLAIM_ATTEMPTS} attempts")


def namespace(role: str, tag: int) -> str:
    """The name of `role`'s namespace in the bed tagged `tag`."""
    return f"triage-{role}-{tag}"


@dataclass
class NetBed:
    """The officer's and the clinician's namespaces around one shared router address."""

    tag: int = 0  # set by up()
    sides: dict[str, Side] = field(default_factory=dict)
    router: str = ""  # the router's namespace, once made

    @property
    def shared(self) -> str:
        """The router's address both sides reach: the service and coturn listen here."""
        return f"10.{self.tag}.0.1"

    def up(self) -> None:
        """Claim a tag, then create the router's and both sides' namespaces, their veths,
        addresses and routes (no route between the sides)."""
        self.tag = claim_tag()
        self.router = namespace("router", self.tag)
        run("ip", "netns", "add", self.router)
        without_ipv6(self.router)
        run("ip", "link", "set", "lo", "up", ns=self.router)
        for index, role in enumerate(("officer", "clinician"), start=1):
            suffix = f"{self.tag}{role[0]}"
            side = Side(
                ns=namespace(role, self.tag),
                router_if=f"tsr{suffix}",
                ns_if=f"tsn{suffix}",
                router_ip=f"10.{self.tag}.{index}.1",
                ns_ip=f"10.{self.tag}.{index}.2",
            )
            self.sides[role] = side
            if role != "officer":  # the officer's namespace was made by claim_tag
                run("ip", "netns", "add", side.ns)
            without_ipv6(side.ns)
            pair = ["link", "add", side.router_if, "type", "veth", "peer", "name", side.ns_if]
            run("ip", *pair, "netns", side.ns, ns=self.router)
            run("ip", "addr", "add", f"{side.router_ip}/24", "dev", side.router_if, ns=self.router)
            run("ip", "link", "set", side.router_if, "up", ns=self.router)
            run("ip", "link", "set", "lo", "up", ns=side.ns)
            run("ip", "addr", "add", f"{side.ns_ip}/24", "dev", side.ns_if, ns=side.ns)
            run("ip", "link", "set", side.ns_if, "up", ns=side.ns)
            self.route_to_shared(side)
        officer_link = self.sides["officer"].router_if
        run("ip", "addr", "add", f"{self.shared}/32", "dev", officer_link, ns=self.router)

    def route_to_shared(self, side: Side) -> None:
        """The side's only route beyond its own link: the shared address via the router."""
        run("ip", "route", "replace", f"{self.shared}/32", "via", side.router_ip, ns=side.ns)

    def down(self) -> None:
        """Delete the namespaces made here (and with them their ends of the veths)."""
        for ns in [self.router, *(side.ns for side in self.sides.values())]:
            if ns:
                subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        self.router = ""
        self.sides.clear()

    def listening_socket(self, host: str, port: int, family: int) -> socket.socket:
        """A socket bound to `host`:`port` inside the router, for aiohttp's `TestServer`
        (its `socket_factory`): the service listens on the shared address."""
        sock = socket_in(self.router, family)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        return sock

    def ns(self, role: str) -> str:
        """The namespace of `role` ("officer" or "clinician")."""
        return self.sides[role].ns

    def squeeze(self, role: str, kbit: int) -> None:
        """Limit `role`'s link to `kbit` kbit/s each way, with a two-packet queue (drops)."""
        side = self.sides[role]
        shape = ["root", "tbf", "rate", f"{kbit}kbit", "burst", "1600", "limit", "3200"]
        run("tc", "qdisc", "replace", "dev", side.ns_if, *shape, ns=side.ns)
        run("tc", "qdisc", "replace", "dev", side.router_if, *shape, ns=self.router)

    def release(self, role: str) -> None:
        """Lift the squeeze on `role`'s link."""
        side = self.sides[role]
        run("tc", "qdisc", "del", "dev", side.ns_if, "root", ns=side.ns)
        run("tc", "qdisc", "del", "dev", side.router_if, "root", ns=self.router)

    def move(self, role: str) -> str:
        """Give `role` a new address, as a phone moving to another cell does; return it.

        The old address goes first, so the sockets bound to it go silent (nothing reaches them
        any more) rather than closing.
        """
        side = self.sides[role]
        side.moves += 1
        new_ip = f"10.{self.tag}.{side.router_ip.split('.')[2]}.{2 + side.moves}"
        run("ip", "addr", "del", f"{side.ns_ip}/24", "dev", side.ns_if, ns=side.ns)
        run("ip", "addr", "add", f"{new_ip}/24", "dev", side.ns_if, ns=side.ns)
        self.route_to_shared(side)
        side.ns_ip = new_ip
        return new_ip

    def block_udp_to_shared(self, role: str) -> None:
        """From `role`'s namespace, UDP to the shared address fails (TCP still goes)."""
        run("ip", "rule", "add", "to", self.shared, "ipproto", "udp", "prohibit", ns=self.ns(role))


@contextmanager
def network_bed() -> Iterator[NetBed]:
    """A bed that is up inside the block and torn down after it, also on failure."""
    bed = NetBed()
    try:
        bed.up()
        yield bed
    finally:
        bed.down()
