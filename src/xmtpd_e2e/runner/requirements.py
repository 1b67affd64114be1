"""What a scenario may declare it needs beyond the base cluster, and why a run cannot give it.

A scenario declares ``requires=("mls-validation",)``; the runner asks :func:`unmet_requirement`
before building its environment and, when the run cannot provide it, records the scenario as a
SETUP_ERROR with the reason and the fix -- never a silent skip -- and goes on with the others.
"""

from __future__ import annotations

from collections.abc import Callable

from xmtpd_e2e.config import AUTO_RUNTIME, RunConfig
from xmtpd_e2e.errors import SetupError

__all__ = ["MLS_VALIDATION", "XMTP_USERS", "KNOWN_REQUIREMENTS", "unmet_requirement"]

MLS_VALIDATION = "mls-validation"
"""libxmtp's MLS validation service (nodes validate key packages and identity updates with it)."""
XMTP_USERS = "xmtp-users"
"""Real XMTP users: libxmtp's Python bindings (PyPI ``xmtp-bindings``) in the runner's Python."""
KNOWN_REQUIREMENTS = (MLS_VALIDATION, XMTP_USERS)


def _runs_images(config: RunConfig) -> bool:
    from xmtpd_e2e.runtime.registry import LOCAL, RUNTIMES

    if config.runtime != AUTO_RUNTIME:
        return config.runtime != LOCAL
    try:
        return RUNTIMES.resolve(config.runtime).name != LOCAL
    except SetupError:
        return False  # no runtime can run here: the environment's own start says so


def _mls_validation(config: RunConfig) -> SetupError | None:
    from xmtpd_e2e.infra.validation import validation_unavailable

    return validation_unavailable(config, runs_images=_runs_images(config))


def _xmtp_users(config: RunConfig) -> SetupError | None:
    from xmtpd_e2e.users.bindings import bindings_problem

    return bindings_problem()


_CHECKS: dict[str, Callable[[RunConfig], SetupError | None]] = {
    MLS_VALIDATION: _mls_validation,
    XMTP_USERS: _xmtp_users,
}


def unmet_requirement(scenario: str, requires: tuple[str, ...], config: RunConfig) -> SetupError | None:
    """The first of ``requires`` this run cannot provide, as a SetupError naming ``scenario``."""
    for name in requires:
        problem = _CHECKS[name](config)
        if problem is not None:
            return SetupError(f"{scenario} needs the {name} service, and {problem.problem}", problem.fix)
    return None
