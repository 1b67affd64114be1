"""A private network per local environment: one network namespace per service on a bridge.

Why: network faults act inside a service's own namespace (iptables, tc), and on the host's
loopback every process shares one.  As root, the local runtime therefore gives each service a
namespace, like a container: a veth pair into a bridge the environment creates, an address from
10.213.0.0/16 (one /24 per environment), the well-known ports on that address.

Layout of environment ``/24`` number N:

* bridge ``xb<hash>`` with 10.213.N.1/24: the host's side.  The framework reaches services from
  here, and services reach the host through it: a host port (Postgres's) is reached at
  10.213.N.1 on the same port number, forwarded in the kernel (:meth:`NamespaceNetwork.forward_host_port`).
* service k: namespace ``xe2e-<run>-<env>-<service>``, ``eth0`` = 10.213.N.k/24, default route via
  .1, host end of the veth ``xv<hash><k>`` on the bridge.

The /24 is chosen under a host-wide lock from the bridges that exist, so parallel runs never
collide.  Every namespace, bridge and veth is recorded in the run state before it is created;
:func:`remove_recorded` removes them from the record alone (``xmtpd-e2e cleanup``).  With
``bridge-nf-call-iptables`` on (Docker turns it on, with a FORWARD policy of DROP), bridged
traffic crosses the host's FORWARD chain, so one ACCEPT rule for the bridge is recorded too.
Every rule carries the comment ``xmtpd-e2e:<run>:<env>``, so cleanup finds even unrecorded ones.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import logging
import os
import shlex
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from xmtpd_e2e.errors import ServiceError, SetupError
from xmtpd_e2e.record import Reclaimer, RunState

__all__ = [
    "NamespaceNetwork",
    "namespaces_available",
    "remove_recorded",
    "namespaces_of_run",
    "NETNS_KIND",
    "LINK_KIND",
    "HOST_RULE_KIND",
    "SUBNET",
    "NETWORK_NAMESPACES",
    "links_of_run",
    "rules_of_run",
]

SUBNET = ipaddress.IPv4Network("10.213.0.0/16")
NETNS_KIND = "netns"
LINK_KIND = "link"
HOST_RULE_KIND = "host-rule"
_LOCK_PATH = Path("/run/xmtpd-e2e-netns.lock")
_NETNS_DIR = Path("/run/netns")
_TOOLS = ("ip", "iptables", "nsenter")
_RULE_TABLES = ("filter", "nat")
_CREATION_WAIT = 120.0
"""Seconds close() waits for namespaces under creation (a few ``ip`` commands each)."""


def namespaces_available() -> str | None:
    """``None`` if this process can build namespaced networks, else why not."""
    if os.geteuid() != 0:
        return "the runner is not root"
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        return f"the commands {', '.join(missing)} are missing"
    return None


def _run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} failed: {(result.stderr or result.stdout).strip()}")
    return result


def _batch(commands: Sequence[str], namespace: str | None = None) -> None:
    """``ip`` commands in one process (inside ``namespace`` if given); stops at the first failure."""
    argv = ["ip", *(["-n", namespace] if namespace else []), "-batch", "-"]
    result = subprocess.run(argv, input="\n".join(commands) + "\n", capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} failed: {(result.stderr or result.stdout).strip()}")


def _forward_rule(bridge: str, comment: str) -> list[str]:
    return ["FORWARD", "-i", bridge, "-o", bridge, "-m", "comment", "--comment", comment, "-j", "ACCEPT"]


def _host_port_rules(
    bridge: str, network: ipaddress.IPv4Network, port: int, comment: str
) -> list[tuple[str, list[str]]]:
    """(table, rule) pairs that carry connections to ``<bridge address>:port`` to
    ``127.0.0.1:port`` in the kernel.  DNAT makes a loopback-only listener reachable (routing
    to 127/8 from the bridge needs its ``route_localnet``); SNAT makes the connection come from
    127.0.0.1, which Postgres's access rules admit, while the namespaces' range is unknown to them."""
    tcp = ["-p", "tcp", "--dport", str(port), "-m", "comment", "--comment", comment]
    gateway = str(network.network_address + 1)
    loopback = "127.0.0.1"
    return [
        (
            "nat",
            ["PREROUTING", "-i", bridge, "-d", gateway, *tcp, "-j", "DNAT", "--to-destination", f"{loopback}:{port}"],
        ),
        ("nat", ["INPUT", "-s", str(network), "-d", loopback, *tcp, "-j", "SNAT", "--to-source", loopback]),
    ]


class NamespaceNetwork:
    """The bridge and namespaces of one environment (see module docstring)."""

    def __init__(self, run_state: RunState, env_id: str, logger: logging.Logger) -> None:
        self._state = run_state
        self._env_id = env_id
        self._log = logger
        self._lock = threading.Lock()
        self._hash = hashlib.sha1(f"{run_state.run_id}/{env_id}".encode()).hexdigest()[:6]
        self.bridge = f"xb{self._hash}"
        self._comment = f"xmtpd-e2e:{run_state.run_id}:{env_id}"
        self._addresses: dict[str, int] = {}
        self._created: set[str] = set()
        self._forwarded: set[int] = set()
        # Namespaces being created, and whether close() began: close waits for the creations
        # under way and refuses new ones, so no namespace appears after the network is removed.
        self._activity = threading.Condition()
        self._creating = 0
        self._closed = False
        self.network = self._create_bridge()
        self.host_address = str(self.network.network_address + 1)

    # -- addresses ---------------------------------------------------------------------------
    def address_of(self, service: str) -> str:
        """The service's address, fixed at first mention (proxies are created before nodes)."""
        with self._lock:
            if service not in self._addresses:
                index = len(self._addresses) + 2
                if index >= 255:
                    raise ServiceError("more than 252 services in one environment")
                self._addresses[service] = index
            return str(self.network.network_address + self._addresses[service])

    def namespace_name(self, service: str) -> str:
        return f"xe2e-{self._state.run_id}-{self._env_id}-{service}"

    def namespace_path(self, service: str) -> Path:
        return _NETNS_DIR / self.namespace_name(service)

    # -- creation ----------------------------------------------------------------------------
    def _create_bridge(self) -> ipaddress.IPv4Network:
        _LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK_PATH.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            network = self._free_subnet()
            self._state.record(LINK_KIND, self.bridge, env=self._env_id, subnet=str(network))
            _run(["ip", "link", "add", self.bridge, "type", "bridge"])
            _run(["ip", "link", "set", self.bridge, "alias", self._comment])  # found by run id
            _run(["ip", "addr", "add", f"{network.network_address + 1}/{network.prefixlen}", "dev", self.bridge])
            _run(["ip", "link", "set", self.bridge, "up"])
        rule = _forward_rule(self.bridge, self._comment)
        self._state.record(HOST_RULE_KIND, self._comment, env=self._env_id, table="filter", rule=rule)
        _run(["iptables", "--wait", "-I", *rule])
        return network

    def forward_host_port(self, port: int) -> tuple[str, int]:
        """Make the host's ``127.0.0.1:port`` reachable from every namespace at the bridge's
        address, same port; returns that address.  In the kernel (NAT rules), not a relay
        process: a userspace relay for every node's database traffic cost 40 % of the nodes' own
        CPU at 10 nodes.  Idempotent; the rules are recorded before they exist.

        The rules go in under the lock: nodes starting together all ask for the database port,
        and one that returned before another had inserted both rules started xmtpd against a
        half-made path (DNAT without SNAT: Postgres saw the namespace's address, refused it, and
        the node exited at once)."""
        with self._lock:
            if port in self._forwarded:
                return self.host_address, port
            Path(f"/proc/sys/net/ipv4/conf/{self.bridge}/route_localnet").write_text("1\n")
            for table, rule in _host_port_rules(self.bridge, self.network, port, self._comment):
                ident = f"{self._comment}:{table}:{rule[0]}:{port}"
                self._state.record(HOST_RULE_KIND, ident, env=self._env_id, table=table, rule=rule)
                _run(["iptables", "--wait", "-t", table, "-I", *rule])
            self._forwarded.add(port)
        return self.host_address, port

    @staticmethod
    def _free_subnet() -> ipaddress.IPv4Network:
        listing = _run(["ip", "-o", "-4", "addr", "show"]).stdout
        used = set()
        for line in listing.splitlines():
            fields = line.split()
            if len(fields) >= 4:
                address = ipaddress.ip_interface(fields[3])
                if address.ip in SUBNET:
                    used.add(
                        address.network.supernet(new_prefix=24) if address.network.prefixlen > 24 else address.network
                    )
        for candidate in SUBNET.subnets(new_prefix=24):
            if candidate.network_address.packed[2] == 0:
                continue  # 10.213.0.0/24 is left alone: too easily mistaken for the range itself
            if candidate not in used:
                return candidate
        raise SetupError(
            "all 255 environment subnets of 10.213.0.0/16 are in use",
            "remove leftovers of crashed runs with `xmtpd-e2e cleanup`",
        )

    def _veth_name(self, service: str) -> str:
        return f"xv{self._hash}{self._addresses[service]:03d}"

    def ensure_namespace(self, service: str) -> Path:
        """Create the service's namespace, veth and address (once); return the namespace path.

        Refused once :meth:`close` began.  A creation that fails part-way removes what it made,
        so nothing of the service stays on the system or in the record.
        """
        with self._activity:
            if self._closed:
                raise ServiceError(f"{service}: no network namespace created, the environment's network is removed")
            if service in self._created:
                return self.namespace_path(service)
            self._creating += 1
        try:
            self._create_namespace(service)
        except BaseException:
            problems = self.remove_namespace(service)
            if problems:
                self._log.warning("undoing the namespace of %s: %s", service, "; ".join(problems))
            raise
        else:
            with self._activity:
                self._created.add(service)
        finally:
            with self._activity:
                self._creating -= 1
                self._activity.notify_all()
        return self.namespace_path(service)

    def _create_namespace(self, service: str) -> None:
        address = self.address_of(service)
        name = self.namespace_name(service)
        veth = self._veth_name(service)
        self._state.record(NETNS_KIND, name, env=self._env_id, service=service)
        self._state.record(LINK_KIND, veth, env=self._env_id, service=service)
        # Two `ip -batch` runs, not nine `ip` runs: a process start is most of each step's cost.
        _batch(
            [
                f"netns add {name}",
                f"link add {veth} type veth peer name eth0 netns {name}",
                f"link set {veth} alias {self._comment}",
                f"link set {veth} master {self.bridge}",
                f"link set {veth} up",
            ]
        )
        _batch(
            [
                "link set lo up",
                f"addr add {address}/{self.network.prefixlen} dev eth0",
                "link set eth0 up",
                f"route add default via {self.host_address}",
            ],
            namespace=name,
        )

    # -- removal -----------------------------------------------------------------------------
    def remove_namespace(self, service: str) -> list[str]:
        """Remove the service's namespace and veth (and their records); returns problems."""
        with self._lock:
            if service not in self._addresses:
                return []
        problems = _delete_namespace(self._state, self.namespace_name(service))
        problems += _delete_link(self._state, self._veth_name(service))
        with self._activity:
            self._created.discard(service)
        return problems

    def close(self) -> None:
        """Remove every namespace, veth, the bridge and the FORWARD rule; idempotent.

        Waits for namespaces being created to be complete first (each step is one ``ip``
        command), and no namespace is created afterwards."""
        with self._activity:
            self._closed = True
            self._activity.wait_for(lambda: self._creating == 0, timeout=_CREATION_WAIT)
        problems = remove_recorded(self._state, env_id=self._env_id)
        if problems:
            raise ServiceError("removing the environment's network: " + "; ".join(problems))


