"""A seccomp filter for the sandbox: the system calls Landlock does not cover, refused.

Landlock confines files, TCP and (ABI >= 6) signals and abstract sockets. The rest of what
could carry data out of a check, or let the notebook process watch one, is refused here with
EPERM (PermissionError in Python): sockets (all families but Unix in the notebook process,
every family in a check), System V and POSIX IPC, keyrings, io_uring (whose operations bypass
seccomp), inotify, fanotify, file leases, signals, ptrace and reading other processes, changing
another process's priority, affinity or limits. No privilege is needed (PR_SET_NO_NEW_PRIVS).
x86-64 and arm64 only: elsewhere :func:`install` reports "unavailable: ..." and the grader's
log line says so.

Used only inside the sandbox (``_sandbox.py`` loads this file by path); stdlib only.
"""

from __future__ import annotations

import ctypes
import os
import sys

PR_SET_NO_NEW_PRIVS = 38
# A seccomp filter refuses system calls Landlock does not cover (sockets of every family, System V
# and POSIX IPC, keyrings, io_uring, signals, reading other processes). No privilege is needed
# (PR_SET_NO_NEW_PRIVS is set by ``landlock``). Refused calls fail with EPERM (PermissionError).

SECCOMP_MODE_FILTER = 2
PR_SET_SECCOMP = 22
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
AF_UNIX = 1
F_SETLEASE, F_NOTIFY = 1024, 1026
X32_SYSCALL_BIT = 0x40000000
# Architecture: (AUDIT_ARCH value, system call numbers).
SYSCALLS = {
    "x86_64": (0xC000003E, {
        "socket": 41, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129,
        "rt_tgsigqueueinfo": 297, "pidfd_open": 434, "pidfd_send_signal": 424,
        "pidfd_getfd": 438, "shmget": 29, "shmat": 30, "shmctl": 31, "msgget": 68, "msgsnd": 69,
        "msgrcv": 70, "msgctl": 71, "semget": 64, "semop": 65, "semctl": 66, "semtimedop": 220,
        "mq_open": 240, "mq_unlink": 241, "mq_timedsend": 242, "mq_timedreceive": 243,
        "mq_notify": 244, "mq_getsetattr": 245, "add_key": 248, "request_key": 249,
        "keyctl": 250, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "setpriority": 141, "ioprio_set": 251, "sched_setparam": 142, "sched_setscheduler": 144,
        "sched_setaffinity": 203, "sched_setattr": 314, "prlimit64": 302, "migrate_pages": 256,
        "move_pages": 279, "process_madvise": 440, "kcmp": 312, "perf_event_open": 298,
        "bpf": 321, "userfaultfd": 323, "inotify_init": 253, "inotify_init1": 294,
        "inotify_add_watch": 254, "fanotify_init": 300, "fcntl": 72, "unshare": 272,
        "setns": 308}),
    "aarch64": (0xC00000B7, {
        "socket": 198, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
        "rt_tgsigqueueinfo": 240, "pidfd_open": 434, "pidfd_send_signal": 424,
        "pidfd_getfd": 438, "shmget": 194, "shmat": 196, "shmctl": 195, "msgget": 186,
        "msgsnd": 189, "msgrcv": 188, "msgctl": 187, "semget": 190, "semop": 193, "semctl": 191,
        "semtimedop": 192, "mq_open": 180, "mq_unlink": 181, "mq_timedsend": 182,
        "mq_timedreceive": 183, "mq_notify": 184, "mq_getsetattr": 185, "add_key": 217,
        "request_key": 218, "keyctl": 219, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "setpriority": 140, "ioprio_set": 30, "sched_setparam": 118,
        "sched_setscheduler": 119, "sched_setaffinity": 122, "sched_setattr": 274,
        "prlimit64": 261, "migrate_pages": 238, "move_pages": 239, "process_madvise": 440,
        "kcmp": 272, "perf_event_open": 241, "bpf": 280, "userfaultfd": 282,
        "inotify_init1": 26, "inotify_add_watch": 27, "fanotify_init": 262, "fcntl": 25,
        "unshare": 97, "setns": 268}),
}

