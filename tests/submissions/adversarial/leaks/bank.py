"""Attack bank: hidden inputs that try to outlive their check (and grader secrets to read).

Each entry hands in the model solution, but ``forward_difference`` (or another answer), when a
hidden check calls it (``f`` is then the grader's black box), also tries to keep the hidden
``x`` somewhere a later cell can read it, in several ways of one family: files, memory and the
environment, inherited descriptors, sockets of every family, other processes and signals. A
cell at the end of the notebook prints what it recovered; the bank asserts it recovered nothing
(``recovered ...: []``) and that every answer still gets its marks. ``reads_grader_secrets``
reads what the grader knows (the course secret in its environment and in ``.grading-secret``,
the checks, the grader's ``/proc``) and must get nothing; ``pathological_returns`` returns values
the grader cannot take, and must get the student-facing message, never a traceback of the
grader's files.

Graded with the ``adversarial/ps1`` bank in one ``nbgrader autograde`` run
(tests/test_adversarial.py); entries are named ``leak_*`` so they sort among those.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/submissions/adversarial
from shared import build, only_in_a_check, ps1_bank  # noqa: E402

PS1 = ps1_bank()
Submission, lost = PS1.Submission, PS1.lost
AddCell = build.AddCell
SECRET_IN_ENVIRONMENT = "env-secret-4f1c2a"  # set by tests/test_adversarial.py for the run
SECRET_IN_FILE = "file-secret-9b7e3d"  # written to <course>/.grading-secret by the test

BANK: dict[str, Submission] = {}


def add(name: str, **kwargs) -> None:
    assert name not in BANK, name
    BANK[name] = Submission(category="leaking hidden inputs", **kwargs)


def leaking_forward_difference(prelude: str, stash: str) -> str:
    """An answer cell: ``prelude`` (runs in the notebook), then a correct forward_difference
    that first calls ``stash(x)`` when a hidden check calls it."""
    return only_in_a_check(prelude + "\n\ndef stash(x):\n" + stash + '''

def forward_difference(f, x, h):
    if grading_check(f):
        try:
            stash(x)
        except BaseException:
            pass
    return (f(x + h) - f(x)) / h
''')


RECOVERED = "recovered {}: "

add("leak_files", description="writes the hidden x into the working folder, the notebook's "
    "scratch folder by its absolute path, its parent, /tmp, /dev/shm, $HOME, a file opened "
    "before the check, and a folder named after x; a later cell reads them all back",
    answers={"answer_forward_difference": leaking_forward_difference('''
import glob
import os

SCRATCH = os.getcwd()
OPENED = open(os.path.join(SCRATCH, "opened-before.txt"), "a")
PLACES = ["leak-cwd.txt", os.path.join(SCRATCH, "leak-scratch.txt"),
          os.path.join(os.path.dirname(SCRATCH), "leak-parent.txt"), "/tmp/leak-by-bank.txt",
          "/dev/shm/leak-by-bank.txt", os.path.join(os.environ.get("HOME", "."), "leak-home.txt")]
''', '''    text = repr(float(x)) + "\\n"
    for path in PLACES:
        try:
            with open(path, "a") as handle:
                handle.write(text)
        except OSError:
            pass
    OPENED.write(text)
    OPENED.flush()
    os.mkdir(os.path.join(SCRATCH, "dir-" + repr(float(x)).replace(".", "_")))
''')},
    edits=(AddCell("end", '''
found = []
for path in PLACES + glob.glob(os.path.join(SCRATCH, "**"), recursive=True):
    if os.path.isfile(path):
        try:
            text = open(path).read()
        except OSError:
            continue
        if text.strip():
            found.append((path, text))
    elif os.path.basename(path).startswith("dir-"):
        found.append(path)
print("recovered files:", found)
'''),), evidence={"notebook": [RECOVERED.format("files") + "[]"]})

add("leak_memory_and_environment", description="keeps x in shared memory made before the "
    "check (an anonymous mmap, a file mapping, a System V segment), in the environment "
    "(os.environ, putenv), in module and builtin attributes; a later cell looks everywhere",
    answers={"answer_forward_difference": leaking_forward_difference('''
import builtins
import ctypes
import json
import mmap
import os

ANONYMOUS = mmap.mmap(-1, 4096)
with open("mapped.bin", "wb") as handle:
    handle.write(b"\\0" * 4096)
MAPPED_FILE = open("mapped.bin", "r+b")
MAPPED = mmap.mmap(MAPPED_FILE.fileno(), 4096)
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
SEGMENT = libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
ATTACHED = libc.shmat(SEGMENT, None, 0) if SEGMENT >= 0 else None
if ATTACHED in (None, ctypes.c_void_p(-1).value):
    ATTACHED = None
''', '''    data = repr(float(x)).encode()[:64].ljust(64, b" ")
    ANONYMOUS[:64] = data
    MAPPED[:64] = data
    if ATTACHED is not None:
        ctypes.memmove(ATTACHED, data, 64)
    os.environ["LEAKED_X"] = repr(float(x))
    os.putenv("LEAKED_PUT", repr(float(x)))
    json.leaked_x = float(x)
    builtins.leaked_x = float(x)
''')},
    edits=(AddCell("end", '''
found = [bytes(ANONYMOUS[:64]).strip(b"\\0 "), bytes(MAPPED[:64]).strip(b"\\0 "),
         open("mapped.bin", "rb").read(64).strip(b"\\0 "),
         ctypes.string_at(ATTACHED, 64).strip(b"\\0 ") if ATTACHED else b"",
         os.environ.get("LEAKED_X", ""), os.environ.get("LEAKED_PUT", ""),
         getattr(json, "leaked_x", ""), getattr(builtins, "leaked_x", "")]
print("recovered memory:", [item for item in found if item])
print("System V segment attached:", ATTACHED is not None)
'''),), evidence={"notebook": [RECOVERED.format("memory") + "[]"]})

add("leak_descriptors", description="writes x into descriptors opened before the check: a "
    "pipe, a Unix socket pair, a memfd, a file opened for appending, an inherited duplicate of "
    "the notebook's own socket to the grader; a later cell reads them without blocking",
    answers={"answer_forward_difference": leaking_forward_difference('''
import os
import socket

PIPE_READ, PIPE_WRITE = os.pipe()
os.set_blocking(PIPE_READ, False)
PAIR_MINE, PAIR_CHECK = socket.socketpair()
PAIR_MINE.setblocking(False)
MEMFD = os.memfd_create("leak")
APPEND = open("append.txt", "a")
GRADER_SOCKETS = []
for fd in range(3, 64):
    try:
        candidate = socket.socket(fileno=os.dup(fd))
    except OSError:
        continue
    if candidate.family == socket.AF_UNIX:
        GRADER_SOCKETS.append(candidate)
    else:
        candidate.detach()
''', '''    data = repr(float(x)).encode()
    for action in (lambda: os.write(PIPE_WRITE, data), lambda: PAIR_CHECK.send(data),
                   lambda: os.pwrite(MEMFD, data, 0), lambda: (APPEND.write(data.decode()), APPEND.flush()),
                   *[lambda s=s: s.send(b"\\0\\0\\0\\5leak!") for s in GRADER_SOCKETS]):
        try:
            action()
        except BaseException:
            pass
''')},
    edits=(AddCell("end", '''
found = []
for read in (lambda: os.read(PIPE_READ, 100), lambda: PAIR_MINE.recv(100),
             lambda: os.pread(MEMFD, 100, 0), lambda: open("append.txt").read()):
    try:
        data = read()
    except (BlockingIOError, OSError):
        continue
    if data:
        found.append(data)
print("recovered descriptors:", found)
'''),), evidence={"notebook": [RECOVERED.format("descriptors") + "[]"]})

add("leak_sockets", description="a process started before the check listens on a Unix socket "
    "in the scratch folder and on an abstract Unix socket (TCP and UDP listeners are refused "
    "already); the check sends x over Unix (path and abstract), UDP, TCP and to the notebook's "
    "own thread listening on another Unix socket; a later cell asks them what arrived",
    answers={"answer_forward_difference": leaking_forward_difference('''
import os
import socket
import threading

SCRATCH = os.getcwd()
PATH = os.path.join(SCRATCH, "listener.sock")
ABSTRACT = "\\0mlpkit-leak-listener"
THREAD_PATH = os.path.join(SCRATCH, "thread.sock")
listeners = {}
for label, make in (("tcp", lambda: socket.create_server(("127.0.0.1", 47391))),
                    ("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))):
    try:
        listeners[label] = make()
    except OSError as exc:
        listeners[label] = type(exc).__name__
print("network listeners in the notebook:", {k: v for k, v in listeners.items() if isinstance(v, str)})
ASK_MINE, ASK_DAEMON = socket.socketpair()
if os.fork() == 0:
    ASK_MINE.close()
    collected = []
    servers = []
    for address in (PATH, ABSTRACT):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        server.bind(address)
        server.setblocking(False)
        servers.append(server)
    ASK_DAEMON.setblocking(False)
    import select
    while True:
        ready, _, _ = select.select(servers + [ASK_DAEMON], [], [], 60)
        if not ready:
            os._exit(0)
        for sock in ready:
            if sock is ASK_DAEMON:
                ASK_DAEMON.recv(10)
                ASK_DAEMON.send(repr(collected).encode())
            else:
                collected.append(sock.recv(100))
THREAD_SEEN = []
THREAD_SERVER = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
THREAD_SERVER.bind(THREAD_PATH)


def serve():
    while True:
        THREAD_SEEN.append(THREAD_SERVER.recv(100))


threading.Thread(target=serve, daemon=True).start()
''', '''    data = repr(float(x)).encode()
    for family, kind, address in ((socket.AF_UNIX, socket.SOCK_DGRAM, PATH),
                                  (socket.AF_UNIX, socket.SOCK_DGRAM, ABSTRACT),
                                  (socket.AF_UNIX, socket.SOCK_DGRAM, THREAD_PATH),
                                  (socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 47392)),
                                  (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 47391))):
        try:
            with socket.socket(family, kind) as sock:
                sock.settimeout(0.2)
                sock.connect(address)
                sock.send(data)
        except OSError:
            pass
''')},
    edits=(AddCell("end", '''
import time

time.sleep(0.2)
ASK_MINE.settimeout(5)
ASK_MINE.send(b"?")
daemon = ASK_MINE.recv(10000).decode()
print("recovered sockets:", [item for item in (daemon if daemon != "[]" else "", THREAD_SEEN) if item])
'''),), evidence={"notebook": [RECOVERED.format("sockets") + "[]",
                                 "'tcp': 'PermissionError'", "'udp': 'PermissionError'"]})

add("leak_processes", description="a thread of the notebook process and a process it started "
    "poll the scratch folder and /proc for the check while it runs; the check signals the "
    "notebook process (a signal per digit of x) and starts a process of its own that lives on "
    "to write x into the scratch folder after the check",
    answers={"answer_forward_difference": leaking_forward_difference('''
import os
import signal
import threading
import time

SCRATCH = os.getcwd()
SIGNALS = []
signal.signal(signal.SIGUSR1, lambda *args: SIGNALS.append(1))
WATCHED = []


def watch():
    while True:
        for root, dirs, files in os.walk(SCRATCH):
            for name in files:
                if name.startswith("x-"):
                    WATCHED.append(name)
        try:
            WATCHED.extend(p for p in os.listdir("/proc") if p.isdigit() and int(p) > os.getpid())
        except OSError:
            pass
        time.sleep(0.001)


threading.Thread(target=watch, daemon=True).start()
WATCHER_OUT = os.path.join(SCRATCH, "watcher.txt")
if os.fork() == 0:
    seen = set()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        for root, dirs, files in os.walk(SCRATCH):
            for name in files:
                if name.startswith("x-") and name not in seen:
                    seen.add(name)
                    with open(WATCHER_OUT, "a") as handle:
                        handle.write(name + "\\n")
        time.sleep(0.001)
    os._exit(0)
''', '''    text = repr(float(x))
    with open("x-" + text, "w") as handle:
        handle.write(text)
    for digit in text:
        if digit.isdigit():
            for _ in range(int(digit)):
                try:
                    os.kill(os.getppid(), signal.SIGUSR1)
                except OSError:
                    pass
    if os.fork() == 0:
        os.setsid()
        time.sleep(0.5)
        with open(os.path.join(SCRATCH, "late-" + text), "w") as handle:
            handle.write(text)
        os._exit(0)
''')},
    edits=(AddCell("end", '''
time.sleep(0.7)
late = [name for name in os.listdir(SCRATCH) if name.startswith(("late-", "x-"))]
watcher = open(WATCHER_OUT).read() if os.path.exists(WATCHER_OUT) else ""
print("recovered processes:", [item for item in (late, watcher, SIGNALS,
                                                 [w for w in WATCHED if w.startswith("x-")]) if item])
'''),), evidence={"notebook": [RECOVERED.format("processes") + "[]"]})

add("reads_grader_secrets", description="reads what only the grader should know: the course "
    "secret in the environment (its own, the grader's and the zygote's via /proc), the "
    "course's .grading-secret and checks.py; prints every value it got",
    edits=(AddCell("answer_forward_difference", '''
import os

ROOT = "{course_root}"
got = {}


def attempt(label, action):
    try:
        got[label] = action()
    except BaseException as exc:
        got[label] = type(exc).__name__


attempt("environment", lambda: os.environ.get("AUTOGRADER_SECRET", "absent"))
attempt("environment keys", lambda: sorted(os.environ))
attempt("grader environment", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read())
attempt("init environment", lambda: open("/proc/1/environ", "rb").read())
attempt("secret file", lambda: open(os.path.join(ROOT, ".grading-secret")).read())
attempt("checks", lambda: open(os.path.join(ROOT, "solutions", "ps1", "checks.py")).read()[:100])
print("secrets:", got)
'''),),
    evidence={"notebook": [
        "'environment': 'absent'", "'grader environment': 'PermissionError'",
        "'secret file': 'PermissionError'", "'checks': 'PermissionError'"]},
    absent={"notebook": [SECRET_IN_ENVIRONMENT, SECRET_IN_FILE, "AUTOGRADER_SECRET'"]})

add("pathological_returns", description="answers that return what the grader cannot take: a "
    "4000-digit integer, an object whose __array__ and __float__ raise, a list that contains "
    "itself, an array of 10**6 numbers, a float subclass whose __float__ raises",
    answers={
        "answer_forward_difference": "def forward_difference(f, x, h):\n    return 10**4000\n",
        "answer_central_difference": '''
class Trap:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array for you")

    def __float__(self):
        raise RuntimeError("no float for you")

    def __repr__(self):
        raise RuntimeError("no repr either")


def central_difference(f, x, h):
    return Trap()
''',
        "answer_complex_step": '''
def complex_step(f, x, h):
    loop = [1.0]
    loop.append(loop)
    return loop
''',
        "answer_gradient_central": '''
def gradient_central(f, x, h):
    f(x)
    return np.zeros(10**6)
''',
        "answer_recursion_z": '''
class Sly(float):
    def __float__(self):
        raise ValueError("not today")


def recursion_z(x, n=20):
    return Sly(1.0)
'''},
    lost=lost(PS1.WRONG_FORWARD, PS1.WRONG_CENTRAL, PS1.WRONG_COMPLEX, PS1.WRONG_GRADIENT_CENTRAL,
              PS1.WRONG_Z),
    evidence={"test_forward_difference": ["an integer too large"],
              "test_complex_step": ["nested too deeply"],
              "test_gradient_central": ["1000000 entries (too large)"]},
    # The test cells' outputs (the student's feedback) name no file of the grader. (The
    # student's own cells may show their own tracebacks: the experiment cell overflows.)
    absent={grade_id: ["Traceback (most recent call last)", "/autograder/", "checks.py",
                       "site-packages", 'File "/'] for grade_id in PS1.TESTS})
