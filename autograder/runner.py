"""The grader's side of the sandbox: start it, talk to it, time it out, kill it.

Processes (see ``_sandbox.py``)::

    grader (nbgrader)            trusted; decides every verdict
      `-- zygote                 trusted; NumPy/Matplotlib imported once; runs no student code
            `-- notebook         one per submission: confined, runs the student's cells
                  `-- check      one per graded check: a fork holding the notebook's state

It is longer than the course's usual 500 lines, so that every wait of the grader and its
overall deadline sit in one module to audit (per-check isolation is ``isolation.py``).

Every wait has a deadline. When one passes, the grader sends SIGKILL to the process group
(a loop that ignores SIGINT, or catches every exception, still dies), and the caller learns
it as :class:`Timeout`; a process that dies or talks nonsense is :class:`Broken`.
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autograder import wire

if TYPE_CHECKING:  # isolation.py imports this module
    from autograder.isolation import Isolation

SANDBOX_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_sandbox.py")


class SandboxError(Exception):
    """Base class: something went wrong with a sandbox process."""


class Timeout(SandboxError):
    """A deadline passed; the process was killed."""


class Broken(SandboxError):
    """The process died, or sent something that is not a valid message; it was killed."""


def _kill_group(pid: int | None) -> None:
    """SIGKILL the process group ``pid`` and the process ``pid`` (only for pids the grader
    itself started or was told by the trusted zygote; see :class:`ProcessHandle` otherwise)."""
    if not isinstance(pid, int) or pid <= 1:
        return
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


def parent_of(pid: int) -> int | None:
    """The parent process id of ``pid`` (from /proc; from ``ps`` where there is no /proc, as on
    macOS), None if there is no such process."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                return int(handle.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return None
    try:
        found = subprocess.run(["ps", "-o", "ppid=", "-p", str(int(pid))], capture_output=True,
                               text=True, timeout=5).stdout.strip()
        return int(found) if found else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


class ProcessHandle:
    """A sandbox process the grader may have to kill, held by a pidfd where the OS has them.

    A pid is only a number: once its process has ended the number can name another process.
    A pidfd always names the process it was opened for, so a kill through it can never hit an
    unrelated process. Pids reported by the (untrusted) notebook process are accepted only
    if that process is their parent (``parent``), so a forged pid cannot point the grader at
    itself, at the zygote or at any process outside the sandbox.
    """

    def __init__(self, pid, parent: int | None = None):
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
            raise ValueError(f"not a process id: {pid!r}")
        self.pid = pid
        self.closed = False
        try:
            self.fd = os.pidfd_open(pid)
        except (OSError, AttributeError):
            self.fd = None
        if parent is not None and parent_of(pid) != parent:
            self.close()
            raise ValueError(f"process {pid} is not a child of process {parent}")

    def alive(self) -> bool:
        if self.fd is None:
            return parent_of(self.pid) is not None
        try:
            signal.pidfd_send_signal(self.fd, 0)
            return True
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the process, and its process group if it leads one (no-op once closed)."""
        if self.closed or (self.fd is None and parent_of(self.pid) is None):
            return
        if self.alive():
            try:
                if os.getpgid(self.pid) == self.pid:
                    os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            if self.fd is not None:
                signal.pidfd_send_signal(self.fd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def close(self) -> None:
        self.closed = True
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


def _receive(sock: socket.socket, deadline: float, *, with_fds: bool = False):
    """One whole message before ``deadline`` (time.monotonic()); Timeout or Broken otherwise.

    The deadline bounds the whole frame, not each read: a process that sends a byte at a time
    cannot keep the grader waiting past it."""
    if deadline - time.monotonic() <= 0:
        raise Timeout("deadline passed")
    try:
        return wire.recv(sock, with_fds=with_fds, deadline=deadline)
    except (socket.timeout, TimeoutError):
        raise Timeout("no answer before the deadline") from None
    except (EOFError, OSError, wire.WireError) as exc:
        raise Broken(str(exc) or type(exc).__name__) from None


def _socket_from(fd: int) -> socket.socket | None:
    """The Unix stream socket ``fd`` (received over the wire), or None (fd closed) if it is not one."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        try:
            os.close(fd)
        except OSError:
            pass
        return None
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        sock.close()
        return None
    return sock


