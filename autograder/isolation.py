"""Isolating one check process from the notebook process it was forked from, and the folders
the sandbox uses (``runner.py`` is the rest of the grader's side of the sandbox).

A check holds the hidden inputs of one graded cell. Nothing it saw may outlive it: see
:class:`Isolation` for the layers, ``_sandbox.isolate_check`` and ``confine.confine_check``
for the check process's own side, docs/instructor.md for the threat table.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile

from autograder.runner import ChildProcess, Refused, Zygote, _receive, _send

class Isolation:
    """What keeps a check's hidden inputs inside the check (``_sandbox.isolate_check``):

    - every other process of the sandbox is stopped (SIGSTOP) while the check runs, and
      whatever appeared during the check is killed before they continue;
    - the check gets its own scratch folder (with a fresh copy of the assignment's data files),
      removed before the notebook process runs again; it may write nowhere else and cannot
      read the notebook's scratch folder (a second Landlock layer);
    - memory shared with the notebook process (``mmap``, System V segments) becomes private;
      every inherited descriptor (pipes, sockets, files) points at /dev/null;
    - a seccomp filter refuses new sockets of every family, System V and POSIX IPC, keyrings,
      io_uring, signals and reading other processes.

    The grader checks from outside (``/proc``) what it can: the seccomp filter, the descriptors,
    no shared memory left, and afterwards that the notebook's scratch folder did not change.
    """

    def __init__(self, zygote: Zygote, scratch: str, read_paths, data_source: str | None = None,
                 ignore=(), expect_seccomp: bool = False):
        self.zygote, self.scratch = zygote, scratch
        self.read_paths = list(read_paths)
        self.data_source, self.ignore = data_source, list(ignore)
        self.expect_seccomp = expect_seccomp

    def enter(self, child: ChildProcess, notebook_pid: int, deadline: float) -> None:
        child.isolation = self
        self.zygote.freeze(child.pid, deadline)
        child.scratch = tempfile.mkdtemp(prefix="check-", dir=self.scratch)
        copy_data_files(self.data_source, child.scratch, self.ignore)
        shared = shared_mappings(child.pid)
        child.before = scratch_state(self.scratch, skip=child.scratch)
        _send(child.sock, {"op": "isolate", "scratch": child.scratch, "shared": shared,
                           "read_paths": self.read_paths}, deadline)
        reply = _receive(child.sock, deadline)
        report = reply.get("report") if reply.get("op") == "isolated" else None
        if not isinstance(report, dict) or "error" in report:
            detail = report.get("error") if isinstance(report, dict) else "no report"
            raise Refused(f"the check process could not be isolated ({detail})")
        problem = verify_isolated(child.pid, notebook_pid, self.expect_seccomp)
        if problem:
            raise Refused(f"the check process is not isolated: {problem}")

    def leave(self, child: ChildProcess) -> None:
        """After the check process was killed: compare, clean up, let the notebook go on."""
        if child.before is not None:
            after = scratch_state(self.scratch, skip=child.scratch)
            if after != child.before:
                changed = sorted(set(after.items()) ^ set(child.before.items()))
                child.tampered = f"files changed outside its folder: {changed[0][0]!r}"
        if child.scratch is not None:
            if not remove_tree(child.scratch):
                child.tampered = child.tampered or "its scratch folder could not be removed"
            child.scratch = None
        child.before = None
        self.zygote.thaw()


def shared_mappings(pid: int) -> list:
    """``[start, end, perms]`` of every shared memory mapping of ``pid`` (from /proc)."""
    found = []
    try:
        with open(f"/proc/{pid}/maps") as handle:
            for line in handle:
                fields = line.split(None, 2)
                if len(fields) >= 2 and fields[1][3:4] == "s":
                    start, end = fields[0].split("-")
                    found.append([int(start, 16), int(end, 16), fields[1]])
    except OSError:
        pass
    return found


def _status(pid: int) -> dict:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)
    except OSError:
        return {}


def verify_isolated(pid: int, notebook_pid: int, expect_seccomp: bool) -> str:
    """What is wrong with the isolation of the check process ``pid``, seen from outside; ''."""
    if not os.path.isdir("/proc/self"):
        return ""  # nothing to look at (macOS): the sandbox's own report is all there is
    status = _status(pid)
    if not status:
        return "it is gone"
    if expect_seccomp:
        own = status.get("Seccomp_filters", "0")
        notebook = _status(notebook_pid).get("Seccomp_filters", "0")
        fewer = own.isdigit() and notebook.isdigit() and int(own) <= int(notebook)
        if status.get("Seccomp") != "2" or fewer:
            return "no seccomp filter of its own"
    sockets = 0
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{name}")
            if target.startswith("socket:"):
                sockets += 1
            elif target != "/dev/null":
                return f"descriptor {name} still open on {target!r}"
    except OSError:
        return "its descriptors cannot be listed"
    if sockets > 1:
        return "more than one socket open"
    if shared_mappings(pid):
        return "memory still shared with the notebook process"
    return ""


def remove_tree(folder: str) -> bool:
    """Remove ``folder`` even where the sandbox took away write or search permission from
    parts of it (a grader that is not root could not delete those otherwise); True if gone."""
    def retry(function, path, _info):
        try:
            os.chmod(os.path.dirname(path), 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
            function(path)
        except OSError:
            pass

    if os.path.isdir(folder) and not os.path.islink(folder):
        try:
            os.chmod(folder, 0o700)
        except OSError:
            pass
    shutil.rmtree(folder, onerror=retry)
    return not os.path.lexists(folder)


def scratch_state(folder: str, skip: str | None = None, limit: int = 20000) -> dict:
    """path -> (size, mtime_ns, inode) of everything under ``folder`` except ``skip``."""
    state = {}
    for root, dirs, files in os.walk(folder):
        if skip is not None:
            dirs[:] = [d for d in dirs if os.path.join(root, d) != skip]
        for name in dirs + files:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            state[path] = (info.st_size, info.st_mtime_ns, info.st_ino)
            if len(state) >= limit:
                return state
    return state


def copy_data_files(folder, scratch: str, ignore=(), max_bytes: int = 50 * 1024 * 1024) -> None:
    """Copy the assignment's data files (not notebooks, nothing matching ``ignore``: the hidden
    checks and the rubric) from the source folder ``folder`` next to the student's code."""
    if not folder or not os.path.isdir(folder):
        return
    total = 0

    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in ignore)

    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__" and not ignored(d)]
        for name in files:
            if name.endswith(".ipynb") or name.startswith(".") or ignored(name):
                continue
            src = os.path.join(root, name)
            if not os.path.isfile(src) or os.path.islink(src):
                continue
            size = os.path.getsize(src)
            if total + size > max_bytes:
                continue
            dest = os.path.join(scratch, os.path.relpath(src, folder))
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(src, dest)
            total += size
