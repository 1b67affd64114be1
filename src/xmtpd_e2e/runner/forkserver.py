"""A fork server for ``--parallel`` workers: the framework is imported once per run, not per scenario.

A worker process spends 1.5-1.9 s of CPU importing the framework (web3, eth-account -- whose
keyfile support computes BLS pairing constants at import -- gRPC, psycopg) before its scenario
does anything; on a 2-core machine running a 19-scenario suite that was a fifth of all the CPU
the suite used.  So the parent starts one server process that imports everything a worker needs,
starts no thread, and then forks a worker per job: each worker is still a fresh process with its
own run id and state (nothing of one scenario reaches another), it just starts with the imports
done.

Protocol over a ``SOCK_SEQPACKET`` socket pair: the parent sends the worker's arguments (JSON)
with its stdin, stdout and stderr descriptors attached; the server answers with the child's pid,
and later with its exit code once it has reaped it (the parent cannot: the worker is not its
child).  The server ignores SIGINT/SIGTERM (a Ctrl-C reaches the whole process group; the parent
forwards signals to the workers itself) and exits when the parent closes its end.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.polling import wait_until

__all__ = ["ForkServer", "ForkedProcess"]

_MESSAGE = 4096
_POLL_S = 0.05


class ForkedProcess:
    """A worker forked by the server, with the part of :class:`subprocess.Popen` the parent uses."""

    def __init__(self, server: ForkServer, pid: int, stdin: IO[bytes], stdout: IO[bytes]) -> None:
        self._server = server
        self.pid = pid
        self.stdin: IO[bytes] | None = stdin
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._server.exit_code(self.pid)
        return self.returncode

    def wait(self, timeout: float) -> int:
        try:
            code = wait_until(
                self.poll, lambda code: code is not None, timeout=timeout, description=f"worker {self.pid} to exit"
            )
        except WaitTimeout:
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout) from None
        assert code is not None
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The parent's side: start the server, fork workers through it, learn how they exited."""

    def __init__(self, stderr: IO[bytes]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._socket = ours
        self._process = subprocess.Popen(
            [sys.executable, "-m", "xmtpd_e2e.runner.forkserver", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=dict(os.environ),
        )
        theirs.close()
        self._exits: dict[int, int] = {}

    def spawn(self, argv: Sequence[str], stderr: IO[bytes]) -> ForkedProcess:
        """Fork a worker running ``python -m xmtpd_e2e.runner.worker ARGV`` with pipes for its
        stdin and stdout and ``stderr`` as its stderr."""
        child_in, parent_in = os.pipe()
        parent_out, child_out = os.pipe()
        try:
            socket.send_fds(
                self._socket, [json.dumps({"argv": list(argv)}).encode()], [child_in, child_out, stderr.fileno()]
            )
            pid = self._next_pid()
        finally:
            os.close(child_in)
            os.close(child_out)
        return ForkedProcess(self, pid, os.fdopen(parent_in, "wb"), os.fdopen(parent_out, "rb"))

    def exit_code(self, pid: int) -> int | None:
        self._read(block=False)
        return self._exits.get(pid)

    def close(self) -> None:
        """Closing our end tells the server to exit once its workers have (they are not killed)."""
        self._socket.close()
        try:
            self._process.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _next_pid(self) -> int:
        while True:
            message = self._read(block=True)
            if message is not None and "pid" in message:
                return int(message["pid"])

    def _read(self, *, block: bool) -> dict[str, Any] | None:
        """Take in exit reports; return the first other message (a pid) when ``block``."""
        while True:
            ready, _, _ = select.select([self._socket], [], [], None if block else 0)
            if not ready:
                return None
            data = self._socket.recv(_MESSAGE)
            if not data:
                raise OSError(f"the fork server exited ({self._process.poll()})")
            message = json.loads(data)
            if "exit" in message:
                self._exits[int(message["exit"])] = int(message["code"])
                continue
            return dict(message)


def _serve(channel: socket.socket) -> None:
    """The server's loop: fork on request, reap and report exits, end when the parent hangs up."""
    running: set[int] = set()
    parent_gone = False
    while not parent_gone or running:
        if not parent_gone:
            ready, _, _ = select.select([channel], [], [], _POLL_S)
            if ready:
                data, fds, _, _ = socket.recv_fds(channel, _MESSAGE, 3)
                if not data:
                    parent_gone = True
                else:
                    pid = _fork_worker(json.loads(data)["argv"], fds, channel)
                    running.add(pid)
                    channel.send(json.dumps({"pid": pid}).encode())
        else:
            time.sleep(_POLL_S)
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                if not parent_gone:
                    try:
                        channel.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())
                    except OSError:
                        parent_gone = True


def _fork_worker(argv: list[str], fds: list[int], channel: socket.socket) -> int:
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        return pid
    code = 1
    try:
        channel.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        from xmtpd_e2e.runner.worker import main

        main(argv)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # the worker's own handlers report errors; this is the last resort
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def _prepare() -> None:
    """Import what every worker needs; nothing here may start a thread (they do not survive fork).

    The built-in scenario modules too: a worker would otherwise parse the catalogue's source and
    import its scenario's module itself (0.3 s of CPU per worker; the scenario modules add 0.2 s
    here, once).  The discovery skips parsing a module already imported."""
    import importlib

    import xmtpd_e2e.api.environment  # noqa: F401
    import xmtpd_e2e.client.publisher  # noqa: F401
    import xmtpd_e2e.runner.cleanup  # noqa: F401
    import xmtpd_e2e.runner.execution  # noqa: F401
    import xmtpd_e2e.runner.lifecycle  # noqa: F401
    import xmtpd_e2e.runner.reports  # noqa: F401
    import xmtpd_e2e.runner.worker  # noqa: F401
    import xmtpd_e2e.runtime.local  # noqa: F401
    from xmtpd_e2e.runner.discovery import builtin_scenario_modules

    for module, _ in builtin_scenario_modules():
        importlib.import_module(module)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    channel = socket.socket(fileno=int(args[0]))
    _prepare()
    _serve(channel)


if __name__ == "__main__":
    main()
