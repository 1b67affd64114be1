"""The generated wrapper module and version stamp of the Kubernetes build."""

from __future__ import annotations

from xmtpd_e2e.infra.kubernetes.build import staging_modules, version_ldflags, wrapper_go_mod
from xmtpd_e2e.infra.kubernetes.versions import KUBERNETES_VERSION, STAGING_VERSION

KUBERNETES_GO_MOD = """module k8s.io/kubernetes

go 1.24.0

require (
\tk8s.io/api v0.0.0
\tgithub.com/spf13/cobra v1.9.1
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/some/fork => github.com/other/fork v1.0.0
)

replace k8s.io/kubectl => ./staging/src/k8s.io/kubectl
"""


def test_staging_modules_are_the_in_tree_replacements_only() -> None:
    assert staging_modules(KUBERNETES_GO_MOD) == ["k8s.io/api", "k8s.io/client-go", "k8s.io/kubectl"]


def test_wrapper_requires_the_release_and_replaces_each_staging_module_with_its_published_twin() -> None:
    text = wrapper_go_mod(["k8s.io/api", "k8s.io/client-go"])
    assert f"require k8s.io/kubernetes {KUBERNETES_VERSION}" in text
    assert f"\tk8s.io/api => k8s.io/api {STAGING_VERSION}" in text
    assert f"\tk8s.io/client-go => k8s.io/client-go {STAGING_VERSION}" in text
    assert "./staging" not in text


def test_version_is_stamped_into_both_version_packages() -> None:
    flags = version_ldflags("2026-01-01T00:00:00Z")
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {package}.gitVersion={KUBERNETES_VERSION}" in flags
        assert f"-X {package}.gitMajor=1" in flags
        assert f"-X {package}.gitMinor=34" in flags
