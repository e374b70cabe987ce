"""Confine the sandbox process before it runs any student code: Landlock and resource limits.

Landlock (Linux >= 5.13, no privileges needed) is an allow-list the kernel enforces for this
process and every process it forks, for good:

- writes (create, delete, rename, truncate, write) only beneath the sandbox's scratch folder;
- with ``restrict_reads``, reads only beneath the Python installation, the packages, the system
  folders (``SYSTEM_READ_PATHS``: programs and libraries, a few files of /etc, /dev and /sys,
  no /proc) and the scratch folder: not the course (no solutions, submissions or gradebook), and
  not the files in ``deny_paths`` (the source and bytecode of the modules a problem set forbids,
  so a submission cannot hand in the library's implementation);
- no TCP (ABI >= 4); no signals to, or abstract sockets of, processes outside the sandbox
  (ABI >= 6), so student code cannot kill the grader; no ptrace of the grader (any ABI).

Capabilities: all dropped (``drop_capabilities``), so a grader running as root does not lend
root's powers (reboot, kernel modules, raw sockets...) to student code.

Resource limits (``setrlimit``) cap memory, CPU time, file size and core dumps. Wall-clock
time is not limited here: the grader kills the process group with SIGKILL when a deadline
passes, which no signal handler can ignore.

Used only inside the sandbox (``_sandbox.py`` loads this file by path); stdlib only.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys

# Landlock ABI constants (linux/landlock.h).
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1
FILE_ONLY_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
RULE_PATH_BENEATH = 1
CREATE_RULESET_VERSION = 1
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

# What the sandbox may read outside Python and its packages: the system's programs and
# libraries, and only the few files of /etc, /dev and /sys that Python and NumPy read at run
# time. Not /proc (other processes' environment variables and memory maps are readable there
# for a process of the same user, Landlock or not), not the rest of /dev (a grader running as
# root would let student code read raw disks), not the rest of /etc (host keys, /etc/shadow).
SYSTEM_READ_PATHS = (
    "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin",
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
    "/etc/timezone", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/mime.types",
    "/etc/os-release", "/etc/matplotlibrc", "/etc/fonts",
    "/dev/urandom", "/dev/random", "/dev/zero", "/dev/full",
    "/sys/devices/system/cpu",
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def become_subreaper() -> None:
    """Orphaned descendants (a student's daemon) are re-parented to this process, not to init."""
    if not sys.platform.startswith("linux"):
        return
    try:
        _libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 if Landlock is missing or switched off."""
    if not sys.platform.startswith("linux"):
        return 0  # the syscall numbers below are Linux's: never call them elsewhere
    try:
        libc = _libc()
        abi = libc.syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                           ctypes.c_uint32(CREATE_RULESET_VERSION))
    except (OSError, AttributeError):
        return 0
    return max(int(abi), 0)


def read_rules(read_paths, deny_paths=(), access: int = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR):
    """Landlock rules ``[(path, access)]`` granting reads beneath ``read_paths`` except ``deny_paths``.

    Landlock only grants, so a folder holding a denied file cannot get one rule for all of it:
    it gets a listing right, and each of its entries is expanded in turn (entries holding no
    denied file get one rule each). Paths are compared after resolving symbolic links.
    """
    denied = {os.path.realpath(path) for path in deny_paths}
    rules: list[tuple[str, int]] = []
    for root in read_paths:
        _expand(os.path.realpath(root), denied, access, rules, depth=0)
    return rules


def _expand(path: str, denied: set, access: int, rules: list, depth: int) -> None:
    if path in denied:
        return
    inside = [d for d in denied if d.startswith(path + os.sep)]
    if not inside or depth > 12 or not os.path.isdir(path):
        rules.append((path, access))
        return
    rules.append((path, access & FS_READ_DIR))
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return
    for name in names:
        _expand(os.path.realpath(os.path.join(path, name)), denied, access, rules, depth + 1)


def _handled(abi: int, restrict_reads: bool) -> tuple[int, int, int]:
    """(file-system rights, network rights, scopes) a ruleset handles on Landlock ABI ``abi``."""
    write = (FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR
             | FS_MAKE_REG | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM)
    if abi >= 2:
        write |= FS_REFER
    if abi >= 3:
        write |= FS_TRUNCATE
    read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    return write | (read if restrict_reads else 0), net, scoped


def read_ruleset(read_paths, *, restrict_reads: bool = True, deny_paths=()) -> int | None:
    """A Landlock ruleset (a file descriptor) holding every rule of a notebook process but its
    scratch folder: reads beneath the system and ``read_paths`` except ``deny_paths`` (hundreds
    of rules where site-packages holds a forbidden package), and /dev/null. The zygote builds it
    once per problem set; each notebook process it forks adds its scratch folder and enforces
    it (``landlock(ruleset=...)``), in milliseconds. None without Landlock."""
    abi = landlock_abi()
    if abi < 1:
        return None
    libc = _libc()
    handled, net, scoped = _handled(abi, restrict_reads)
    attr = _RulesetAttr(handled_access_fs=handled, handled_access_net=net, scoped=scoped)
    ruleset = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        rules = []
        if restrict_reads:
            rules += read_rules((*SYSTEM_READ_PATHS, *read_paths), deny_paths,
                                FS_EXECUTE | FS_READ_FILE | FS_READ_DIR)
        rules.append(("/dev/null", FS_READ_FILE | FS_WRITE_FILE | (FS_TRUNCATE if abi >= 3 else 0)))
        for path, access in rules:
            _add_path_rule(libc, ruleset, path, access & handled)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def landlock(scratch: str, read_paths, *, restrict_reads: bool = True, deny_paths=(),
             ruleset: int | None = None) -> dict:
    """Restrict this process (and its children) as the module docstring says. ``ruleset``: the
    rules from :func:`read_ruleset` (built here if not given); closed here in any case.

    Returns a report ``{"landlock": abi, "reads": bool, "net": bool, "signals": bool}``;
    ``abi == 0`` means nothing could be enforced.
    """
    abi = landlock_abi()
    report = {"landlock": abi, "reads": False, "net": False, "signals": False}
    if ruleset is None and abi >= 1:
        ruleset = read_ruleset(read_paths, restrict_reads=restrict_reads, deny_paths=deny_paths)
    if abi < 1 or ruleset is None:
        if ruleset is not None:
            os.close(ruleset)
        return report
    libc = _libc()
    handled, net, scoped = _handled(abi, restrict_reads)
    report["net"], report["signals"] = bool(net), bool(scoped)
    try:
        _add_path_rule(libc, ruleset, scratch, handled)
        _restrict_self(libc, ruleset)
    finally:
        os.close(ruleset)
    report["reads"] = restrict_reads
    report["denied_files"] = len(deny_paths) if restrict_reads else 0
    return report


def _restrict_self(libc, ruleset: int) -> None:
    """Give up gaining privileges (Landlock's precondition), then put this process under
    ``ruleset`` for good."""
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.syscall(SYS_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")


def _add_path_rule(libc, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a folder this machine does not have
    try:
        if not os.path.isdir(path):
            access &= FILE_ONLY_RIGHTS
        if not access:
            return
        rule = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
        if libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule),
                        ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
# SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP, SECBIT_KEEP_CAPS_LOCKED and their locks: uid 0 gains no
# capability by exec'ing a program, and none of this can be undone.
SECURE_BITS = 0b111111
CAPABILITY_VERSION_3 = 0x20080522


def drop_capabilities() -> bool:
    """Give up every Linux capability, for good (this process and everything it starts).

    A grader running as root (common in containers) would otherwise hand student code root's
    capabilities: Landlock confines the file system, not ``reboot(2)``, kernel modules, raw
    sockets, the clock or the hostname. Without capabilities, uid 0 is an ordinary user that
    owns some files. For a non-root grader this changes nothing. Returns True if the process
    ends up with no capability at all.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            last = int(handle.read())
    except (OSError, ValueError):
        last = 63
    libc.prctl(PR_SET_SECUREBITS, SECURE_BITS, 0, 0, 0)  # EPERM without CAP_SETPCAP: nothing to do
    for capability in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two 32-bit words each)
    if libc.capset(header, data) != 0:
        return False
    check = (ctypes.c_uint32 * 6)()
    return libc.capget(header, check) == 0 and not any(check)


def set_limits(*, memory_mb: int, cpu_seconds: int, file_mb: int, open_files: int = 256) -> None:
    """Cap address space, CPU seconds, file size and open files; no core dumps."""
    limits = [
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_FSIZE, file_mb * 1024 * 1024),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, open_files),
    ]
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        new_hard = value + 1 if which == resource.RLIMIT_CPU else value
        if hard != resource.RLIM_INFINITY:
            new_hard = min(new_hard, hard)
        try:
            resource.setrlimit(which, (value, new_hard))
        except (ValueError, OSError):
            if sys.platform.startswith("linux"):
                raise
            # macOS refuses some limits (address space): the grader's deadlines still apply


