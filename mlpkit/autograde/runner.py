"""The grader's side of the sandbox: start it, talk to it, time it out, kill it.

Processes (see ``_sandbox.py``)::

    grader (nbgrader)            trusted; decides every verdict
      `-- zygote                 trusted; NumPy/Matplotlib imported once; runs no student code
            `-- notebook         one per submission: confined, runs the student's cells
                  `-- check      one per graded check: a fork holding the notebook's state

Every wait has a deadline. When one passes, the grader sends SIGKILL to the process group
(a loop that ignores SIGINT, or catches every exception, still dies), and the caller learns
it as :class:`Timeout`; a process that dies or talks nonsense is :class:`Broken`.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from mlpkit.autograde import wire

SANDBOX_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_sandbox.py")


class SandboxError(Exception):
    """Base class: something went wrong with a sandbox process."""


class Timeout(SandboxError):
    """A deadline passed; the process was killed."""


class Broken(SandboxError):
    """The process died, or sent something that is not a valid message; it was killed."""


def _kill_group(pid: int | None) -> None:
    if not pid:
        return
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _receive(sock: socket.socket, deadline: float, *, with_fds: bool = False):
    """One message before ``deadline`` (time.monotonic()); Timeout or Broken otherwise."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Timeout("deadline passed")
    sock.settimeout(remaining)
    try:
        return wire.recv(sock, with_fds=with_fds)
    except (socket.timeout, TimeoutError):
        raise Timeout("no answer before the deadline") from None
    except (EOFError, OSError, wire.WireError) as exc:
        raise Broken(str(exc) or type(exc).__name__) from None


def _send(sock: socket.socket, message: dict) -> None:
    try:
        sock.settimeout(5.0)
        wire.send(sock, message)
    except (OSError, wire.WireError) as exc:
        raise Broken(f"could not send: {exc}") from None


@dataclass
class Limits:
    """What one notebook process may use (see ``confine.py``)."""

    memory_mb: int = 2048
    cpu_seconds: int = 300
    file_mb: int = 64
    max_output_chars: int = 20000
    restrict_reads: bool = True
    extra_read_paths: list[str] = field(default_factory=list)

    def spawn_params(self, scratch: str, zygote: Zygote, forbidden: dict) -> dict:
        """What ``Zygote.spawn`` sends: these limits, the scratch folder, the refused modules."""
        return {"scratch": scratch, "memory_mb": self.memory_mb, "cpu_seconds": self.cpu_seconds,
                "file_mb": self.file_mb, "max_output_chars": self.max_output_chars,
                "restrict_reads": self.restrict_reads,
                "read_paths": list(zygote.info.get("read_paths", [])) + list(self.extra_read_paths),
                "forbidden": dict(forbidden)}


class Zygote:
    """The trusted process that forks notebook processes (one per ``nbgrader`` run)."""

    def __init__(self, preload=("numpy", "matplotlib", "matplotlib.pyplot"), python=None):
        self.preload = list(preload)
        self.python = python or sys.executable
        self.proc = None
        self.sock = None
        self.info: dict = {}
        self._log = None

    def start(self, timeout: float = 120.0) -> None:
        parent, child = socket.socketpair()
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PYTHON", "JPY_", "NBGRADER", "JUPYTER"))}
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   MPLBACKEND="Agg", PYTHONHASHSEED="0")
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [self.python, "-I", "-B", SANDBOX_SCRIPT, "zygote", str(child.fileno()),
             json.dumps(self.preload)],
            pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=self._log, env=env, start_new_session=True, cwd=tempfile.gettempdir())
        child.close()
        self.sock = parent
        try:
            hello = _receive(parent, time.monotonic() + timeout)
        except SandboxError as exc:
            self.close()
            raise SandboxError(f"the sandbox did not start ({exc}): {self._log_text()}") from None
        if hello.get("op") != "hello":
            self.close()
            raise SandboxError(f"the sandbox said {hello!r} instead of hello")
        self.info = hello

    def _log_text(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read()[-2000:].decode(errors="replace")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self, params: dict, timeout: float = 30.0) -> NotebookProcess:
        """A fresh, confined notebook process (params: see ``_sandbox.notebook_process``)."""
        if not self.alive:
            self.start()
        deadline = time.monotonic() + timeout
        _send(self.sock, {"op": "spawn", **params})
        reply, fds = _receive(self.sock, deadline, with_fds=True)
        if reply.get("op") != "spawned" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            self.close()
            raise Broken(f"the zygote answered {reply.get('op')!r}")
        pid = int(reply["pid"])
        sock = socket.socket(fileno=fds[0])
        try:
            ready = _receive(sock, deadline)
        except SandboxError:
            sock.close()
            _kill_group(pid)
            raise
        if ready.get("op") != "ready":
            sock.close()
            _kill_group(pid)
            raise Broken("the notebook process did not report ready")
        return NotebookProcess(pid, sock, ready.get("confinement") or {})

    def sweep(self, timeout: float = 5.0) -> int:
        """Kill every process left over from the last notebook; returns how many were killed."""
        if not self.alive:
            return 0
        try:
            _send(self.sock, {"op": "sweep"})
            reply = _receive(self.sock, time.monotonic() + timeout)
        except SandboxError:
            self.close()
            return 0
        return int(reply.get("killed", 0)) if reply.get("op") == "swept" else 0

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            _kill_group(self.proc.pid)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None


