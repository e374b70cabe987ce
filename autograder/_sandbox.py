"""The sandbox program: runs a student's notebook code outside the grader and outside Jupyter.

Three kinds of process run this file; only the last two ever run student code.

It is longer than the course's usual 500 lines, so that everything that runs beside student
code is one file, loaded by path before confinement, that an auditor reads in one place (the
process bookkeeping it needs lives in ``processes.py``).

``zygote``    started once per ``nbgrader autograde`` run (``python -I _sandbox.py zygote FD``).
              Imports NumPy and Matplotlib once, then forks one *notebook process* per
              submission on request, so each submission starts in milliseconds, not seconds.
              It is a child subreaper: processes a student's code leaves behind end up as its
              children, and a ``sweep`` after each notebook kills them all.
``notebook``  a fork of the zygote. Confines itself (``confine.py``: Landlock, rlimits, own
              process group, scratch folder), then executes the notebook's code cells one by one
              as the grader sends them, capturing printed text, figures and errors.
``check``     a fork of the notebook process, one per graded check: it holds the notebook's
              state as it was after the cells above the test cell, calls the student's
              functions the grader names and sends back plain data. Functions the grader passes
              as arguments (``BlackBox``) are evaluated *in the grader*: the student's code only
              ever sees their values. Helpers a check needs *inside* this process (a test
              function written with the student's class, one that counts its own evaluations)
              come from the grader's checks.py (op ``define``) and live in a namespace of their
              own, beside the notebook's. A check that hangs or crashes kills this fork only.

The grader trusts nothing this file sends: everything is plain data it validates and judges
itself. See ``runner.py`` for the grader's side and ``docs/dev/grading-format.md``.
"""

from __future__ import annotations