SEND_TIMEOUT = 5.0  # seconds to hand one message to a process that reads it (a trusted zygote)
STOP_GRACE = 1.0  # seconds a check process gets to exit before SIGKILL
SWEEP_TIMEOUT = 5.0  # seconds the zygote gets to kill what a notebook left running


def worst_case_notebook_seconds(notebook_timeout: float) -> float:
    """The longest one notebook can keep the grader (docs/instructor.md): every wait ends by
    the notebook's deadline; after it, only clean-up is left: the running check process is
    killed (STOP_GRACE), the sandbox's other processes are let go or killed (SWEEP_TIMEOUT),
    and what is left of the notebook's processes is swept (SWEEP_TIMEOUT)."""
    return notebook_timeout + STOP_GRACE + 2 * SWEEP_TIMEOUT


def soonest(*deadlines: float | None) -> float:
    """The earliest of the given deadlines (None: no deadline)."""
    return min(d for d in deadlines if d is not None)


def _send(sock: socket.socket, message: dict, deadline: float | None = None) -> None:
    """Send ``message`` before ``deadline`` (default: SEND_TIMEOUT from now): a process that
    reads slowly, or not at all, cannot keep the grader waiting past it (Timeout)."""
    deadline = soonest(time.monotonic() + SEND_TIMEOUT, deadline)
    try:
        wire.send(sock, message, deadline=deadline)
    except (socket.timeout, TimeoutError):
        raise Timeout("the other side did not read before the deadline") from None
    except (OSError, wire.WireError) as exc:
        raise Broken(f"could not send: {exc}") from None


# What the sandbox's environment keeps of the grader's: nothing else (the course secret, tokens,
# paths of the course or of the gradebook never reach student code).
# HOME and MPLCONFIGDIR let the zygote find Matplotlib's font cache; each notebook process
# then points HOME at its scratch folder and drops the rest.
ENVIRONMENT_KEPT = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "USER", "LOGNAME", "HOME",
                    "MPLCONFIGDIR")


def sandbox_environment(environ) -> dict:
    """The zygote's environment: a few harmless variables of the grader's, and fixed settings."""
    env = {key: value for key, value in environ.items()
           if key in ENVIRONMENT_KEPT or key.startswith("LC_")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               MPLBACKEND="Agg", PYTHONHASHSEED="0")
    return env


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
        """What ``Zygote.spawn`` sends: these limits, the scratch folder, the refused modules
        and the files the sandbox may not read (their source and bytecode)."""
        return {"scratch": scratch, "memory_mb": self.memory_mb, "cpu_seconds": self.cpu_seconds,
                "file_mb": self.file_mb, "max_output_chars": self.max_output_chars,
                "restrict_reads": self.restrict_reads,
                "read_paths": list(zygote.info.get("read_paths", [])) + list(self.extra_read_paths),
                "forbidden": dict(forbidden), "deny_paths": forbidden_files(forbidden)}


