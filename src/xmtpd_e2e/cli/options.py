"""CLI options shared by commands, each bound to an ``XMTPD_E2E_<FLAG>`` environment variable.

Values from the environment are validated like flags; an invalid one is a usage error that
names the variable, so a stray export is easy to find.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

__all__ = ["env_name", "option", "choice_option", "validation_options"]

F = TypeVar("F", bound=Callable[..., Any])


def env_name(flag: str) -> str:
    return "XMTPD_E2E_" + flag.lstrip("-").upper().replace("-", "_")


def option(flag: str, *names: str, **kwargs: Any) -> Callable[[F], F]:
    return click.option(flag, *names, envvar=env_name(flag), show_envvar=True, **kwargs)


def choice_option(flag: str, choices: Sequence[str], default: str, help: str) -> Callable[[F], F]:
    """A choice whose invalid value names where it came from (flag or environment variable)."""

    def validate(ctx: click.Context, param: click.Parameter, value: str) -> str:
        if value not in choices:
            source = ctx.get_parameter_source(param.name or "")
            origin = f"environment variable {env_name(flag)}" if source is ParameterSource.ENVIRONMENT else flag
            raise click.BadParameter(f"{value!r} is not one of {', '.join(choices)} (from {origin})", ctx, param)
        return value

    return option(flag, default=default, callback=validate, help=f"{help} [{'|'.join(choices)}]")


def validation_options(func: F) -> F:
    """``--mls-validation-bin`` and ``--mls-validation-image``: where the MLS validation service
    comes from (checked when the run's settings are built, see ``cli.run_settings``)."""
    func = option(
        "--mls-validation-image",
        default=None,
        help="MLS validation service image (docker, kubernetes), e.g. ghcr.io/xmtp/mls-validation-service:<tag>",
    )(func)
    return option(
        "--mls-validation-bin",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="libxmtp's mls-validation-service binary (local runtime; docker/kubernetes build an image from "
        "it); default: $XMTPD_E2E_HOME/bin or PATH",
    )(func)
