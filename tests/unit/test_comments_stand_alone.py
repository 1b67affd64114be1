"""Comments and docstrings state facts themselves, never "see the team's notes".

Users have the code, not the documents the team wrote it from; a comment citing "facts §5.4" or
a shared folder tells them nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A section sign, "facts §N", a team folder or notes file, or an open "spec TODO".
CITATION = re.compile(r"§|\bfacts\s+§|shared/(docs|spec|chain)|xmtpd-facts|spec TODO")


def test_no_comment_cites_a_team_document() -> None:
    offenders = []
    for folder in ("src", "tests", "bench", "scripts"):
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix not in (".py", ".sh", "") or "results" in path.parts:
                continue
            if path.resolve() == Path(__file__).resolve():
                continue
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if CITATION.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "state the fact instead of citing where it is written:\n" + "\n".join(offenders)