def forbidden_files(modules) -> list[str]:
    """The files of the modules ``modules`` (a package: its folder; a module: its source and any
    compiled or cached bytecode of it). Modules that are not installed have none."""
    paths: set[str] = set()
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except Exception:  # noqa: BLE001 - a missing or broken parent package: nothing to deny
            continue
        if spec is None:
            continue
        if spec.submodule_search_locations:
            paths.update(os.path.realpath(p) for p in spec.submodule_search_locations)
            continue
        if not spec.origin or not os.path.isfile(spec.origin):
            continue  # built-in or frozen: nothing on disk
        folder, base = os.path.split(os.path.realpath(spec.origin))
        stem = glob.escape(base.split(".")[0])
        paths.add(os.path.join(folder, base))
        paths.update(glob.glob(os.path.join(glob.escape(folder), stem + ".*")))
        paths.update(glob.glob(os.path.join(glob.escape(folder), "__pycache__", stem + ".*")))
    return sorted(paths)


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
        env = sandbox_environment(os.environ)
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

    def spawn(self, params: dict, timeout: float = 30.0, deadline: float | None = None) -> NotebookProcess:
        """A fresh, confined notebook process (params: see ``_sandbox.notebook_process``),
        before ``timeout`` seconds from now and before ``deadline`` (Timeout otherwise)."""
        deadline = soonest(time.monotonic() + timeout, deadline)
        if not self.alive:
            self.start(timeout=max(deadline - time.monotonic(), 0.001))
        _send(self.sock, {"op": "spawn", **params}, deadline)
        reply, fds = _receive(self.sock, deadline, with_fds=True)
        if reply.get("op") != "spawned" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            self.close()
            raise Broken(f"the zygote answered {reply.get('op')!r}")
        pid = int(reply["pid"])
        handle = ProcessHandle(pid)  # before any student code runs: this is the zygote's child
        sock = _socket_from(fds[0])
        if sock is None:
            handle.kill()
            handle.close()
            raise Broken("the zygote passed something that is not a socket")
        try:
            ready = _receive(sock, deadline)
        except SandboxError:
            sock.close()
            handle.kill()
            handle.close()
            raise
        if ready.get("op") != "ready":
            sock.close()
            handle.kill()
            handle.close()
            raise Broken("the notebook process did not report ready")
        confinement = ready.get("confinement")
        return NotebookProcess(handle, sock, confinement if isinstance(confinement, dict) else {})

    def sweep(self, timeout: float = SWEEP_TIMEOUT) -> int:
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

    def freeze(self, check_pid: int, deadline: float | None = None) -> int:
        """Stop every process of the sandbox but the check process ``check_pid``."""
        until = soonest(time.monotonic() + SWEEP_TIMEOUT, deadline)
        _send(self.sock, {"op": "freeze", "except": int(check_pid)}, until)
        reply = _receive(self.sock, until)
        if reply.get("op") != "frozen":
            raise Broken("the zygote did not freeze the sandbox")
        return int(reply.get("count", 0))

    def thaw(self) -> int:
        """Kill what appeared during the check, continue the rest; how many were killed."""
        if not self.alive:
            return 0
        try:
            until = time.monotonic() + SWEEP_TIMEOUT
            _send(self.sock, {"op": "thaw"}, until)
            reply = _receive(self.sock, until)
        except SandboxError:
            self.close()  # its processes die with it (PR_SET_PDEATHSIG): nothing stays frozen
            return 0
        return int(reply.get("killed", 0)) if reply.get("op") == "thawed" else 0

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

    def __init__(self, handle: ProcessHandle, sock: socket.socket, confinement: dict):
        self.handle, self.sock, self.confinement = handle, sock, confinement
        self.pid = handle.pid
        self.child: ChildProcess | None = None
        self.dead = False

    def exec_cell(self, code: str, timeout: float, deadline: float | None = None) -> CellRun:
        """Run one cell within ``timeout`` seconds and before ``deadline`` (the notebook's)."""
        start = time.monotonic()
        until = soonest(start + timeout, deadline)
        try:
            _send(self.sock, {"op": "exec", "code": code}, until)
            reply = _receive(self.sock, until)
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

    def open_child(self, timeout: float = 10.0, deadline: float | None = None,
                   isolation: Isolation | None = None) -> ChildProcess:
        """Fork a check process holding the current state (Broken if this process is gone),
        cut off from the notebook process (:class:`Isolation`) before it gets any input."""
        if isolation is None:
            raise TypeError("a check process needs an Isolation: it serves no call without one")
        until = soonest(time.monotonic() + timeout, deadline)
        try:
            _send(self.sock, {"op": "fork"}, until)
            reply, fds = _receive(self.sock, until, with_fds=True)
        except SandboxError:
            self.kill()
            raise Broken("the notebook process did not fork") from None
        if reply.get("op") != "forked" or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            self.kill()
            raise Broken("the notebook process did not fork")
        sock = _socket_from(fds[0])
        try:  # the pid comes from student-controlled code: accept only a child of this process
            handle = ProcessHandle(reply.get("pid"), parent=self.pid)
        except ValueError:
            handle = None
        if sock is None or handle is None:
            if sock is not None:
                sock.close()
            self.kill()
            raise Broken("the notebook process sent something that is not a check process")
        self.child = ChildProcess(handle, sock)
        if isolation is not None:
            try:
                isolation.enter(self.child, self.pid, until)
            except SandboxError:
                self.child.kill()
                isolation.leave(self.child)
                self.child = None
                self.kill()
                raise
        return self.child

    def close_child(self, child: ChildProcess, timeout: float = 5.0, deadline: float | None = None) -> str:
        """Stop ``child`` and collect how it ended; kills this process too if it stops answering
        within ``timeout`` seconds or before ``deadline``."""
        child.stop()
        self.child = None
        if child.isolation is not None:
            child.isolation.leave(child)
        try:
            reply = _receive(self.sock, soonest(time.monotonic() + timeout, deadline))
        except SandboxError:
            self.kill()
            return "stopped (its exit status is unknown: the notebook process stopped answering)"
        if reply.get("op") != "child_exit":
            self.kill()
            return "stopped (its exit status is unknown)"
        return str(reply.get("status", "unknown"))[:200]

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child = None
        self.handle.kill()
        self.handle.close()
        self.dead = True
        try:
            self.sock.close()
        except OSError:
            pass


