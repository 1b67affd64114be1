"""The cluster's certificates, made with ``openssl``: a CA and one key pair per identity.

Kubernetes authenticates every component by its client certificate (user = CN, groups = O), so
each component gets its own; the API server's serving certificate names every address it is
reached at (loopback, the bridge address, the ``kubernetes`` service IP and DNS names).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.kubernetes.layout import API_SERVICE_IP, ClusterLayout

__all__ = ["Identity", "identities", "ensure_certificates"]

_DAYS = "3650"
_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]


@dataclass(frozen=True)
class Identity:
    """A key pair ``<name>.key``/``<name>.crt`` under the PKI directory."""

    name: str
    common_name: str
    organization: str | None = None
    server_names: tuple[str, ...] = ()  # SANs; a server certificate when not empty


def identities(layout: ClusterLayout) -> list[Identity]:
    api_names = (
        "IP:127.0.0.1",
        f"IP:{API_SERVICE_IP}",
        f"IP:{layout.api_address}",
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        "DNS:kubernetes.default.svc.cluster.local",
    )
    result = [
        Identity("apiserver", "kube-apiserver", server_names=api_names),
        Identity("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"),
        Identity("admin", "xmtpd-e2e-admin", "system:masters"),
        Identity("controller-manager", "system:kube-controller-manager"),
        Identity("scheduler", "system:kube-scheduler"),
        Identity("kube-proxy", "system:kube-proxy", "system:node-proxier"),
    ]
    for node in layout.nodes:
        result.append(Identity(f"{node.name}-client", f"system:node:{node.name}", "system:nodes"))
        result.append(Identity(f"{node.name}-serving", node.name, server_names=(f"IP:{node.ip}", f"DNS:{node.name}")))
    return result


def _openssl(argv: list[str], cwd: Path) -> None:
    completed = subprocess.run(["openssl", *argv], cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SetupError(
            f"openssl {argv[0]} failed: {completed.stderr.strip()[-300:]}",
            "check that openssl is installed (Debian: openssl)",
        )


def _subject(identity: Identity) -> str:
    return (f"/O={identity.organization}" if identity.organization else "") + f"/CN={identity.common_name}"


def _issue(pki: Path, identity: Identity) -> None:
    usage = "serverAuth" if identity.server_names else "clientAuth"
    extensions = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if identity.server_names:
        extensions.append("subjectAltName=" + ",".join(identity.server_names))
    ext_file = pki / f"{identity.name}.ext"
    ext_file.write_text("\n".join(extensions) + "\n")
    _openssl(
        [
            "req",
            "-new",
            "-nodes",
            *_KEY,
            "-keyout",
            f"{identity.name}.key",
            "-out",
            f"{identity.name}.csr",
            "-subj",
            _subject(identity),
        ],
        pki,
    )
    _openssl(
        [
            "x509",
            "-req",
            "-in",
            f"{identity.name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            _DAYS,
            "-extfile",
            ext_file.name,
            "-out",
            f"{identity.name}.crt",
        ],
        pki,
    )
    (pki / f"{identity.name}.csr").unlink()
    ext_file.unlink()


def ensure_certificates(layout: ClusterLayout) -> None:
    """Create whatever key pair is missing (the CA first); existing ones are kept."""
    pki = layout.pki
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    if not (pki / "ca.crt").exists():
        _openssl(
            [
                "req",
                "-x509",
                "-new",
                "-nodes",
                *_KEY,
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                _DAYS,
                "-subj",
                "/CN=xmtpd-e2e-kubernetes-ca",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            pki,
        )
    if not (pki / "service-account.key").exists():
        _openssl(
            ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "service-account.key"],
            pki,
        )
        _openssl(["pkey", "-in", "service-account.key", "-pubout", "-out", "service-account.pub"], pki)
    for identity in identities(layout):
        if not (pki / f"{identity.name}.crt").exists():
            _issue(pki, identity)
