import asyncio

import pytest

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.users.event_loop import LoopThread


async def _answer(delay: float) -> int:
    await asyncio.sleep(delay)
    return 42


def test_runs_a_coroutine_and_gives_up_on_a_hung_one_naming_it() -> None:
    loop = LoopThread("test-loop")
    try:
        assert loop.run(_answer(0), timeout=5, what="quick") == 42
        with pytest.raises(E2EError, match="alice: sync did not finish within 0 s"):
            loop.run(_answer(10), timeout=0.2, what="alice: sync")
    finally:
        loop.close()
    with pytest.raises(E2EError, match="closed"):
        loop.run(_answer(0), timeout=1, what="after close")
