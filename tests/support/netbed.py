"""A two-network test bed: the officer and the clinician in separate network namespaces.

Each namespace has one veth pair to the host and no route to the other, so their browsers
can only meet through the TURN relay. The host side of the officer's pair also carries the
`shared` address (a /32) that both namespaces route to: the service and coturn listen on it.
Everything lives on addresses of the veths made here; `down()` removes it all. Needs root
and iproute2 (`ip netns`, `tc`); the kernel here has `tbf` but no `netem`, so loss is what a
tight `tbf` queue drops.

Several beds may run at once on one machine (other test runs): each claims a free tag first,
by creating its officer namespace (which fails if the name is taken) for a tag whose
10.TAG/16 addresses nobody uses, and only ever removes what it made itself.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


def run(*args: str, ns: str | None = None) -> None:
    """Run one iproute2/tc command (inside `ns` when given); raise with its stderr if it fails."""
    command = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


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


@dataclass
class Side:
    """One namespace and its veth pair to the host."""

    ns: str
    host_if: str
    ns_if: str
    host_ip: str
    ns_ip: str
    moves: int = 0


TAGS = range(20, 220)  # 10.TAG.0.0/16 per bed
CLAIM_ATTEMPTS = 40


def addresses_in_use() -> str:
    """Every address on the host, as `ip -o addr` lists them."""
    done = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True)
    return done.stdout


def claim_tag() -> int:
    """A tag no other bed (or anything else here) uses, claimed by creating its officer
    namespace; raise if none is found."""
    for _ in range(CLAIM_ATTEMPTS):
        tag = TAGS[secrets.randbelow(len(TAGS))]
        if f" 10.{tag}." in addresses_in_use():
            continue
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
    """The officer's and the clinician's namespaces around one shared host address."""

    tag: int = 0  # set by up()
    sides: dict[str, Side] = field(default_factory=dict)

    @property
    def shared(self) -> str:
        """The host address both namespaces reach: the service and coturn listen here."""
        return f"10.{self.tag}.0.1"

    def up(self) -> None:
        """Claim a tag, then create both namespaces, their veths, addresses and routes (no
        route between them)."""
        self.tag = claim_tag()
        for index, role in enumerate(("officer", "clinician"), start=1):
            suffix = f"{self.tag}{role[0]}"
            side = Side(
                ns=namespace(role, self.tag),
                host_if=f"tsh{suffix}",
                ns_if=f"tsn{suffix}",
                host_ip=f"10.{self.tag}.{index}.1",
                ns_ip=f"10.{self.tag}.{index}.2",
            )
            self.sides[role] = side
            if role != "officer":  # the officer's namespace was made by claim_tag
                run("ip", "netns", "add", side.ns)
            run("ip", "link", "add", side.host_if, "type", "veth", "peer", "name", side.ns_if)
            run("ip", "link", "set", side.ns_if, "netns", side.ns)
            run("ip", "addr", "add", f"{side.host_ip}/24", "dev", side.host_if)
            run("ip", "link", "set", side.host_if, "up")
            run("ip", "link", "set", "lo", "up", ns=side.ns)
            run("ip", "addr", "add", f"{side.ns_ip}/24", "dev", side.ns_if, ns=side.ns)
            run("ip", "link", "set", side.ns_if, "up", ns=side.ns)
            self.route_to_shared(side)
        run("ip", "addr", "add", f"{self.shared}/32", "dev", self.sides["officer"].host_if)

    def route_to_shared(self, side: Side) -> None:
        """The namespace's only route beyond its own link: the shared address via the host."""
        run("ip", "route", "replace", f"{self.shared}/32", "via", side.host_ip, ns=side.ns)

    def down(self) -> None:
        """Delete the namespaces and veths made here (deleting one end of a veth deletes
        both)."""
        for side in self.sides.values():
            subprocess.run(["ip", "link", "del", side.host_if], capture_output=True, check=False)
            subprocess.run(["ip", "netns", "del", side.ns], capture_output=True, check=False)
        self.sides.clear()

    def ns(self, role: str) -> str:
        """The namespace of `role` ("officer" or "clinician")."""
        return self.sides[role].ns

    def squeeze(self, role: str, kbit: int) -> None:
        """Limit `role`'s link to `kbit` kbit/s each way, with a two-packet queue (drops)."""
        side = self.sides[role]
        shape = ["root", "tbf", "rate", f"{kbit}kbit", "burst", "1600", "limit", "3200"]
        run("tc", "qdisc", "replace", "dev", side.ns_if, *shape, ns=side.ns)
        run("tc", "qdisc", "replace", "dev", side.host_if, *shape)

    def release(self, role: str) -> None:
        """Lift the squeeze on `role`'s link."""
        side = self.sides[role]
        run("tc", "qdisc", "del", "dev", side.ns_if, "root", ns=side.ns)
        run("tc", "qdisc", "del", "dev", side.host_if, "root")

    def move(self, role: str) -> str:
        """Give `role` a new address, as a phone moving to another cell does; return it.

        The old address goes first, so the sockets bound to it go silent (nothing reaches them
        any more) rather than closing.
        """
        side = self.sides[role]
        side.moves += 1
        new_ip = f"10.{self.tag}.{side.host_ip.split('.')[2]}.{2 + side.moves}"
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
