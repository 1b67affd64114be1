"""Which container images a docker run uses: upstream's, the locally built ones, or ``auto``.

``auto`` (the default) exists because the first command a user types must work on the machine
``scripts/setup`` prepared: there, no registry may be reachable, while setup built every image
locally.  So ``auto`` takes upstream's images when the engine already has them or can pull them
(asked of the registry without downloading anything), and otherwise the local ones, if they are
all built; it always says which it chose and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xmtpd_e2e.config import Images, local_images, upstream_images

__all__ = ["IMAGE_SETS", "ImageChoice", "choose_image_set", "docker_image_probe", "images_for_run"]

IMAGE_SETS = ("auto", "upstream", "local")

ImageProbe = Callable[[str], str | None]
"""Returns None when the engine has the image or could pull it, else why not."""


@dataclass(frozen=True)
class ImageChoice:
    name: str
    """``upstream`` or ``local``."""
    images: Images
    reason: str


def _tags(images: Images) -> list[str]:
    return list(dict.fromkeys(images.__dict__.values()))


def choose_image_set(requested: str, xmtpd_version: str, probe: ImageProbe) -> ImageChoice:
    upstream, local = upstream_images(xmtpd_version), local_images(xmtpd_version)
    if requested == "upstream":
        return ImageChoice("upstream", upstream, "asked for with --image-set upstream")
    if requested == "local":
        return ImageChoice("local", local, "asked for with --image-set local")
    if requested != "auto":
        raise ValueError(f"unknown image set {requested!r}; known: {', '.join(IMAGE_SETS)}")
    unavailable = {tag: why for tag in _tags(upstream) if (why := probe(tag)) is not None}
    if not unavailable:
        return ImageChoice("upstream", upstream, "upstream's images are present or pullable")
    first, why = next(iter(unavailable.items()))
    missing_local = [tag for tag in _tags(local) if probe(tag) is not None]
    if not missing_local:
        return ImageChoice(
            "local",
            local,
            f"{first} is neither present nor pullable ({why}); "
            "using the images built by `xmtpd-e2e infra build-images`",
        )
    return ImageChoice(
        "upstream",
        upstream,
        f"{first} is neither present nor pullable ({why}), and the local "
        f"images are not built either ({missing_local[0]} is missing)",
    )


def docker_image_probe() -> ImageProbe:
    """A probe asking the local Docker engine: present, or known to the registry (no download)."""
    import docker
    from docker.errors import DockerException, ImageNotFound

    client = docker.from_env(timeout=30)
    present = {tag for image in client.images.list() for tag in image.tags}

    def probe(tag: str) -> str | None:
        if tag in present:
            return None
        try:
            client.images.get(tag)
            return None
        except ImageNotFound:
            pass
        except DockerException as error:
            return " ".join(str(error).split())
        try:
            client.api.inspect_distribution(tag)
            return None
        except DockerException as error:
            explanation = getattr(error, "explanation", None) or error
            return " ".join(str(explanation).split())

    return probe


def images_for_run(image_set: str, runtime: str, xmtpd_version: str, say: Callable[[str], None]) -> Images:
    """The images of a run; ``auto`` is decided once, here, and said (it matters on docker only)."""
    from xmtpd_e2e.errors import SetupError
    from xmtpd_e2e.runtime.registry import DOCKER, RUNTIMES

    if image_set != "auto":
        return choose_image_set(image_set, xmtpd_version, lambda tag: None).images
    try:
        uses_images = RUNTIMES.resolve(runtime).name == DOCKER
    except SetupError:
        uses_images = False  # the run itself will say why that runtime cannot run here
    if not uses_images:
        return upstream_images(xmtpd_version)  # unused: no docker images in this run
    choice = choose_image_set(image_set, xmtpd_version, docker_image_probe())
    say(f"image set auto -> {choice.name}: {choice.reason}")
    return choice.images