# --------------------------------------------------------------------------- one check


def neutralize_descriptors(keep: set[int], limit: int = 4096) -> int:
    """Point every open descriptor but ``keep`` (and 0-2, /dev/null already) at /dev/null:
    pipes, sockets, files and shared-memory handles the notebook opened stay unusable in a
    check. The numbers stay valid (a student's object that closes one later closes /dev/null).
    Returns how many were neutralized."""
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    count = 0
    try:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        top = limit if soft == resource.RLIM_INFINITY else min(soft, limit)
        for fd in range(3, top):
            if fd in keep or fd == devnull:
                continue
            try:
                os.fstat(fd)
            except OSError:
                continue
            os.dup2(devnull, fd, inheritable=False)
            count += 1
    finally:
        os.close(devnull)
    return count


PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x02, 0x10, 0x20
MAX_PRIVATE_COPY = 256 * 1024 * 1024  # bytes of shared memory whose content a check keeps


def privatize(ranges) -> int:
    """Replace each shared mapping ``(start, end, perms)`` (from /proc/PID/maps, read by the
    grader) by a private copy: what a check writes there no longer reaches the notebook process
    (an ``mmap.mmap(-1, n)`` made before the check is shared with it otherwise). Returns how
    many were replaced; a mapping that cannot be copied is unmapped."""
    libc = _libc()
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    done = 0
    for start, end, perms in ranges:
        size = end - start
        if size <= 0:
            continue
        prot = ((PROT_READ if "r" in perms else 0) | (PROT_WRITE if "w" in perms else 0)
                | (PROT_EXEC if "x" in perms else 0))
        copy = None
        if size <= MAX_PRIVATE_COPY and libc.mprotect(start, size, PROT_READ) == 0:
            copy = ctypes.create_string_buffer(size)
            ctypes.memmove(copy, start, size)
        new = libc.mmap(start, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS,
                        -1, 0)
        if new != start:
            libc.munmap(start, size)
            continue
        if copy is not None:
            ctypes.memmove(start, copy, size)
        libc.mprotect(start, size, prot)
        done += 1
    return done


