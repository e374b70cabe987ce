"""The zygote's view of the sandbox's processes: every descendant, stopped, swept, frozen.

The zygote is a child subreaper (``confine.become_subreaper``): every process a submission
starts stays below it, even one that detaches (``setsid``, a double fork). From ``/proc``
(``ps`` where there is none, as on macOS) it finds them all, to

- ``sweep`` them after each notebook: stopped round after round until none is new, then killed;
- ``freeze`` them while a check runs (all but the check process), and ``thaw`` them after it,
  killing first whatever appeared during the check.

Used only inside the sandbox's zygote (``_sandbox.py`` loads this file by path); stdlib only.
"""

from __future__ import annotations

import os
import signal


def _parents() -> list[tuple[int, int]]:
    """(pid, parent pid) of every process: from /proc, or ``ps`` where there is none (macOS)."""
    pairs = []
    if not os.path.isdir("/proc/self"):
        import subprocess

        try:
            table = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True,
                                   text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return pairs
        for line in table.splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
                pairs.append((int(fields[0]), int(fields[1])))
        return pairs
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{entry}/stat", os.O_RDONLY | os.O_CLOEXEC)
            try:
                data = os.read(fd, 1024)
            finally:
                os.close(fd)
            pairs.append((int(entry), int(data.rsplit(b")", 1)[1].split(None, 2)[1])))
        except (OSError, IndexError, ValueError):
            continue
    return pairs


def descendants(root: int) -> set[int]:
    """Every process below ``root`` in the process tree."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            if pid not in found:
                found.add(pid)
                todo.append(pid)
    return found


def sweep() -> int:
    """Kill every descendant of the zygote: the notebook process, the processes it started and
    any orphan re-parented here. They are first stopped (SIGSTOP cannot be caught), round after
    round until no new one appears, so a process that keeps forking cannot outrun the sweep;
    then all of them are killed."""
    killed = 0
    for pid in _stop_all(keep=set()):
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except OSError:
            pass
    return killed


def _stop_all(keep: set[int]) -> set[int]:
    """SIGSTOP every descendant of this process but ``keep``, round after round until no new
    one appears (a stopped process cannot fork); returns the stopped ones."""
    stopped: set[int] = set()
    for _ in range(500):
        new = descendants(os.getpid()) - stopped - keep
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
            stopped.add(pid)
    return stopped


def freeze(check_pid) -> set[int]:
    """While a check runs, every other process of the sandbox (the notebook process, the
    processes its code started) is stopped: none can watch the check, trace it, read its
    memory or its scratch folder, or receive anything from it while it holds hidden inputs."""
    keep = {check_pid} if isinstance(check_pid, int) else set()
    return _stop_all(keep)


def thaw(frozen: set[int]) -> int:
    """After the check: every process that appeared during it (the check process and whatever
    it started) is killed, then the frozen ones continue. Returns how many were killed."""
    others = _stop_all(set(frozen))
    killed = 0
    for pid in others:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except OSError:
            pass
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    return killed