class ChildProcess:
    """A check process: requests go in, plain data comes back; evaluations are served on the way."""

    def __init__(self, handle: ProcessHandle, sock: socket.socket):
        self.handle, self.sock = handle, sock
        self.pid = handle.pid
        self.dead = False
        self.ended = ""
        self.isolation: Isolation | None = None
        self.scratch: str | None = None  # its own scratch folder (removed when it ends)
        self.before: dict | None = None  # the notebook's scratch folder when it started
        self.tampered = ""  # what the check changed that it could not have, if anything

    def request(self, message: dict, deadline: float, serve_eval) -> dict:
        """Send ``message``; answer ``eval`` requests with ``serve_eval(msg) -> reply`` until
        the final reply arrives. Timeout/Broken kill the process."""
        if self.dead:
            raise Broken("the process running your code had already stopped")
        try:
            _send(self.sock, message, deadline)
            while True:
                reply = _receive(self.sock, deadline)
                if reply.get("op") != "eval":
                    return reply
                _send(self.sock, serve_eval(reply), deadline)
        except SandboxError:
            self.kill()
            raise

    def kill(self) -> None:
        self.handle.kill()
        self.wait_gone(STOP_GRACE)
        self.handle.close()
        self.dead = True

    def wait_gone(self, timeout: float) -> None:
        """Wait until the (killed) process has ended, at most ``timeout`` seconds."""
        fd = self.handle.fd
        if fd is None or self.handle.closed:
            return
        import select

        try:
            select.select([fd], [], [], timeout)
        except (OSError, ValueError):
            pass

    def stop(self) -> None:
        """End the check process: SIGKILL (it holds nothing worth a graceful exit), then wait
        up to STOP_GRACE seconds until it is gone."""
        self.kill()
        try:
            self.sock.close()
        except OSError:
            pass


class Refused(Broken):
    """A check process could not be isolated (or said it was and is not): no input is sent."""


# Isolating a check process, and the folders the sandbox uses: autograder/isolation.py.