def confine_check(scratch: str, read_paths) -> dict:
    """A second Landlock layer for one check process: it may write only beneath its own scratch
    folder (removed by the grader when the check ends) and read only the system, Python, the
    packages and that folder (not the notebook's scratch folder), and may neither signal nor
    reach abstract sockets of the processes outside it (then ``seccomp.py``'s CHECK_RULES)."""
    report = {"landlock": 0}
    abi = landlock_abi()
    if abi >= 1:
        libc = _libc()
        write = (FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR | FS_MAKE_DIR
                 | FS_MAKE_REG | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_BLOCK | FS_MAKE_SYM)
        write |= FS_REFER if abi >= 2 else 0
        write |= FS_TRUNCATE if abi >= 3 else 0
        read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
        attr = _RulesetAttr(handled_access_fs=write | read)
        if abi >= 4:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        if abi >= 6:
            attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        ruleset = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr),
                               ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
        if ruleset < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
        try:
            _add_path_rule(libc, ruleset, scratch, write | read)
            for path in (*SYSTEM_READ_PATHS, *read_paths):
                _add_path_rule(libc, ruleset, path, read)
            _add_path_rule(libc, ruleset, "/dev/null", FS_READ_FILE | FS_WRITE_FILE
                           | (FS_TRUNCATE if abi >= 3 else 0))
            _restrict_self(libc, ruleset)
        finally:
            os.close(ruleset)
        report["landlock"] = abi
    return report