_ZYGOTE: Zygote | None = None


def shared_zygote(preload) -> Zygote:
    """The zygote of this grader process, started on first use and stopped at exit."""
    global _ZYGOTE
    if _ZYGOTE is None or _ZYGOTE.preload != list(preload):
        if _ZYGOTE is not None:
            _ZYGOTE.close()
        _ZYGOTE = Zygote(preload)
        atexit.register(_ZYGOTE.close)
    if not _ZYGOTE.alive:
        _ZYGOTE.start()
    return _ZYGOTE


@dataclass
class CellRun:
    status: str  # "ok", "error" (the cell raised), "timeout", "died"
    outputs: list
    seconds: float
    detail: str = ""


class NotebookProcess:
    """A confined process holding one submission's state."""

    def __init__(self, pid: int, sock: socket.socket, confinement: dict):
        self.pid, self.sock, self.confinement = pid, sock, confinement
        self.child_pid: int | None = None
        self.dead = False

    def exec_cell(self, code: str, timeout: float) -> CellRun:
        start = time.monotonic()
        try:
            _send(self.sock, {"op": "exec", "code": code})
            reply = _receive(self.sock, start + timeout)
        except Timeout:
            self.kill()
            return CellRun("timeout", [], time.monotonic() - start)
        except Broken as exc:
            self.kill()
            return CellRun("died", [], time.monotonic() - start, str(exc))
        outputs = reply.get("outputs")
        if reply.get("op") != "executed" or not isinstance(outputs, list):
            self.kill()
            return CellRun("died", [], time.monotonic() - start, "unexpected reply")
        status = "error" if reply.get("status") == "error" else "ok"
        return CellRun(status, outputs, time.monotonic() - start)

    def open_child(self, timeout: float = 10.0) -> ChildProcess:
        """Fork a check process holding the current state (Broken if this process is gone)."""
        _send(self.sock, {"op": "fork"})
        try:
            reply, fds = _receive(self.sock, time.monotonic() + timeout, with_fds=True)
        except SandboxError:
            self.kill()
            raise Broken("the notebook process did not fork") from None
        if reply.get("op") != "forked" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            self.kill()
            raise Broken("the notebook process did not fork")
        self.child_pid = int(reply["pid"])
        return ChildProcess(self.child_pid, socket.socket(fileno=fds[0]))

    def close_child(self, child: ChildProcess, timeout: float = 5.0) -> str:
        """Stop ``child`` and collect how it ended; kills this process too if it stops answering."""
        child.stop()
        self.child_pid = None
        try:
            reply = _receive(self.sock, time.monotonic() + timeout)
        except SandboxError:
            self.kill()
            return "stopped (its exit status is unknown: the notebook process stopped answering)"
        if reply.get("op") != "child_exit":
            self.kill()
            return "stopped (its exit status is unknown)"
        return str(reply.get("status", "unknown"))[:200]

    def kill(self) -> None:
        if self.child_pid:
            _kill_group(self.child_pid)
        _kill_group(self.pid)
        self.dead = True
        try:
            self.sock.close()
        except OSError:
            pass


class ChildProcess:
    """A check process: requests go in, plain data comes back; evaluations are served on the way."""

    def __init__(self, pid: int, sock: socket.socket):
        self.pid, self.sock = pid, sock
        self.dead = False
        self.ended = ""

    def request(self, message: dict, deadline: float, serve_eval) -> dict:
        """Send ``message``; answer ``eval`` requests with ``serve_eval(msg) -> reply`` until
        the final reply arrives. Timeout/Broken kill the process."""
        if self.dead:
            raise Broken("the process running your code had already stopped")
        try:
            _send(self.sock, message)
            while True:
                reply = _receive(self.sock, deadline)
                if reply.get("op") != "eval":
                    return reply
                _send(self.sock, serve_eval(reply))
        except SandboxError:
            self.kill()
            raise

    def kill(self) -> None:
        _kill_group(self.pid)
        self.dead = True

    def stop(self) -> None:
        if not self.dead:
            try:
                self.sock.settimeout(1.0)
                wire.send(self.sock, {"op": "exit"})
                self.sock.recv(1)  # EOF when it has gone
            except (OSError, wire.WireError):
                pass
        self.kill()
        try:
            self.sock.close()
        except OSError:
            pass
