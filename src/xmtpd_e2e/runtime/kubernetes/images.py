"""Images for the kubernetes runtime on the framework's local cluster, loaded without a registry.

Each local image (the same recipes ``infra build-images`` uses for Docker, anvil's state
included in the chain image) is packed into an OCI archive, cached by the hash of its inputs,
and imported into every node's containerd once; pods then use ``imagePullPolicy: Never``.
Postgres runs inside the cluster too (pods cannot reach the host's), from an image assembled
here out of the host's Debian PostgreSQL: the server, initdb, their libraries, the share files,
and a two-line shell entrypoint that initialises an empty data directory.
"""

from __future__ import annotations

import hashlib
import json
import re
import dataclasses
import fcntl
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.images import ImageRecipe, recipes, shared_libraries
from xmtpd_e2e.infra.kubernetes.cluster_images import import_archive, node_images
from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout, NodeLayout
from xmtpd_e2e.infra.kubernetes.oci_archive import normalized_reference, write_oci_archive
from xmtpd_e2e.infra.kubernetes.versions import kubernetes_home
from xmtpd_e2e.runtime.kubernetes.manifests import file_path

__all__ = ["POSTGRES_IMAGE", "POSTGRES_UID", "postgres_recipe", "load_images"]

POSTGRES_IMAGE = "xmtpd-e2e-k8s/postgres:local"
POSTGRES_UID = 999
_SAFE = re.compile(r"[^a-zA-Z0-9_.-]")

_ENTRYPOINT = """#!/bin/sh
set -e
data=/var/lib/postgresql/data
if [ ! -s "$data/PG_VERSION" ]; then
  {bin}/initdb -D "$data" -U postgres --auth=trust --no-locale -E UTF8 --no-sync >/dev/null
  echo "host all all 0.0.0.0/0 trust" >> "$data/pg_hba.conf"
fi
exec {bin}/postgres -D "$data" "$@"
"""


def _postgres_bin_dir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise SetupError(
            "no PostgreSQL server is installed (looked in /usr/lib/postgresql/*/bin)",
            "install Debian's postgresql (scripts/setup does it)",
        )
    return candidates[-1].parent


def postgres_recipe(work: Path) -> ImageRecipe:
    """The in-cluster Postgres image from the host's installation."""
    bin_dir = _postgres_bin_dir()
    version = bin_dir.parent.name
    share = Path(f"/usr/share/postgresql/{version}")
    files: dict[str, Path] = {}
    executables = [bin_dir / "postgres", bin_dir / "initdb", Path("/bin/sh").resolve()]
    modules = [p for p in (bin_dir.parent / "lib").glob("*.so") if not p.name.startswith("llvmjit")]
    for binary in (*executables, *modules):
        files[str(binary)] = binary
        for library in shared_libraries(binary):
            files[str(library)] = library
    files["/bin/sh"] = Path("/bin/sh")
    for path in share.rglob("*"):
        if path.is_file() and "man" not in path.relative_to(share).parts:
            files[str(path)] = path
    for zone in ("UTC", "Etc/UTC", "GMT"):
        if Path("/usr/share/zoneinfo", zone).is_file():
            files[f"/usr/share/zoneinfo/{zone}"] = Path("/usr/share/zoneinfo", zone)
    work.mkdir(parents=True, exist_ok=True)
    generated = {
        "/etc/passwd": f"root:x:0:0::/root:/bin/sh\npostgres:x:{POSTGRES_UID}:{POSTGRES_UID}::/var/lib/postgresql:/bin/sh\n",
        "/etc/group": f"root:x:0:\npostgres:x:{POSTGRES_UID}:\n",
        "/usr/local/bin/postgres-entrypoint": _ENTRYPOINT.format(bin=bin_dir),
    }
    for target, text in generated.items():
        path = work / _SAFE.sub("_", target.strip("/"))
        path.write_text(text)
        path.chmod(0o755)
        files[target] = path
    return ImageRecipe(
        POSTGRES_IMAGE,
        files,
        "/usr/local/bin/postgres-entrypoint",
        env={"TZ": "UTC", "PGTZ": "UTC"},
        dirs=("tmp", "var/lib/postgresql", "var/lib/postgresql/data", "var/run/postgresql"),
    )


