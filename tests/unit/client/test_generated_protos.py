"""The committed protobuf modules are exactly what `scripts/generate-protos` produces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[3]
PROTO_DIR = ROOT / "src" / "xmtpd_e2e" / "client" / "proto"


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    subprocess.run(
        [str(ROOT / "scripts" / "generate-protos"), str(tmp_path)],
        check=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*_pb2.py*"))
    committed = sorted(p.relative_to(ROOT / "src") for p in PROTO_DIR.glob("*_pb2.py*"))
    assert generated == committed
    for relative in generated:
        assert (tmp_path / relative).read_bytes() == (ROOT / "src" / relative).read_bytes(), f"{relative} is stale"
