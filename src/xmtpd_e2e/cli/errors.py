"""How every command ends on a :class:`SetupError`: the problem, the fix, exit code 2."""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console

from xmtpd_e2e.errors import SetupError

__all__ = ["fail_setup"]

# soft_wrap: a path or command in an error message must stay copy-pasteable, never broken by wrapping.
_stderr = Console(stderr=True, soft_wrap=True)


def fail_setup(error: SetupError) -> NoReturn:
    _stderr.print(f"[bold red]error:[/] {error.problem}")
    if error.fix:
        _stderr.print(f"[bold]fix:[/] {error.fix}")
    sys.exit(2)