def _archive_for(recipe: ImageRecipe, cache: Path, user: int) -> tuple[Path, str, str]:
    digest = hashlib.sha256(recipe.input_hash().encode() + str(user).encode()).hexdigest()[:16]
    archive = cache / f"{_SAFE.sub('_', recipe.tag)}-{digest}.oci.tar"
    reference = normalized_reference(recipe.tag)
    if not archive.is_file():
        for stale in cache.glob(f"{_SAFE.sub('_', recipe.tag)}-*.oci.tar"):
            stale.unlink()
        partial = archive.with_suffix(".partial")
        write_oci_archive(
            partial,
            recipe.tag,
            recipe.files,
            [recipe.entrypoint],
            env=recipe.env,
            directories=tuple(d.strip("/") for d in recipe.dirs),
            user=user,
        )
        partial.rename(archive)
    return archive, reference, digest


def _imported(node: NodeLayout) -> dict[str, str]:
    try:
        return dict(json.loads((node.dir / "imported-images.json").read_text()))
    except (OSError, ValueError):
        return {}


def load_images(
    tags: Iterable[str],
    xmtpd_version: str,
    layout: ClusterLayout | None = None,
    *,
    baked_files: Mapping[str, Sequence[Path]] | None = None,
    say: Callable[[str], None] = lambda _m: None,
    extra: Sequence[ImageRecipe] = (),
) -> list[str]:
    """Import the images named by ``tags`` into every node of the local cluster (each once per
    content); returns their fully qualified references.  ``baked_files`` adds host files to an
    image (by tag) under ``file_path``: anvil's state, 1.8 MB, over a ConfigMap's limit, goes into
    the chain image.  Tags that are neither a local recipe nor Postgres must already be on the
    nodes or pullable.  ``extra`` are recipes beyond the local image set (the MLS validation
    service's, built from the binary the run was given); their tags are loaded too."""
    baked_files = baked_files or {}
    layout = layout or ClusterLayout.default()
    cache = kubernetes_home() / "images"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:  # parallel workers load the same images
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _load({*tags, *(r.tag for r in extra)}, xmtpd_version, layout, cache, baked_files, say, extra)


def _load(
    wanted: set[str],
    xmtpd_version: str,
    layout: ClusterLayout,
    cache: Path,
    baked_files: Mapping[str, Sequence[Path]],
    say: Callable[[str], None],
    extra: Sequence[ImageRecipe] = (),
) -> list[str]:
    known: dict[str, tuple[ImageRecipe, int]] = {recipe.tag: (recipe, 0) for recipe in extra}
    if wanted - {POSTGRES_IMAGE} - set(known):
        for recipe in recipes(xmtpd_version):
            if recipe.tag in wanted:
                baked = {file_path(path): path for path in baked_files.get(recipe.tag, ())}
                known[recipe.tag] = (dataclasses.replace(recipe, files={**recipe.files, **baked}), 0)
    if POSTGRES_IMAGE in wanted:
        known[POSTGRES_IMAGE] = (postgres_recipe(cache / "postgres-files"), POSTGRES_UID)
    references = []
    for tag in sorted(wanted):
        if tag not in known:
            reference = normalized_reference(tag)
            missing = [node.name for node in layout.nodes if reference not in node_images(node)]
            if missing:
                raise SetupError(
                    f"image {tag} is not on the local cluster's nodes ({', '.join(missing)}), and nothing can be pulled",
                    "use the local images (`--image-set local`, built by scripts/setup), or import it with "
                    "`ctr -a <node socket> -n k8s.io images import`",
                )
            references.append(reference)
            continue
        recipe, user = known[tag]
        archive, reference, digest = _archive_for(recipe, cache, user)
        references.append(reference)
        for node in layout.nodes:
            record = _imported(node)
            if record.get(reference) == digest and reference in node_images(node):
                continue
            say(f"importing {tag} into {node.name}")
            import_archive(node, archive)
            record[reference] = digest
            (node.dir / "imported-images.json").write_text(json.dumps(record, indent=2))
    return references
