"""How ``--image-set auto`` chooses, with a stand-in for the engine's answers."""

from __future__ import annotations

from xmtpd_e2e.config import local_images, upstream_images
from xmtpd_e2e.runtime.image_sets import choose_image_set

VERSION = "v1.2.0"


def probe_with(available: set[str]):  # type: ignore[no-untyped-def]
    return lambda tag: None if tag in available else "not found"


def test_upstream_when_every_upstream_image_is_there_or_pullable() -> None:
    everything = set(upstream_images(VERSION).__dict__.values()) | set(local_images(VERSION).__dict__.values())
    choice = choose_image_set("auto", VERSION, probe_with(everything))
    assert choice.name == "upstream" and choice.images == upstream_images(VERSION)


def test_local_when_upstream_is_missing_and_local_is_built() -> None:
    choice = choose_image_set("auto", VERSION, probe_with(set(local_images(VERSION).__dict__.values())))
    assert choice.name == "local" and choice.images == local_images(VERSION)
    assert "ghcr.io/xmtp/xmtpd:v1.2.0 is neither present nor pullable (not found)" in choice.reason


def test_upstream_with_the_reason_when_neither_set_is_complete() -> None:
    choice = choose_image_set("auto", VERSION, probe_with(set()))
    assert choice.name == "upstream" and "local images are not built either" in choice.reason


def test_an_explicit_set_is_taken_as_asked() -> None:
    assert choose_image_set("local", "v1.3.0", probe_with(set())).images == local_images("v1.3.0")
    assert choose_image_set("upstream", "v1.3.0", probe_with(set())).images.xmtpd == "ghcr.io/xmtp/xmtpd:v1.3.0"
