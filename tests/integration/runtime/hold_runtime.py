"""Holds a runtime with one Redis running until killed: a runner that dies without teardown.

usage: python hold_runtime.py RUNTIME HOME   (prints the run id, then "holding", then sleeps)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from conftest import build_runtime
from redis_service import redis_spec

from xmtpd_e2e.record import RunState


def main() -> None:
    name, home = sys.argv[1], Path(sys.argv[2])
    state = RunState.create(home)  # never finished: this runner is killed, cleanup's test removes it
    runtime, config, _ = build_runtime(name, home, state)
    print(state.run_id, flush=True)
    runtime.start(redis_spec(runtime, config.images.redis, "held"))
    print("holding", flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main()