def namespaces_of_run(run_id: str) -> list[str]:
    """Names of the existing namespaces of ``run_id`` (recorded or not)."""
    if not _NETNS_DIR.is_dir():
        return []
    return sorted(entry.name for entry in _NETNS_DIR.iterdir() if entry.name.startswith(f"xe2e-{run_id}-"))


def links_of_run(run_id: str) -> list[str]:
    """Names of the existing bridges and veths of ``run_id``, found by their alias."""
    found = []
    for link in Path("/sys/class/net").iterdir():
        try:
            alias = (link / "ifalias").read_text().strip()
        except OSError:
            continue
        if alias.startswith(f"xmtpd-e2e:{run_id}:"):
            found.append(link.name)
    return sorted(found)


def rules_of_run(run_id: str) -> list[tuple[str, list[str]]]:
    """The host's iptables rules of ``run_id`` (found by their comment), as (table, rule)."""
    found = []
    for table in _RULE_TABLES:
        listing = _run(["iptables", "--wait", "-t", table, "-S"], check=False).stdout
        for line in listing.splitlines():
            fields = shlex.split(line)
            if fields[:1] == ["-A"] and any(f.startswith(f"xmtpd-e2e:{run_id}:") for f in fields):
                found.append((table, fields[1:]))
    return found


