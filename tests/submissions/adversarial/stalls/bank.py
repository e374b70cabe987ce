"""Attack bank: submissions that try to keep ``nbgrader autograde`` busy past every limit.

Each entry hands in the model solution and stalls the grader in several ways of one kind: a
reply trickled a byte at a time (slow output), a sandbox that reads what the grader sends a
little at a time (slow input), endless tiny messages, processes that never exit, repeated
crashes, and replays of slow cells after crashes (a replay storm). The stalls sit in checks
(which then fail alone) and after the last test cell (where they can only use up the
notebook's budget), so the marks each entry must get do not depend on the machine's speed.

tests/test_adversarial.py grades them in ONE ``nbgrader autograde`` run with shrunken timeouts
(``TIMEOUTS``) and asserts, per notebook, wall time <= the worst-case formula of
docs/instructor.md + a small slack, and exact marks.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/submissions/adversarial
from shared import build, only_in_a_check, ps1_bank  # noqa: E402

PS1 = ps1_bank()
Submission, lost = PS1.Submission, PS1.lost
AddCell = build.AddCell
# Shrunken: a check 2 s, the notebook 12 s; a cell 4 s (PS1's step experiment draws a figure,
# which takes seconds on a loaded machine; stalling cells sit after the last test cell).
TIMEOUTS = {"cell_timeout": 4.0, "check_timeout": 2.0, "notebook_timeout": 12.0}

BANK: dict[str, Submission] = {
    "aaa_honest_solution": PS1.BANK["aaa_honest_solution"],  # graded first, and last:
    "zzz_honest_partial": PS1.BANK["zzz_honest_partial"],
}


def add(name: str, **kwargs) -> None:
    assert name not in BANK, name
    BANK[name] = Submission(category="stalling the grader", **kwargs)


FIND_SOCKET = '''
import os
import socket
import struct
import time


def own_socket():
    """The Unix socket this process talks to the grader on."""
    for fd in range(3, 256):
        try:
            candidate = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        if candidate.family == socket.AF_UNIX:
            return candidate
        candidate.close()
    return None


def trickle(seconds=60.0):
    """Announce a 1000-byte frame, then send it a byte every 0.3 s."""
    sock = own_socket()
    if sock is None:
        return
    sock.sendall(struct.pack("!I", 1000))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            sock.send(b" ")
        except OSError:
            return
        time.sleep(0.3)
'''

RECURSION_DZ = '''
def recursion_dz(x, n=20):
    trickle()
    z = dz = 0.0
    for _ in range(n):
        z, dz = np.sin(z * x) + x, np.cos(z * x) * (z + x * dz) + 1
    return dz
'''

add("stall_slow_output", description="recursion_dz sends the grader a frame one byte every "
    "0.3 s (once a per-read timeout restarted at each byte); cells at the end do the same to "
    "the notebook's own reply, twice", answers={"answer_recursion_dz": FIND_SOCKET + RECURSION_DZ},
    edits=(AddCell("end", "trickle()"), AddCell("end", "trickle()"), AddCell("end", "x = 1")),
    lost=lost(PS1.WRONG_DZ), evidence={"test_recursion_derivative": ["did not finish within 2 s"]})

SLOW_READER = '''
import json
import struct
import sys
import time

wire = sys.modules["_mlpkit_sandbox_wire"]


def slow_recv(sock, with_fds=False, deadline=None):
    """Read what the grader sends 1 KiB every 0.2 s."""
    header = b""
    while len(header) < 4:
        header += sock.recv(4 - len(header))
        time.sleep(0.2)
    size = struct.unpack("!I", header)[0]
    data = b""
    while len(data) < size:
        data += sock.recv(min(1024, size - len(data)))
        time.sleep(0.2)
    message = json.loads(data)
    return (message, []) if with_fds else message


wire.recv = slow_recv
'''

add("stall_slow_input", description="after the last test cell, the notebook process reads "
    "what the grader sends 1 KiB every 0.2 s, then gets a cell of 600 KB (the grader's send "
    "blocks), and more cells after it, each replayed after the restart",
    edits=(AddCell("end", SLOW_READER),
           AddCell("end", "# " + "padding " * 75_000 + "\nbig = 1"),
           AddCell("end", "small = 1"), AddCell("end", "small = 2"), AddCell("end", "small = 3")))

add("stall_many_tiny_messages", description="gradient_central calls the grader's f without "
    "end, swallowing every error (each call a tiny message and its answer, long after the "
    "grader's evaluation limit); a cell after the last test cell writes tiny frames onto the "
    "notebook's socket without end", answers={"answer_gradient_central": '''
def gradient_central(f, x, h):
    while True:
        try:
            f(x)
        except Exception:
            pass
'''}, edits=(AddCell("end", FIND_SOCKET + '''
sock = own_socket()
while True:
    sock.sendall(struct.pack("!I", 2) + b"{}")
'''), AddCell("end", "x = 1")), lost=lost(PS1.WRONG_GRADIENT_CENTRAL),
    evidence={"test_gradient_central": ["did not finish within 2 s"]})

add("stall_child_never_exits", description="forward_difference leaves a process that ignores "
    "every signal it can and sleeps for ever; before the last test cell the notebook process "
    "stops reporting the end of its check processes (waitpid never returns); cells at the end "
    "leave more such processes", answers={"answer_forward_difference": only_in_a_check('''
import os
import signal
import time


def immortal():
    if os.fork() == 0:
        os.setsid()
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(number, signal.SIG_IGN)
        while True:
            time.sleep(1)


def forward_difference(f, x, h):
    if grading_check(f):
        immortal()
    return (f(x + h) - f(x)) / h
''')}, edits=(
        AddCell("answer_recursion_numerical", '''
def never(*args, **kwargs):
    while True:
        time.sleep(1)


os.waitpid = never
'''),
        AddCell("end", "immortal()\nimmortal()"), AddCell("end", "x = 1")))

CRASH = "import os\nos._exit(3)"

add("stall_repeated_crashes", description="a cell that ends the process after three answers "
    "(a restart and a replay each), then thirty more after the last test cell",
    edits=(AddCell("answer_forward_difference", CRASH), AddCell("answer_complex_step", CRASH),
           AddCell("answer_recursion_z", CRASH),
           *[AddCell("end", CRASH if k % 2 == 0 else f"y = {k}") for k in range(60)]))

add("stall_replay_storm", description="after the last test cell, a cell that takes 1.5 s "
    "(within the cell limit) and then crash after crash: every restart replays the slow cell",
    edits=(AddCell("end", "import time\ntime.sleep(1.5)\nslow = True"),
           *[AddCell("end", CRASH if k % 2 == 0 else f"y = {k}") for k in range(30)]))
