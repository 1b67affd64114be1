"""What `scripts/setup` installs is the pinned, working real thing.

Checks the build information inside the Go binaries (not a version string anyone could print),
that toxiproxy really forwards and cuts a TCP stream, that Redis and Postgres answer, and that
every local image is current with the binaries it was built from.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import docker
import psycopg
import pytest
import requests

from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.versions import ANVIL_VERSION, TOXIPROXY_VERSION
from xmtpd_e2e.infra.binaries import resolve_binary
from xmtpd_e2e.infra.images import INPUT_HASH_LABEL, recipes
from xmtpd_e2e.runtime.ports import PortAllocator


def _go_module_version(binary: str, version: str | None = None) -> dict[str, str]:
    info = subprocess.run(
        ["go", "version", "-m", str(resolve_binary(binary, version=version))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules = {}
    for line in info.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "mod":
            modules[fields[1]] = fields[2]
    return modules


@pytest.mark.parametrize("binary", ["replication", "gateway", "xmtpd-cli"])
def test_xmtpd_binaries_are_built_from_the_pinned_module(binary: str) -> None:
    version = RunConfig().xmtpd_version
    assert _go_module_version(binary, version) == {"github.com/xmtp/xmtpd": version}


def test_toxiproxy_is_the_pinned_release() -> None:
    assert _go_module_version("toxiproxy-server") == {"github.com/Shopify/toxiproxy/v2": TOXIPROXY_VERSION}


def test_anvil_is_the_pinned_release() -> None:
    out = subprocess.run([str(resolve_binary("anvil")), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"anvil Version: {ANVIL_VERSION}" in out


def _start(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _connect(port: int, timeout: float = 20.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture()
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_toxiproxy_forwards_and_cuts_a_stream(echo_port: int) -> None:
    api_port, listen_port = PortAllocator().allocate(), PortAllocator().allocate()
    server = _start([str(resolve_binary("toxiproxy-server")), "-host", "127.0.0.1", "-port", str(api_port)])
    try:
        _connect(api_port).close()
        api = f"http://127.0.0.1:{api_port}"
        created = requests.post(
            f"{api}/proxies",
            json={"name": "echo", "listen": f"127.0.0.1:{listen_port}", "upstream": f"127.0.0.1:{echo_port}"},
            timeout=5,
        )
        assert created.status_code == 201, created.text
        with _connect(listen_port) as conn:
            conn.sendall(b"through the proxy")
            assert conn.recv(100) == b"through the proxy"
        assert requests.post(f"{api}/proxies/echo", json={"enabled": False}, timeout=5).ok
        with pytest.raises(OSError):
            _connect(listen_port, timeout=0.5).close()
    finally:
        server.kill()
        server.wait()


def test_redis_answers_ping() -> None:
    port = PortAllocator().allocate()
    server = _start(
        [
            str(resolve_binary("redis-server")),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
    )
    try:
        with _connect(port) as conn:
            conn.sendall(b"PING\r\n")
            assert conn.recv(100) == b"+PONG\r\n"
    finally:
        server.kill()
        server.wait()


def test_postgres_accepts_the_framework_credentials() -> None:
    with psycopg.connect(RunConfig().postgres_dsn, connect_timeout=5) as conn:
        row = conn.execute("SELECT current_user, version()").fetchone()
    assert row is not None and row[0] == "postgres" and "PostgreSQL" in row[1]


def test_every_local_image_is_built_from_the_current_binaries() -> None:
    version = RunConfig().xmtpd_version
    client = docker.from_env()
    try:
        for recipe in recipes(version, local_images(version)):
            image = client.images.get(recipe.tag)
            assert image.labels.get(INPUT_HASH_LABEL) == recipe.input_hash(), f"{recipe.tag} is stale"
        cli_image = local_images(version).cli
        out = client.containers.run(cli_image, ["--help"], remove=True, network_disabled=True)
        assert b"Usage" in out or b"usage" in out
    finally:
        client.close()