def remove_recorded(state: RunState, *, env_id: str | None = None) -> list[str]:
    """Remove the recorded namespaces, links and host rules (of ``env_id``, or all of the run),
    and any namespace named for the run that was never recorded; returns problems."""
    problems: list[str] = []

    def mine(details: dict[str, object]) -> bool:
        return env_id is None or details.get("env") == env_id

    for resource in state.resources(NETNS_KIND):
        if mine(resource.details):
            problems += _delete_namespace(state, resource.ident)
    if env_id is None:  # a whole run: also what was created but never recorded
        for name in namespaces_of_run(state.run_id):
            _run(["ip", "netns", "delete", name], check=False)
        for link in links_of_run(state.run_id):
            _run(["ip", "link", "delete", link], check=False)
    for resource in state.resources(HOST_RULE_KIND):
        if mine(resource.details):
            rule = [str(part) for part in resource.details.get("rule", [])]
            table = str(resource.details.get("table", "filter"))
            while rule and _run(["iptables", "--wait", "-t", table, "-D", *rule], check=False).returncode == 0:
                pass
            state.forget(HOST_RULE_KIND, resource.ident)
    if env_id is None:
        for table, rule in rules_of_run(state.run_id):
            _run(["iptables", "--wait", "-t", table, "-D", *rule], check=False)
    for resource in sorted(state.resources(LINK_KIND), key=lambda r: r.ident.startswith("xb")):
        if mine(resource.details):
            problems += _delete_link(state, resource.ident)
    return problems


