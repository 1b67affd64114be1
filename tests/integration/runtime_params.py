"""Every registered runtime as a pytest parameter.

The kubernetes runtime needs the local cluster (or a kubeconfig), so its parameter carries the
``kubernetes`` marker: deselected by default, run by ``make e2e-kubernetes`` (``-m kubernetes``).
"""

from __future__ import annotations

import pytest

from xmtpd_e2e.runtime.registry import KUBERNETES, RUNTIMES


def runtime_params() -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.kubernetes) if name == KUBERNETES else name for name in RUNTIMES.names()
    ]
