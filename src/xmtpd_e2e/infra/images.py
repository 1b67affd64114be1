"""Local images for the docker runtime, built from installed binaries without pulling anything.

No registry is reachable on many CI machines (and none here), so each image is ``FROM scratch``
plus a root filesystem assembled on the host: the static Go binaries as they are, and for the
dynamically linked ones (anvil, redis-server) the binary plus every shared library ``ldd``
lists.  An image holds its program as the entrypoint; the services pass their own command
lines, ports and files (``xmtpd_e2e.services``), the same on every runtime.  Run without
arguments, each image behaves as upstream's does (its default command, environment, working
directory and exposed ports), so upstream's own framework and compose files run against it:
toxiproxy listens on 0.0.0.0:8474, anvil serves the XMTP contracts on 0.0.0.0:8545, Redis
accepts connections on 6379.  Tags follow ``config.local_images`` (a changed layout gets a new
revision there); a content hash of the inputs is stored as a label, so an unchanged image is
not rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xmtpd_e2e.config import Images, local_images
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.binaries import resolve_binary
from xmtpd_e2e.services.chain import ANVIL_PORT, anvil_state_path
from xmtpd_e2e.services.chaos import TOXIPROXY_API_PORT
from xmtpd_e2e.services.redis import REDIS_PORT

__all__ = [
    "ImageRecipe",
    "recipes",
    "build_images",
    "build_validation_image",
    "validation_recipe",
    "shared_libraries",
    "INPUT_HASH_LABEL",
]

INPUT_HASH_LABEL = "xmtpd-e2e.inputs"
IMAGE_ANVIL_STATE = "/anvil-state.json"


@dataclass(frozen=True)
class ImageRecipe:
    tag: str
    files: dict[str, Path]
    """Path in the image -> host file."""
    entrypoint: str
    """Path in the image of the program (the service's logical executable)."""
    env: dict[str, str] = field(default_factory=dict)
    dirs: Sequence[str] = ("/tmp",)
    cmd: Sequence[str] = ()
    """Upstream's default arguments: what the image runs with when given none."""
    expose: Sequence[int] = ()
    workdir: str | None = None

    def dockerfile(self) -> str:
        lines = ["FROM scratch", "COPY rootfs/ /"]
        lines += [f"ENV {k}={v}" for k, v in self.env.items()]
        lines += [f"EXPOSE {port}" for port in self.expose]
        if self.workdir:
            lines.append(f"WORKDIR {self.workdir}")
        lines.append(f"ENTRYPOINT {json.dumps([self.entrypoint])}")
        if self.cmd:
            lines.append(f"CMD {json.dumps(list(self.cmd))}")
        return "\n".join(lines) + "\n"

    def input_hash(self) -> str:
        digest = hashlib.sha256(self.dockerfile().encode())
        for target, source in sorted(self.files.items()):
            stat = source.stat()
            digest.update(f"{target}:{source}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return digest.hexdigest()[:16]


def shared_libraries(binary: Path) -> list[Path]:
    """Absolute paths of the shared libraries ``binary`` loads (empty for static binaries)."""
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
    if result.returncode != 0 or "not a dynamic executable" in result.stdout + result.stderr:
        return []
    libraries = []
    for line in result.stdout.splitlines():
        parts = line.split()
        if "=>" in parts and len(parts) >= 3 and parts[2].startswith("/"):
            libraries.append(Path(parts[2]))
        elif parts and parts[0].startswith("/"):
            libraries.append(Path(parts[0]))
    return libraries


def _with_libraries(target: str, binary: Path) -> dict[str, Path]:
    files = {target: binary}
    for library in shared_libraries(binary):
        files[str(library)] = library
    return files


def recipes(
    version: str, images: Images | None = None, resolve: Callable[..., Path] = resolve_binary
) -> list[ImageRecipe]:
    tags = images or local_images(version)
    node, gateway, cli = (resolve(n, version=version) for n in ("replication", "gateway", "xmtpd-cli"))
    go_log = {"GOLOG_LOG_FMT": "nocolor"}  # upstream's xmtpd Dockerfiles set it
    return [
        # Upstream stamps the version into the node binary at build time; a `go install`ed one
        # reads it from VERSION instead (and exits without it).
        ImageRecipe(
            tags.xmtpd,
            {"/usr/bin/xmtpd": node},
            "/usr/bin/xmtpd",
            env={**go_log, "VERSION": version},
            expose=(5050,),
        ),
        ImageRecipe(
            tags.gateway, {"/usr/bin/xmtpd-gateway": gateway}, "/usr/bin/xmtpd-gateway", env=go_log, expose=(5050,)
        ),
        ImageRecipe(
            tags.cli, {"/usr/bin/xmtpd-cli": cli}, "/usr/bin/xmtpd-cli", env={**go_log, "XMTPD_LOG_ENCODING": "json"}
        ),
        ImageRecipe(
            tags.toxiproxy,
            {"/toxiproxy": resolve("toxiproxy-server"), "/toxiproxy-cli": resolve("toxiproxy-cli")},
            "/toxiproxy",
            env={"LOG_LEVEL": "info"},
            cmd=("-host=0.0.0.0",),
            expose=(TOXIPROXY_API_PORT,),
        ),
        # anvil keeps its cache under $HOME, which a scratch image does not have.  Upstream's
        # contracts image starts anvil on the deployment it holds.
        ImageRecipe(
            tags.chain,
            {**_with_libraries("/usr/local/bin/anvil", resolve("anvil")), IMAGE_ANVIL_STATE: anvil_state_path()},
            "/usr/local/bin/anvil",
            env={"HOME": "/tmp"},
            cmd=("--load-state", IMAGE_ANVIL_STATE, "--host", "0.0.0.0", "--mixed-mining", "--block-time", "1"),
            expose=(ANVIL_PORT,),
        ),
        # Upstream's Redis image is built with protected mode off and listens on every address.
        ImageRecipe(
            tags.redis,
            _with_libraries("/usr/bin/redis-server", resolve("redis-server")),
            "/usr/bin/redis-server",
            dirs=("/tmp", "/data"),
            cmd=("--protected-mode", "no"),
            expose=(REDIS_PORT,),
            workdir="/data",
        ),
    ]


def validation_recipe(binary: Path) -> ImageRecipe:
    """libxmtp's MLS validation service (glibc-linked: its libraries come along), serving like
    upstream's image when run without arguments."""
    from xmtpd_e2e.infra.validation import local_validation_image
    from xmtpd_e2e.services.validation import GRPC_PORT, HEALTH_PORT

    return ImageRecipe(
        local_validation_image(binary),
        _with_libraries("/usr/local/bin/mls-validation-service", binary),
        "/usr/local/bin/mls-validation-service",
        env={"RUST_LOG": "info", "NO_COLOR": "1"},  # tracing colours its output unless told not to
        cmd=("--port", str(GRPC_PORT), "--health-check-port", str(HEALTH_PORT)),
    )


def build_validation_image(binary: Path, *, log: Callable[[str], None] = lambda _line: None) -> str:
    """Build the validation service's image from ``binary`` unless it is up to date; its tag."""
    recipe = validation_recipe(binary)
    _build([recipe], force=False, log=log)
    return recipe.tag


def build_images(
    version: str, *, force: bool = False, log: Callable[[str], None] = print, validation_bin: Path | None = None
) -> list[str]:
    """Build every local image whose inputs changed (the validation service's too when its binary
    is given); returns the tags built."""
    extra = [validation_recipe(validation_bin)] if validation_bin is not None else []
    return _build([*recipes(version), *extra], force=force, log=log)


def _build(wanted_recipes: Sequence[ImageRecipe], *, force: bool, log: Callable[[str], None]) -> list[str]:
    import docker
    from docker.errors import DockerException, ImageNotFound

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as error:
        raise SetupError(
            f"no Docker engine answers ({error})", "run `xmtpd-e2e infra up --docker` (or `xmtpd-e2e infra install`)"
        ) from error
    built = []
    for recipe in wanted_recipes:
        wanted = recipe.input_hash()
        try:
            existing = client.images.get(recipe.tag)
            if not force and existing.labels.get(INPUT_HASH_LABEL) == wanted:
                log(f"{recipe.tag}: up to date")
                continue
        except ImageNotFound:
            pass
        with tempfile.TemporaryDirectory(prefix="xmtpd-e2e-image-") as context:
            root = Path(context) / "rootfs"
            for directory in recipe.dirs:
                (root / directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
            for target, source in recipe.files.items():
                destination = root / target.lstrip("/")
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
            (Path(context) / "Dockerfile").write_text(recipe.dockerfile())
            try:
                client.images.build(path=context, tag=recipe.tag, labels={INPUT_HASH_LABEL: wanted}, rm=True)
            except DockerException as error:
                raise SetupError(f"building {recipe.tag} failed: {error}", "see the Docker engine's log") from error
        log(f"{recipe.tag}: built")
        built.append(recipe.tag)
    client.close()
    return built
