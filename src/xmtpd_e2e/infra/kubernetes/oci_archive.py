"""Write a single-layer OCI image archive from files on the host, with no image builder.

The cluster's own images (pause, CoreDNS) are one static binary each; packing them directly
keeps the cluster independent of a Docker engine.  ``ctr images import`` reads the archive and
names the image from the ``io.containerd.image.name`` annotation.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["write_oci_archive", "normalized_reference"]


def normalized_reference(tag: str) -> str:
    """The fully qualified name the CRI uses for ``tag`` (``docker.io/`` + ``library/`` rules)."""
    first = tag.split("/", 1)[0]
    if "/" not in tag:
        return f"docker.io/library/{tag}"
    if "." in first or ":" in first or first == "localhost":
        return tag
    return f"docker.io/{tag}"


def _layer(files: Mapping[str, Path], directories: tuple[str, ...], owner: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for directory in directories:
            info = tarfile.TarInfo(directory.strip("/"))
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory.strip("/") == "tmp" else 0o700
            if info.mode != 0o1777:
                info.uid = info.gid = owner
            archive.addfile(info)
        for target, source in sorted(files.items()):
            real = source.resolve()  # symlinks (the dynamic loader's, say) become the file itself
            info = archive.gettarinfo(str(real), arcname=target.lstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            with real.open("rb") as handle:
                archive.addfile(info, handle)
    return buffer.getvalue()


def write_oci_archive(
    destination: Path,
    tag: str,
    files: Mapping[str, Path],
    entrypoint: list[str],
    *,
    cmd: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    directories: tuple[str, ...] = ("tmp",),
    user: int = 0,
) -> str:
    """Write the archive; returns the image's fully qualified reference.

    ``directories`` are created empty (``tmp`` world-writable, the others owned by ``user``, the
    uid the image runs as)."""
    blobs: dict[str, bytes] = {}

    def add(data: bytes) -> dict[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layer = _layer(files, directories, user)
    layer_ref = add(layer)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": entrypoint,
            "Cmd": cmd or [],
            "Env": [f"{k}={v}" for k, v in (env or {}).items()],
            "User": f"{user}:{user}",
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_ref["digest"]]},
    }
    config_ref = add(json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_ref},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer_ref}],
    }
    manifest_ref = add(json.dumps(manifest, sort_keys=True).encode())
    reference = normalized_reference(tag)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **manifest_ref,
                "annotations": {
                    "io.containerd.image.name": reference,
                    "org.opencontainers.image.ref.name": tag.rsplit(":", 1)[-1],
                },
            }
        ],
    }
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(destination, mode="w") as archive:

        def put(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

        put("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        put("index.json", json.dumps(index).encode())
        for digest, data in blobs.items():
            put(f"blobs/sha256/{digest.removeprefix('sha256:')}", data)
    return reference