import ast
import base64
import builtins
import importlib.util
import io
import linecache
import os
import signal
import socket
import sys
import traceback
import types

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_sibling(name: str):
    spec = importlib.util.spec_from_file_location(f"_mlpkit_sandbox_{name}",
                                                  os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wire = _load_sibling("wire")
confine = _load_sibling("confine")
seccomp = _load_sibling("seccomp")
processes = _load_sibling("processes")

MISSING = object()
CELL_FILENAME = "<cell {}>"


# --------------------------------------------------------------------------- output capture


class Capture(io.TextIOBase):
    """A text stream that records what is written, as notebook-style output items, up to a cap."""

    def __init__(self, name: str, sink: list, budget: list):
        self.name, self._sink, self._budget = name, sink, budget

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._budget[0] <= 0:
            return len(text)
        kept = text[: self._budget[0]]
        self._budget[0] -= len(kept)
        if self._budget[0] <= 0:
            kept += "\n[... output truncated by the grader ...]\n"
        last = self._sink[-1] if self._sink else None
        if last and last.get("type") == "stream" and last.get("name") == self.name:
            last["text"] += kept
        else:
            self._sink.append({"type": "stream", "name": self.name, "text": kept})
        return len(text)

    @property
    def encoding(self):
        return "utf-8"


class Outputs:
    """Where the current cell's outputs go (stdout, stderr, figures, errors)."""

    def __init__(self, max_chars: int):
        self.items: list[dict] = []
        self._budget = [max_chars]
        self.stdout = Capture("stdout", self.items, self._budget)
        self.stderr = Capture("stderr", self.items, self._budget)

    def install(self) -> None:
        sys.stdout, sys.stderr = self.stdout, self.stderr

    def add(self, item: dict) -> None:
        self.items.append(item)


CURRENT: list[Outputs] = []  # the outputs of the cell running now (one entry)
MAX_FIGURES, MAX_PNG_BYTES = 10, 4 * 1024 * 1024


def _current() -> Outputs | None:
    return CURRENT[0] if CURRENT else None


def flush_figures() -> None:
    """Render every open Matplotlib figure into the current outputs as PNG, then close them."""
    plt = sys.modules.get("matplotlib.pyplot")
    out = _current()
    if plt is None or out is None:
        return
    try:
        numbers = list(plt.get_fignums())
        for num in numbers[:MAX_FIGURES]:
            buffer = io.BytesIO()
            plt.figure(num).savefig(buffer, format="png", dpi=80, bbox_inches="tight")
            data = buffer.getvalue()
            if len(data) <= MAX_PNG_BYTES:
                out.add({"type": "image", "png": base64.b64encode(data).decode()})
        plt.close("all")
    except Exception as exc:
        out.add({"type": "stream", "name": "stderr",
                 "text": f"(the grader could not draw a figure: {type(exc).__name__}: {exc})\n"})


def display(*objects, **_options) -> None:
    """A small ``display`` for graded runs: figures become images, anything else its repr."""
    out = _current()
    if out is None:
        return
    for obj in objects:
        if type(obj).__name__ == "Figure" and hasattr(obj, "savefig"):
            buffer = io.BytesIO()
            obj.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
            out.add({"type": "image", "png": base64.b64encode(buffer.getvalue()).decode()})
        else:
            out.add({"type": "display", "text": _safe_repr(obj)})


def _safe_repr(obj, limit: int = 5000) -> str:
    try:
        text = repr(obj)
    except BaseException as exc:  # noqa: B036 - a student's __repr__ may raise anything
        text = f"<repr failed: {type(exc).__name__}>"
    return text if isinstance(text, str) and len(text) <= limit else str(text)[:limit] + "..."


class Shell:
    """Enough of ``get_ipython()`` for the magics a student notebook typically contains."""

    def __init__(self, namespace: dict):
        self._ns = namespace

    def run_line_magic(self, name, line, *_args, **_kw):
        if name in ("time", "timeit"):
            exec(compile(line, "<magic>", "exec"), self._ns)
        elif name not in ("matplotlib", "config", "load_ext", "autoreload", "precision"):
            print(f"(the grader skips %{name})", file=sys.stderr)

    def run_cell_magic(self, name, line, cell, *_args, **_kw):
        if name in ("time", "timeit", "capture"):
            exec(compile(cell, "<magic>", "exec"), self._ns)
        else:
            print(f"(the grader skips %%{name})", file=sys.stderr)

    def system(self, command, *_args, **_kw):
        print("(shell commands are not run while grading)", file=sys.stderr)

    getoutput = system

    def magic(self, line):
        name, _, rest = str(line).partition(" ")
        return self.run_line_magic(name.lstrip("%"), rest)


# --------------------------------------------------------------------------- forbidden modules

def _matches(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


class RefusedModule(types.ModuleType):
    """Stands in for a forbidden module: every attribute raises, with the problem set's reason."""

    def __getattr__(self, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise ImportError(f"{self.__refused__} is not available while this problem set is graded: "
                          f"{self.__reason__}")


class RefuseForbidden:
    """First on ``sys.meta_path``: forbidden modules (and their submodules) import as stand-ins,
    whoever imports them (``importlib``, ``__import__``, a library). Their files are unreadable
    as well (Landlock), so removing this finder does not bring them back."""

    def __init__(self, forbidden: dict):
        self.forbidden = forbidden

    def _module_for(self, name: str):
        for module in self.forbidden:
            if _matches(name, module):
                return module
        return None

    def find_spec(self, name, path=None, target=None):
        module = self._module_for(name)
        if module is None:
            return None
        return importlib.util.spec_from_loader(name, self, is_package=True)

    def create_module(self, spec):
        module = self._module_for(spec.name)
        stand_in = RefusedModule(spec.name)
        stand_in.__refused__, stand_in.__reason__ = module, self.forbidden[module]
        stand_in.__path__ = []
        return stand_in

    def exec_module(self, module) -> None:
        pass


def shut_out(forbidden: dict) -> None:
    """Before confinement: forget forbidden modules already loaded and install the finder."""
    if not forbidden:
        return
    for name in list(sys.modules):
        if any(_matches(name, module) for module in forbidden):
            del sys.modules[name]
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                try:
                    delattr(sys.modules[parent], child)
                except AttributeError:
                    pass
    sys.meta_path.insert(0, RefuseForbidden(forbidden))
    importlib.invalidate_caches()
    import gc

    gc.collect()


# --------------------------------------------------------------------------- namespace


def make_namespace(forbidden: dict) -> dict:
    """A fresh ``__main__``-like namespace whose ``import`` refuses the ``forbidden`` modules.

    The guard sits in the namespace's own builtins, so it applies to the student's code
    (cells and the functions they define) and not to libraries importing each other.
    """
    guarded = dict(vars(builtins))
    real_import = builtins.__import__

    def refuse(name: str) -> None:
        for module, reason in forbidden.items():
            if name == module or name.startswith(module + "."):
                raise ImportError(f"{module} is not available while this problem set is graded: "
                                  f"{reason}")

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0:
            refuse(name)
            for item in fromlist or ():
                if isinstance(item, str) and item != "*":
                    refuse(f"{name}.{item}")
        return real_import(name, globals, locals, fromlist, level)

    namespace = {"__name__": "__main__", "__doc__": None}
    guarded["__import__"] = guarded_import
    guarded["display"] = display
    shell = Shell(namespace)
    guarded["get_ipython"] = lambda: shell
    namespace["__builtins__"] = guarded
    return namespace


# --------------------------------------------------------------------------- running a cell


def _parse(code: str, filename: str):
    """The cell as an AST; IPython syntax (``%matplotlib inline``, ``!ls``) is translated."""
    try:
        return ast.parse(code, filename), code
    except SyntaxError as first:
        try:
            from IPython.core.inputtransformer2 import TransformerManager
        except Exception:
            raise first from None
        translated = TransformerManager().transform_cell(code)
        if translated == code:
            raise first from None
        try:
            return ast.parse(translated, filename), translated
        except SyntaxError:
            raise first from None


def _error_item(exc: BaseException) -> dict:
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    try:
        lines = traceback.format_exception(type(exc), exc, tb)
        evalue = str(exc)
    except BaseException:  # noqa: B036 - a student's __str__ may raise anything
        lines, evalue = [f"{type(exc).__name__}: (its message could not be shown)\n"], ""
    return {"type": "error", "ename": type(exc).__name__, "evalue": evalue[:2000],
            "traceback": [line.rstrip("\n")[:4000] for line in lines[-40:]]}


def run_cell(namespace: dict, code: str, number: int, max_chars: int) -> tuple[str, list]:
    """Execute one cell like Jupyter does; return ("ok" | "error", output items)."""
    filename = CELL_FILENAME.format(number)
    out = Outputs(max_chars)
    CURRENT[:] = [out]
    status = "ok"
    out.install()
    try:
        tree, source = _parse(code, filename)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        body, last = tree.body, None
        if body and isinstance(body[-1], ast.Expr) and not source.rstrip().endswith(";"):
            body, last = body[:-1], body[-1]
        exec(compile(ast.Module(body=body, type_ignores=[]), filename, "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
            if value is not None:
                out.add({"type": "result", "text": _safe_repr(value)})
    except BaseException as exc:  # noqa: B036 - SystemExit and KeyboardInterrupt are cell errors too
        status = "error"
        out.add(_error_item(exc))
    finally:
        flush_figures()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        CURRENT.clear()
    return status, out.items


# --------------------------------------------------------------------------- check process


class GraderFunction:
    """A function the grader lent to the student's code: every evaluation happens in the grader."""

    __slots__ = ("_sock", "_box", "__name__", "__qualname__")

    def __init__(self, sock, box: int, name: str):
        self._sock, self._box = sock, box
        self.__name__ = self.__qualname__ = name

    def __call__(self, x, *more, **options):
        if more or options:
            raise TypeError(f"{self.__name__}() takes exactly one argument, x")
        try:
            import numpy as np

            arr = np.asarray(x)
        except Exception:
            arr = None
        if arr is None or arr.dtype.kind not in "biufc":
            raise TypeError(f"{self.__name__}(x) needs a number or a NumPy array of numbers, "
                            f"not {type(x).__name__}")
        wire.send(self._sock, {"op": "eval", "box": self._box, "x": wire.encode_array(arr)})
        reply = wire.recv(self._sock)
        if reply.get("op") == "value":
            value = wire.decode(reply.get("value"))
            return value[()] if getattr(value, "ndim", None) == 0 else value
        kinds = {"TypeError": TypeError, "ValueError": ValueError}
        raise kinds.get(reply.get("kind"), RuntimeError)(str(reply.get("message")))

    def __repr__(self) -> str:
        return f"<function {self.__name__} (evaluated by the grader)>"


def _argument_hook(sock, namespace, grader):
    def hook(obj: dict):
        if "__box__" in obj:
            return GraderFunction(sock, int(obj["__box__"]), str(obj.get("name", "f")))
        if "__ref__" in obj:
            scope = grader if obj.get("scope") == "grader" else namespace
            value = scope.get(obj["__ref__"], MISSING)
            if value is MISSING:
                raise NameError(f"name {obj['__ref__']!r} is not defined")
            return value
        return NotImplemented

    return hook


# What the grader's own code defined in this check process runs with: the builtins as they were
# before any student code ran (a cell may replace ``builtins.isinstance`` or ``len``), and
# ``exec``/``compile`` taken here for the same reason.
PRISTINE_BUILTINS = dict(vars(builtins))
_EXEC, _COMPILE = builtins.exec, builtins.compile


def grader_scope(namespace: dict) -> dict:
    """The namespace of the grader's own code in one check process (``Student.define``).

    The check's helpers (a test function that counts its own evaluations, the code that turns
    numbers into the student's objects) live here, not in the notebook's namespace, so a later
    cell of the notebook that redefines a provided name cannot change what a check measures.
    Grader code reaches the student's answers only by name, at call time: ``answer("Node")``.
    """
    def answer(name):
        value = namespace.get(str(name), MISSING)
        if value is MISSING:
            raise NameError(f"name {name!r} is not defined")
        return value

    return {"__builtins__": PRISTINE_BUILTINS, "__name__": "grader", "answer": answer}


def define(grader: dict, source) -> dict:
    """Run ``source`` (text of the grader's checks.py) in the grader's namespace."""
    try:
        _EXEC(_COMPILE(str(source), "<grader>", "exec"), grader)
        return {"op": "defined"}
    except BaseException as exc:  # noqa: B036 - reported to the grader, a bug in its checks
        return {"op": "raised", **_error_item(exc)}


def isolate_check(sock) -> bool:
    """Before the check's first call: what the notebook process could use to learn what the
    check is given is cut off (see ``confine.confine_check``). The grader sends where the
    check's own scratch folder is and which memory is shared with the notebook process."""
    try:
        message = wire.recv(sock)
    except (EOFError, OSError, wire.WireError):
        return False
    if message.get("op") != "isolate":
        return False
    report = {"descriptors": 0, "shared": 0}
    try:
        scratch = str(message["scratch"])
        ranges = [(int(a), int(b), str(p)) for a, b, p in message.get("shared", [])]
        report["shared"] = confine.privatize(ranges)
        os.chdir(scratch)
        for key in list(os.environ):
            if key not in ("PATH", "LANG", "LANGUAGE", "TZ", "TERM") and not key.startswith("LC_"):
                del os.environ[key]
        for key in ("HOME", "TMPDIR", "TEMP", "TMP"):
            os.environ[key] = scratch
        import tempfile

        tempfile.tempdir = None
        report.update(confine.confine_check(scratch, list(message.get("read_paths", []))))
        report["seccomp"] = seccomp.install(seccomp.CHECK_RULES)
    except Exception as exc:  # noqa: BLE001 - reported to the grader, which refuses the check
        report["error"] = f"{type(exc).__name__}: {exc}"[:300]
    wire.send(sock, {"op": "isolated", "report": report})
    return "error" not in report


def check_process(sock, namespace: dict, max_chars: int) -> None:
    """Serve the grader's calls for one check; returns when told to stop (or on EOF)."""
    os.setpgid(0, 0)
    confine.die_with_parent()
    confine.neutralize_descriptors({sock.fileno()})
    if not isolate_check(sock):
        return
    grader = grader_scope(namespace)
    hook = _argument_hook(sock, namespace, grader)
    while True:
        try:
            message = wire.recv(sock)
        except (EOFError, OSError, wire.WireError):
            return
        op = message.get("op")
        if op == "exit":
            return
        out = Outputs(max_chars)  # what the student's code prints during a call is dropped
        out.install()
        name = str(message.get("name"))
        scope = grader if message.get("scope") == "grader" else namespace
        value = scope.get(name, MISSING)
        if op == "define":
            reply = define(grader, message.get("source", ""))
        elif value is MISSING:
            reply = {"op": "missing", "name": name}
        elif op == "get":
            reply = {"op": "value", "value": _encode_student(value)}
        elif op == "call" and not callable(value):
            reply = {"op": "not_callable", "type": type(value).__name__}
        elif op == "call":
            try:
                args = wire.decode(message.get("args", []), hook=hook)
                kwargs = wire.decode(message.get("kwargs", {}), hook=hook)
                result = value(*args, **kwargs)
                reply = {"op": "return", "value": _encode_student(result),
                         "args_after": _encode_student(args), "kwargs_after": _encode_student(kwargs),
                         "arg_names": _parameter_names(value, len(args))}
            except BaseException as exc:  # noqa: B036 - every way a call can end is an answer
                reply = {"op": "raised", **_error_item(exc)}
        else:
            reply = {"op": "unknown", "name": str(op)}
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        wire.send(sock, reply)


def _parameter_names(function, count: int) -> list:
    """The names of the first ``count`` positional parameters (for messages only), or []."""
    try:
        import inspect

        names = [p.name for p in inspect.signature(function).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return [str(n)[:40] for n in names[:count]]
    except BaseException:  # noqa: B036 - odd callables have no signature: positions will do
        return []


def _encode_student(value):
    try:
        return wire.encode(value, lenient=True)
    except BaseException as exc:  # noqa: B036 - odd student objects must not break the reply
        return {"__unsupported__": type(value).__name__[:200], "repr": f"(unreadable: {exc!r:.100})"}


# --------------------------------------------------------------------------- notebook process


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"was killed by signal {signal.Signals(number).name}"
        except ValueError:
            return f"was killed by signal {number}"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return f"ended with status {status}"


def notebook_process(sock, params: dict) -> None:
    """Confine this fresh fork of the zygote, then run cells and fork checks on request."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setpgid(0, 0)
    confine.die_with_parent()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    scratch = params["scratch"]
    os.chdir(scratch)
    for key in ("HOME", "MPLCONFIGDIR"):
        os.environ.pop(key, None)
    for key in ("HOME", "TMPDIR", "TEMP", "TMP"):
        os.environ[key] = scratch
    import tempfile

    tempfile.tempdir = None
    _reseed()
    report = {"landlock": 0}
    forbidden = dict(params.get("forbidden", {}))
    shut_out(forbidden)
    try:
        confine.set_limits(memory_mb=int(params["memory_mb"]), cpu_seconds=int(params["cpu_seconds"]),
                           file_mb=int(params["file_mb"]))
        capabilities_dropped = confine.drop_capabilities()
        report = confine.landlock(scratch, params.get("read_paths", []),
                                  restrict_reads=bool(params.get("restrict_reads", True)),
                                  deny_paths=list(params.get("deny_paths", [])),
                                  ruleset=params.get("ruleset"))
        report["capabilities"] = "none" if capabilities_dropped else "kept"
        report["seccomp"] = seccomp.install(seccomp.NOTEBOOK_RULES)
    except OSError as exc:
        report = {"landlock": 0, "error": str(exc)}
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.show = lambda *args, **kwargs: flush_figures()
    namespace = make_namespace(forbidden)
    max_chars = int(params.get("max_output_chars", 20000))
    wire.send(sock, {"op": "ready", "pid": os.getpid(), "confinement": report})
    number = 0
    while True:
        try:
            message = wire.recv(sock)
        except (EOFError, OSError, wire.WireError):
            os._exit(0)
        op = message.get("op")
        if op == "exec":
            number += 1
            status, items = run_cell(namespace, str(message.get("code", "")), number, max_chars)
            wire.send(sock, {"op": "executed", "status": status, "outputs": items})
        elif op == "fork":
            _fork_check(sock, namespace, max_chars)
        else:
            os._exit(0)


def _fork_check(sock, namespace: dict, max_chars: int) -> None:
    parent_end, child_end = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        try:
            sock.close()
            parent_end.close()
            check_process(child_end, namespace, max_chars)
        finally:
            os._exit(0)
    child_end.close()
    wire.send(sock, {"op": "forked", "pid": pid}, fds=(parent_end.fileno(),))
    parent_end.close()
    _, status = os.waitpid(pid, 0)
    wire.send(sock, {"op": "child_exit", "pid": pid, "status": _describe_status(status)})


def _reseed() -> None:
    """Forks share the zygote's random state; give each notebook fresh entropy, as a new process."""
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


# --------------------------------------------------------------------------- zygote


def read_paths() -> list[str]:
    """Folders a notebook process may read: the Python installation and the installed packages."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, HERE}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    for name in ("mlpkit", "numpy", "matplotlib"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            paths.update(spec.submodule_search_locations)
    return sorted(os.path.realpath(p) for p in paths if p)


def zygote(fd: int, preload: list[str]) -> None:
    confine.die_with_parent()
    confine.become_subreaper()
    sock = socket.socket(fileno=fd)
    loaded = []
    for name in preload:
        try:
            __import__(name)
            loaded.append(name)
        except Exception:
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # notebook processes are reaped automatically
    frozen: set[int] = set()
    # Landlock rulesets by (read paths, denied files, restrict_reads): built once, kept open.
    # Each notebook process adds its own scratch folder (the zygote serves one notebook at a
    # time; the folders of earlier notebooks are deleted, so their rules give nothing).
    rulesets: dict[str, int | None] = {}
    import json
    wire.send(sock, {"op": "hello", "read_paths": read_paths(), "preloaded": loaded,
                     "landlock": confine.landlock_abi()})
    while True:
        try:
            message = wire.recv(sock)
        except (EOFError, OSError, wire.WireError):
            os._exit(0)
        if message.get("op") == "sweep":
            wire.send(sock, {"op": "swept", "killed": processes.sweep()})
            continue
        if message.get("op") == "freeze":
            frozen = processes.freeze(message.get("except"))
            wire.send(sock, {"op": "frozen", "count": len(frozen)})
            continue
        if message.get("op") == "thaw":
            wire.send(sock, {"op": "thawed", "killed": processes.thaw(frozen)})
            frozen = set()
            continue
        if message.get("op") != "spawn":
            os._exit(0)
        key = json.dumps([message.get("read_paths", []), message.get("deny_paths", []),
                          bool(message.get("restrict_reads", True))])
        if key not in rulesets:  # once per problem set, not once per notebook
            try:
                rulesets[key] = confine.read_ruleset(
                    list(message.get("read_paths", [])), deny_paths=list(message.get("deny_paths", [])),
                    restrict_reads=bool(message.get("restrict_reads", True)))
            except OSError:
                rulesets[key] = None  # the notebook process reports the failure itself
        parent_end, child_end = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                parent_end.close()
                mine = rulesets[key]
                for fd in rulesets.values():  # the other problem sets' rules: not this process's
                    if fd is not None and fd != mine:
                        os.close(fd)
                message["ruleset"] = os.dup(mine) if mine is not None else None
                if mine is not None:
                    os.close(mine)
                notebook_process(child_end, message)
            finally:
                os._exit(70)
        child_end.close()
        wire.send(sock, {"op": "spawned", "pid": pid}, fds=(parent_end.fileno(),))
        parent_end.close()


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    if len(sys.argv) >= 3 and sys.argv[1] == "zygote":
        import json

        zygote(int(sys.argv[2]), json.loads(sys.argv[3]) if len(sys.argv) > 3 else [])
    else:
        sys.exit("usage: _sandbox.py zygote FD [PRELOAD-JSON]")