def _delete_namespace(state: RunState, name: str) -> list[str]:
    """Delete namespace ``name`` if it exists and forget it; the problem if it stays."""
    if (_NETNS_DIR / name).exists():
        result = _run(["ip", "netns", "delete", name], check=False)
        if result.returncode != 0:
            return [f"namespace {name}: {result.stderr.strip()}"]
    state.forget(NETNS_KIND, name)
    return []


def _delete_link(state: RunState, name: str) -> list[str]:
    """Delete link ``name`` if it exists and forget it; the problem if it stays.  A veth goes
    with its peer's namespace, so it may be gone by the time this runs."""
    if Path(f"/sys/class/net/{name}").exists():
        result = _run(["ip", "link", "delete", name], check=False)
        if result.returncode != 0 and Path(f"/sys/class/net/{name}").exists():
            return [f"link {name}: {result.stderr.strip()}"]
    state.forget(LINK_KIND, name)
    return []


def _reclaim(state: RunState, logger: logging.Logger) -> list[str]:
    if not (
        any(state.resources(kind) for kind in (NETNS_KIND, LINK_KIND, HOST_RULE_KIND))
        or namespaces_of_run(state.run_id)
        or links_of_run(state.run_id)
        or (os.geteuid() == 0 and rules_of_run(state.run_id))
    ):
        return []
    if os.geteuid() != 0:
        return ["the run's network namespaces and links need root to remove (run `xmtpd-e2e cleanup` as root)"]
    problems = remove_recorded(state)
    logger.debug("network namespaces of %s removed", state.run_id)
    return problems


NETWORK_NAMESPACES = Reclaimer((NETNS_KIND, LINK_KIND, HOST_RULE_KIND), _reclaim, order=15)
"""The local runtime's namespaces, veths, bridges and FORWARD rules: after the processes in them."""
