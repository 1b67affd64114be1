"""Probing a namespace from the host: TCP connects and UDP delivery, run with the host's python
under ``nsenter --net`` so the probe's packets really leave from inside the namespace."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

__all__ = ["connects", "http2_answer", "udp_delivery", "udp_out_of", "process_state", "frozen"]

_CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
except OSError as error:
    print(type(error).__name__); sys.exit(1)
"""

_RECEIVE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
s.settimeout(float(sys.argv[3]))
count = 0
try:
    while True:
        if s.recv(64) == b"end":
            break
        count += 1
except socket.timeout:
    pass
print(count, flush=True)
"""


def connects(namespace: str, host: str, port: int, timeout: float = 3.0) -> bool:
    """True if a TCP connection from inside ``namespace`` to ``host:port`` is accepted."""
    result = subprocess.run(
        ["nsenter", f"--net={namespace}", sys.executable, "-c", _CONNECT, host, str(port), str(timeout)],
        capture_output=True,
        text=True,
        timeout=timeout + 10,
    )
    return result.returncode == 0


def udp_delivery(namespace: str, address: str, port: int, count: int = 2000) -> float:
    """Fraction of ``count`` UDP datagrams sent from the host that a receiver bound to
    ``address`` inside ``namespace`` gets."""
    receiver = subprocess.Popen(
        ["nsenter", f"--net={namespace}", sys.executable, "-c", _RECEIVE, address, str(port), "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None
        assert receiver.stdout.readline().strip() == "ready"
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(count):
            sender.sendto(b"x", (address, port))
            time.sleep(0.0005)  # never overrun the receiver's buffer: only the fault may drop
        for _ in range(20):
            sender.sendto(b"end", (address, port))
        out, _ = receiver.communicate(timeout=30)
        return min(1.0, int(out.strip()) / count)
    finally:
        receiver.kill()


def process_state(pid: int) -> str:
    """The one-letter state of ``pid`` (R, S, D, T, ...) from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def frozen(pid: int) -> bool:
    """Whether the kernel holds ``pid`` still: stopped by SIGSTOP (state T, the local runtime) or
    in a frozen cgroup (``docker pause``: cgroup v1 freezer FROZEN, v2 ``cgroup.freeze`` 1)."""
    if process_state(pid) == "T":
        return True
    with open(f"/proc/{pid}/cgroup") as cgroups:
        for line in cgroups.read().splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "freezer":
                try:
                    with open(f"/sys/fs/cgroup/freezer{path}/freezer.state") as state:
                        return state.read().strip() == "FROZEN"
                except OSError:
                    return False
            if controllers == "":
                try:
                    with open(f"/sys/fs/cgroup{path}/cgroup.freeze") as freeze:
                        if freeze.read().strip() == "1":
                            return True
                except OSError:
                    continue
    return False


_SEND = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    s.sendto(str(i).encode(), (sys.argv[1], int(sys.argv[2])))
    time.sleep(0.0005)
"""


def udp_out_of(namespace: str, address: str, port: int, count: int = 1000) -> list[int]:
    """The sequence numbers a receiver on the host (bound to ``address``) gets of ``count``
    numbered UDP datagrams sent from inside ``namespace``, in arrival order: more than ``count``
    when packets are duplicated, out of order when they are reordered."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    receiver.bind((address, port))
    receiver.settimeout(3)
    try:
        sender = subprocess.Popen(
            ["nsenter", f"--net={namespace}", sys.executable, "-c", _SEND, address, str(port), str(count)]
        )
        arrived: list[int] = []
        try:
            while True:
                arrived.append(int(receiver.recv(64)))
        except socket.timeout:
            pass
        sender.wait(timeout=30)
        return arrived
    finally:
        receiver.close()


_HTTP2 = """
import socket, sys, time
began = time.monotonic()
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])) as c:
        c.settimeout(float(sys.argv[3]))
        c.sendall(b"PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" + bytes.fromhex("000000040000000000"))
        outcome = "data" if c.recv(16) else "closed"
except ConnectionRefusedError:
    outcome = "refused"
except ConnectionResetError:
    outcome = "reset"
except (socket.timeout, TimeoutError):
    outcome = "silent"
print(outcome, time.monotonic() - began)
"""


def http2_answer(namespace: str, host: str, port: int, timeout: float = 4.0) -> tuple[str, float]:
    """From inside ``namespace``, open a connection to a gRPC server at ``host:port`` and send an
    HTTP/2 preface: what came back (``data``, ``closed``, ``reset``, ``refused``, ``silent``) and
    after how many seconds."""
    result = subprocess.run(
        ["nsenter", f"--net={namespace}", sys.executable, "-c", _HTTP2, host, str(port), str(timeout)],
        capture_output=True,
        text=True,
        timeout=timeout + 10,
    )
    outcome, seconds = result.stdout.split()
    return outcome, float(seconds)
