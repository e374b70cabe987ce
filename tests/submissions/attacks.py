"""Attack code shared by every problem set's submission bank (one copy, not six).

Each function returns the source of an answer-cell prelude; a bank appends the (wrong) answer it
hands in after it. ``{course_root}`` is filled in by build.py when a submission is written.
"""


GRADING_CHECKS = ("check_close", "check_scalar", "check_shape", "check_gradient_close")


def patch_comparisons(also_array_equal: bool = False) -> str:
    """Patch np.isclose, np.allclose, numpy.testing and mlpkit.grading's checks so that every
    comparison passes (``also_array_equal``: np.array_equal and diagnose_gradient too)."""
    names = GRADING_CHECKS + (("diagnose_gradient",) if also_array_equal else ())
    return ("\nimport numpy.testing\n\nimport mlpkit.grading\n\n"
            "np.isclose = lambda *args, **kwargs: True\n"
            "np.allclose = lambda *args, **kwargs: True\n"
            + ("np.array_equal = lambda *args, **kwargs: True\n" if also_array_equal else "")
            + "numpy.testing.assert_allclose = lambda *args, **kwargs: None\n"
            "for _name in (" + ", ".join(f'"{name}"' for name in names) + "):\n"
            "    setattr(mlpkit.grading, _name, lambda *args, **kwargs: None)\n")


def tamper_files(assignment: str) -> str:
    """Try to overwrite and read the hidden checks, wreck the gradebook and config, write outside
    the submission, and kill the grader; print which attempts were refused and how."""
    return '''
import os
import signal

ROOT = "{course_root}"
attempts = {}


def attempt(name, action):
    try:
        action()
        attempts[name] = "done"
    except BaseException as exc:
        attempts[name] = type(exc).__name__


def overwrite_checks():
    with open(os.path.join(ROOT, "solutions", "%(ps)s", "checks.py"), "w") as handle:
        handle.write("# all checks removed\\n")


def grandparent():
    with open(f"/proc/{os.getppid()}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[1])


attempt("overwrite checks", overwrite_checks)
attempt("read checks", lambda: print(open(os.path.join(ROOT, "solutions", "%(ps)s", "checks.py")).read()[:200]))
attempt("truncate gradebook", lambda: open(os.path.join(ROOT, "gradebook.db"), "w").close())
attempt("delete config", lambda: os.remove(os.path.join(ROOT, "nbgrader_config.py")))
attempt("write marker", lambda: open(os.path.join(ROOT, "PWNED"), "w").write("x"))
attempt("write /tmp", lambda: open("/tmp/PWNED-by-student", "w").write("x"))
attempt("kill grader", lambda: os.kill(grandparent(), signal.SIGKILL))
attempt("kill zygote", lambda: os.kill(os.getppid(), signal.SIGKILL))
print(attempts)
''' % {"ps": assignment}


def patch_kernel() -> str:
    """Patch the kernel's do_execute and showtraceback so that every cell reports success (what
    beats plain nbgrader, where hidden tests run in the student's kernel)."""
    return '''
try:
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.showtraceback = lambda *args, **kwargs: None
    _kernel = get_ipython().kernel
    _original = _kernel.do_execute

    async def _always_ok(code, silent, *args, **kwargs):
        try:
            await _original(code, silent, *args, **kwargs)
        except BaseException:
            pass
        return {"status": "ok", "execution_count": 1, "payload": [], "user_expressions": {}}

    _kernel.do_execute = _always_ok
except Exception:
    pass


'''


# --------------------------------------------------------------------------- broken code
# A function that never returns, crashes the interpreter, ends or kills its own process, and a
# cell that never ends and ignores SIGINT: every bank grades each once. ``signature`` is the
# function's ``name(arguments)`` as the problem set gives it.

def never_returns(signature: str) -> str:
    """A function stuck in an infinite loop (the check's timeout must stop it)."""
    return f'''
def {signature}:
    while True:
        pass
'''


def segfault(signature: str) -> str:
    """A function that crashes the interpreter (reads address 0)."""
    return f'''
def {signature}:
    import ctypes
    return ctypes.string_at(0)
'''


def exits(signature: str) -> str:
    """A function that ends its own process with os._exit."""
    return f'''
def {signature}:
    import os
    os._exit(1)
'''


KILL_SELF = "    import os\n    import signal\n    os.kill(os.getpid(), signal.SIGKILL)\n"


def kills_itself(signature: str) -> str:
    """A function that sends SIGKILL to its own process (a killed kernel)."""
    return f"\ndef {signature}:\n{KILL_SELF}"


def exit_after(source: str) -> str:
    """``source`` (an answer cell), then os._exit(0) at the end of the cell."""
    return source.rstrip("\n") + '''


import os

os._exit(0)
'''


IGNORE_SIGINT = '''import signal
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
'''

ENDLESS_CELL = '''while True:
    try:
        time.sleep(0.05)
    except BaseException:
        pass
'''


def ignores_interrupts(definitions: str) -> str:
    """A cell that ignores SIGINT, defines ``definitions`` (a right answer), then loops for
    ever catching every exception (the cell timeout and then SIGKILL must end it)."""
    return f"\n{IGNORE_SIGINT}\n\n{definitions.strip(chr(10))}\n\n\n{ENDLESS_CELL}"