# The notebook process: no network (every socket family but Unix: TCP, UDP, raw, netlink...),
# no io_uring (its operations bypass seccomp), no file-change notifications or leases (the
# ways to observe from outside what a check reads), no new namespaces.
NOTEBOOK_RULES = {
    "deny": ("io_uring_setup", "io_uring_enter", "io_uring_register", "inotify_init",
             "inotify_init1", "inotify_add_watch", "fanotify_init", "unshare", "setns", "bpf",
             "perf_event_open", "userfaultfd"),
    "deny_unless_arg": {"socket": (0, AF_UNIX)},
    "deny_if_arg": {"fcntl": (1, (F_SETLEASE, F_NOTIFY))},
}
# A check process, on top: no new socket of any family (its one socket to the grader is open
# already), no IPC or keyring outside it, no signal to and no reading of another process, no
# changing another process's priority, affinity or limits.
CHECK_RULES = {
    "deny": NOTEBOOK_RULES["deny"] + (
        "socket", "ptrace", "process_vm_readv", "process_vm_writev", "kill", "tkill", "tgkill",
        "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
        "shmget", "shmat", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop",
        "semctl", "semtimedop", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
        "mq_notify", "mq_getsetattr", "add_key", "request_key", "keyctl", "migrate_pages",
        "move_pages", "process_madvise", "kcmp"),
    "deny_unless_arg": {"prlimit64": (0, 0), "setpriority": (1, 0), "ioprio_set": (1, 0),
                        "sched_setparam": (0, 0), "sched_setscheduler": (0, 0),
                        "sched_setaffinity": (0, 0), "sched_setattr": (0, 0)},
    "deny_if_arg": NOTEBOOK_RULES["deny_if_arg"],
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ARCH_OFFSET, _NR_OFFSET = 4, 0


def _arg_offset(index: int) -> int:
    return 16 + 8 * index + (0 if sys.byteorder == "little" else 4)  # the low 32 bits


def seccomp_program(rules: dict, machine: str) -> list[tuple[int, int, int, int]]:
    """The BPF program for ``rules`` on ``machine`` (see NOTEBOOK_RULES): (code, jt, jf, k)."""
    arch, numbers = SYSCALLS[machine]
    deny_ret = SECCOMP_RET_ERRNO | EPERM
    body: list = []  # instructions; ("DENY",) / ("ALLOW",) placeholders for jumps
    body.append((_LD_ABS, 0, 0, _ARCH_OFFSET))
    body.append((_JEQ, 1, 0, arch))  # another architecture's system calls: all refused
    body.append(("RET", deny_ret))
    body.append((_LD_ABS, 0, 0, _NR_OFFSET))
    if machine == "x86_64":
        body.append((_JGE, "DENY", 0, X32_SYSCALL_BIT))
    for name in sorted({n for n in rules.get("deny", ()) if n in numbers}):
        body.append((_JEQ, "DENY", 0, numbers[name]))
    for name, (index, allowed) in sorted(rules.get("deny_unless_arg", {}).items()):
        if name not in numbers:
            continue
        # nr == name ? (load arg; arg == allowed ? allow : deny) : next rule
        body.append((_JEQ, 0, 3, numbers[name]))
        body.append((_LD_ABS, 0, 0, _arg_offset(index)))
        body.append((_JEQ, "ALLOW", "DENY", allowed))
        body.append(("RET", SECCOMP_RET_ALLOW))  # never reached: keeps the jump sizes fixed
    for name, (index, refused) in sorted(rules.get("deny_if_arg", {}).items()):
        if name not in numbers:
            continue
        body.append((_JEQ, 0, 1 + len(refused) + 1, numbers[name]))
        body.append((_LD_ABS, 0, 0, _arg_offset(index)))
        for value in refused:
            body.append((_JEQ, "DENY", 0, value))
        body.append(("RET", SECCOMP_RET_ALLOW))
    body.append(("RET", SECCOMP_RET_ALLOW))
    allow_at = len(body) - 1
    body.append(("RET", deny_ret))
    deny_at = len(body) - 1
    program = []
    for position, item in enumerate(body):
        if item[0] == "RET":
            program.append((_RET, 0, 0, item[1]))
            continue
        code, jt, jf, k = item
        targets = {"DENY": deny_at, "ALLOW": allow_at}
        jt = targets[jt] - position - 1 if isinstance(jt, str) else jt
        jf = targets[jf] - position - 1 if isinstance(jf, str) else jf
        if not (0 <= jt <= 255 and 0 <= jf <= 255):
            raise ValueError("seccomp program too long for its jumps")
        program.append((code, jt, jf, k))
    return program


def install(rules: dict) -> str:
    """Install the seccomp filter ``rules`` on this process (and its future children, for good).
    Returns what was done: "on", or why not ("unavailable: ...")."""
    machine = os.uname().machine if hasattr(os, "uname") else ""
    if not sys.platform.startswith("linux"):
        return "unavailable: not Linux"
    if machine not in SYSCALLS:
        return f"unavailable: no system call table for {machine}"
    program = seccomp_program(rules, machine)
    array = (_SockFilter * len(program))(*[_SockFilter(*instruction) for instruction in program])
    fprog = _SockFprog(len(program), array)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"unavailable: no_new_privs refused (errno {ctypes.get_errno()})"
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return f"unavailable: the kernel refused the filter (errno {ctypes.get_errno()})"
    return "on"
