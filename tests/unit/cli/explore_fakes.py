"""A fake environment for ``explore``'s command-line tests: it takes a minute to start, so a
signal lands while a run is setting up, as a Ctrl-C during a real cluster's bring-up does."""

from __future__ import annotations

import time

from xmtpd_e2e.runner.lifecycle import EnvironmentRequest

from unit.runner.fakes import FakeEnvironment, record


class SlowEnvironment(FakeEnvironment):
    def start(self) -> None:
        record("start", scenario=self.name)
        time.sleep(60)


def factory(request: EnvironmentRequest) -> SlowEnvironment:
    return SlowEnvironment(request)
