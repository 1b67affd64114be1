"""OCI archives written without an image builder: layout, digests, name annotation."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from xmtpd_e2e.infra.kubernetes.oci_archive import normalized_reference, write_oci_archive


def test_references_are_normalised_as_the_cri_does() -> None:
    assert normalized_reference("redis:7") == "docker.io/library/redis:7"
    assert normalized_reference("xmtpd-e2e-local/xmtpd:v1") == "docker.io/xmtpd-e2e-local/xmtpd:v1"
    assert normalized_reference("ghcr.io/xmtp/xmtpd:v1") == "ghcr.io/xmtp/xmtpd:v1"
    assert normalized_reference("localhost:5000/x:1") == "localhost:5000/x:1"


def test_archive_holds_a_consistent_single_layer_image(tmp_path: Path) -> None:
    binary = tmp_path / "tool"
    binary.write_bytes(b"#!/bin/true\n")
    binary.chmod(0o755)
    archive = tmp_path / "image.tar"
    reference = write_oci_archive(
        archive, "example/tool:1", {"/usr/bin/tool": binary}, ["/usr/bin/tool"], env={"A": "b"}, user=7
    )
    assert reference == "docker.io/example/tool:1"
    with tarfile.open(archive) as tar:
        blobs = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    for name, data in blobs.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    index = json.loads(blobs["index.json"])
    entry = index["manifests"][0]
    assert entry["annotations"]["io.containerd.image.name"] == reference
    manifest = json.loads(blobs[f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}"])
    config = json.loads(blobs[f"blobs/sha256/{manifest['config']['digest'].removeprefix('sha256:')}"])
    assert config["config"]["Entrypoint"] == ["/usr/bin/tool"]
    assert config["config"]["User"] == "7:7"
    assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]]
    layer = blobs[f"blobs/sha256/{manifest['layers'][0]['digest'].removeprefix('sha256:')}"]
    with tarfile.open(fileobj=io.BytesIO(layer)) as inner:
        members = {m.name: m for m in inner.getmembers()}
    assert members["usr/bin/tool"].mode & 0o111
    assert members["tmp"].isdir()
