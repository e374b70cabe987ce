"""``SandboxAutograde``: the nbgrader preprocessor that grades outside the student's kernel.

In ``nbgrader_config.py`` it takes the place of ``Execute`` in ``Autograde.autograde_preprocessors``.
For each submitted notebook it

1. loads the assignment's ``checks.py`` from the *source* folder (``solutions/<ps>/``) before any
   student code runs; every autograded test cell must have a check there;
2. runs the notebook's code cells, except the autograded test cells, in a confined sandbox
   process (``runner.py``), and writes their outputs (text, figures, errors) into the notebook
   so manual graders and the feedback see them;
3. at each autograded test cell, runs that cell's check in the grader against a fork of the
   sandbox holding the state of the cells above it, and writes the verdict as the cell's
   output: a printed "PASSED" (full marks) or an error output (zero), which is exactly what
   nbgrader's ``SaveAutoGrades`` reads.

A cell that hangs or kills its process is stopped (SIGKILL) and reported in its output; a fresh
process replays the cells that had completed, and grading continues. A check that hangs or
crashes fails alone. Nothing the student's code does can reach the grader, the gradebook or
another submission (Landlock; see ``confine.py``).
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
import traceback

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, List, Unicode

from autograder.checking import ChecksModule, Verdict, load_checks, run_check
from autograder.repair import unreadable_reason
from autograder.isolation import Isolation, copy_data_files, remove_tree
from autograder.runner import Broken, Limits, Refused, SandboxError, shared_zygote


_CHECKS_CACHE: dict = {}


class ConfigurationError(Exception):
    """The course is set up wrongly (a missing check, no confinement where it is required)."""


class GaveUp(Exception):
    """The notebook cannot be run any further (too many restarts, time budget used up)."""


def is_autograded_test(cell) -> bool:
    """An autograded test cell (nbgrader metadata restored by :class:`TrustedCellMetadata`)."""
    return (cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)
            and isinstance(grade_id_of(cell), str))


def grade_id_of(cell):
    meta = cell.metadata.get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


class SandboxAutograde(NbGraderPreprocessor):
    """Run a submission in a sandbox and decide each autograded cell with grader-side checks."""

    cell_timeout = Float(30.0, help="Seconds one code cell may run before it is killed.").tag(config=True)
    check_timeout = Float(10.0, help="Seconds one graded check may take.").tag(config=True)
    notebook_timeout = Float(600.0, help="Seconds for a whole notebook.").tag(config=True)
    max_restarts = Integer(20, help="Fresh sandboxes after a hang or crash, per notebook (each "
                                    "restart and its replay spend the notebook's time budget "
                                    "too).").tag(config=True)
    memory_mb = Integer(2048, help="Address-space limit of the sandbox (MiB).").tag(config=True)
    cpu_seconds = Integer(300, help="CPU-time limit of one sandbox process.").tag(config=True)
    file_mb = Integer(64, help="Largest file the sandbox may write (MiB).").tag(config=True)
    max_output_chars = Integer(20000, help="Printed characters kept per cell.").tag(config=True)
    restrict_reads = Bool(True, help="Deny the sandbox reads outside Python, packages and "
                                     "system folders (Landlock).").tag(config=True)
    extra_read_paths = List(Unicode(), help="More folders the sandbox may read.").tag(config=True)
    require_confinement = Bool(True, help="Refuse to grade when Landlock is unavailable "
                                          "(False: grade with student code unconfined).").tag(config=True)
    preload = List(Unicode(), ["numpy", "matplotlib", "matplotlib.pyplot"],
                   help="Modules the zygote imports once for all submissions.").tag(config=True)
    checks_file = Unicode("checks.py", help="Grader-side checks in the source folder.").tag(config=True)
    max_notebook_output_mb = Float(40.0, help="Outputs kept per notebook (MiB); later ones are "
                                              "replaced by a note.").tag(config=True)
    visible_tests = Bool(False, help="Grade each test cell by running its visible tests in the "
                                     "sandbox (passed: no error, nothing on stderr) instead of "
                                     "the hidden checks; for a copy of the course without "
                                     "solutions/ (the learner's self-check).").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        assignment, notebook, student = info["assignment"], info["notebook"], info["student"]
        checks = ChecksModule("", {}, {}) if self.visible_tests else self._load_checks(assignment, nb)
        label = f"{assignment}/{notebook} of {student}"
        unreadable = unreadable_reason(resources)
        if unreadable is not None:  # graded as the blank release; RepairingExporter logged why
            runner = NotebookRunner(self, None, {}, {})
            runner.fail_remaining(nb, f"Not graded: the grader could not read your notebook file: "
                                      f"{unreadable}. Every autograded cell scores 0.")
            return nb, resources
        start = time.monotonic()
        scratch = tempfile.mkdtemp(prefix="mlpkit-grade-")
        try:
            # Data files come from the instructor's source folder, never from the submission
            # folder: files a student adds there (a symbolic link to the gradebook or to another
            # student's notebook, which nbgrader would copy as the grader) never reach the sandbox.
            coursedir = CourseDirectory(config=self.config)
            source = coursedir.format_path(coursedir.source_directory, ".", assignment)
            copy_data_files(source, scratch, ignore=list(coursedir.ignore))
            zygote = shared_zygote(self.preload)
            limits = Limits(memory_mb=self.memory_mb, cpu_seconds=self.cpu_seconds,
                            file_mb=self.file_mb, max_output_chars=self.max_output_chars,
                            restrict_reads=self.restrict_reads,
                            extra_read_paths=list(self.extra_read_paths))
            params = limits.spawn_params(scratch, zygote, checks.forbidden)
            runner = NotebookRunner(self, zygote, params, checks.checks, data_source=source,
                                    ignore=list(coursedir.ignore))
            runner.label = label
            try:
                runner.run(nb)
            except ConfigurationError:
                raise
            except Exception:  # noqa: BLE001 - whatever a submission provokes, grading goes on
                self.log.error("%s: the grader failed while grading this notebook; its remaining "
                               "autograded cells score 0:\n%s", label, traceback.format_exc())
                runner.fail_remaining(nb, "Not graded: the grader failed on this notebook (your "
                                          "instructor has been told).")
            finally:
                runner.close()
        finally:
            if not remove_tree(scratch):  # the zygote's rules would still reach it: a new zygote
                self.log.error("%s: the sandbox's folder %s could not be removed; the sandbox is "
                               "restarted so that no later notebook can reach it", label, scratch)
                shared_zygote(self.preload).close()
        passed = sum(v.passed for v in runner.verdicts)
        self.log.info("%s: %d/%d checks passed, %d cells run, %d restart(s), %.1f s, %s", label,
                      passed, len(runner.verdicts), runner.cells_run, runner.restarts,
                      time.monotonic() - start, _describe_confinement(runner.confinement))
        return nb, resources

    def _load_checks(self, assignment: str, nb):
        coursedir = CourseDirectory(config=self.config)
        source = coursedir.format_path(coursedir.source_directory, ".", assignment)
        path = os.path.join(source, self.checks_file)
        graded = [grade_id_of(cell) for cell in nb.cells if is_autograded_test(cell)]
        if not os.path.exists(path):
            if graded:
                raise ConfigurationError(
                    f"{path} is missing: every autograded test cell needs a grader-side check "
                    "(see docs/dev/grading-format.md)")
            return ChecksModule(path, {}, {})
        checks = _CHECKS_CACHE.get(path)
        if checks is None:  # loaded once per run: a later submission cannot change them
            checks = _CHECKS_CACHE[path] = load_checks(path)
        missing = [grade_id for grade_id in graded if grade_id not in checks.checks]
        if missing:
            raise ConfigurationError(f"{path} has no check for the test cell(s) {missing}")
        return checks


class NotebookRunner:
    """Runs one notebook's cells and checks in sandboxes, restarting after hangs and crashes."""

    def __init__(self, settings: SandboxAutograde, zygote, params: dict, checks: dict,
                 data_source: str | None = None, ignore=()):
        self.s, self.zygote, self.params, self.checks = settings, zygote, params, checks
        self.data_source, self.ignore = data_source, list(ignore)
        self.label = "notebook"  # "ps1/ps1 of student", for the log
        self.log = settings.log
        self.proc = None
        self.history: list[str] = []  # cells that completed, replayed after a restart
        self.spawned = False
        self.restarts = 0
        self.cells_run = 0
        self.verdicts: list[Verdict] = []
        self.confinement: dict = {}
        self.output_bytes = 0
        self.deadline = time.monotonic() + settings.notebook_timeout

    # ----------------------------------------------------------------- the walk

    def run(self, nb) -> None:
        count = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            count += 1
            cell.execution_count = count
            if is_autograded_test(cell):
                grade_id = cell.metadata.nbgrader["grade_id"]
                if getattr(self.s, "visible_tests", False):
                    verdict = self._run_visible_tests(grade_id, cell.source, count)
                else:
                    verdict = self._grade(grade_id)
                if verdict.grader_bug:  # the traceback names the grader's files: instructor only
                    self.log.error("%s: check %s crashed in the grader:\n%s", self.label, grade_id,
                                   verdict.message)
                    verdict.message = ("The grader's check itself failed (a bug in the grader, not "
                                       "in your work): your instructor has been told.")
                self.verdicts.append(verdict)
                cell.outputs = verdict_outputs(verdict, cell.metadata.nbgrader.get("points", 0))
            elif cell.source.strip():
                cell.outputs = self._execute(cell.source, count)
            else:
                cell.outputs = []

    def fail_remaining(self, nb, message: str) -> None:
        """Every autograded cell without a verdict yet fails with ``message``."""
        done = {verdict.grade_id for verdict in self.verdicts}
        for cell in nb.cells:
            if is_autograded_test(cell) and grade_id_of(cell) not in done:
                verdict = Verdict(grade_id_of(cell), False, message)
                self.verdicts.append(verdict)
                cell.outputs = verdict_outputs(verdict, cell.metadata.nbgrader.get("points", 0))

    def _execute(self, code: str, count: int) -> list:
        if time.monotonic() > self.deadline:
            return [_error("NotRun", "The grader's time for this notebook was used up before this cell.")]
        try:
            proc = self._process()
        except GaveUp as exc:
            return [_error("NotRun", f"This cell was not run: {exc}")]
        run = proc.exec_cell(code, self.s.cell_timeout, self.deadline)
        self.cells_run += 1
        if run.status in ("ok", "error"):
            self.history.append(code)
            outputs = to_outputs(run.outputs, count, self.s.max_output_chars)
            self.output_bytes += sum(len(str(output)) for output in outputs)
            if self.output_bytes > self.s.max_notebook_output_mb * 1024 * 1024:
                return [new_output("stream", name="stdout",
                                   text="(outputs not kept: this notebook's outputs are too large)\n")]
            return outputs
        if run.status == "timeout" and time.monotonic() >= self.deadline:
            return [_error("NotebookTimeout", "The grader's time for this notebook "
                           f"({self.s.notebook_timeout:g} s, all cells and checks) was used up while "
                           "this cell ran, so the grader stopped it. What was graded above counts.")]
        if run.status == "timeout":
            return [_error("CellTimeout", f"This cell did not finish within {self.s.cell_timeout:g} s, "
                           "so the grader stopped it (is there an infinite loop?). The cells "
                           "below ran without it.")]
        return [_error("ProcessDied", "The Python process stopped while running this cell "
                       "(os._exit(), a crash in compiled code or running out of memory do this). "
                       "The cells below ran without it.")]

    def _run_visible_tests(self, grade_id: str, code: str, count: int) -> Verdict:
        """The visible tests of a test cell, run in the sandbox: nbgrader's own rule decides
        (an error or anything on stderr fails the cell)."""
        outputs = self._execute(code, count)
        errors = [o for o in outputs if o.get("output_type") == "error"]
        stderr = "".join(o.get("text", "") for o in outputs
                         if o.get("output_type") == "stream" and o.get("name") == "stderr")
        stdout = "".join(o.get("text", "") for o in outputs
                         if o.get("output_type") == "stream" and o.get("name") == "stdout")
        if errors:
            error = errors[0]
            lines = [line for line in error.get("traceback", []) if isinstance(line, str)]
            detail = "\n".join(lines[-8:]) or f"{error.get('ename')}: {error.get('evalue')}"
            return Verdict(grade_id, False, f"The visible tests failed:\n{detail}")
        if stderr.strip():
            return Verdict(grade_id, False, "The visible tests wrote to stderr (a warning counts "
                                            f"as a failure):\n{stderr.strip()[:2000]}")
        return Verdict(grade_id, True, stdout.strip()[:2000])

    def _grade(self, grade_id: str) -> Verdict:
        if time.monotonic() > self.deadline:
            return Verdict(grade_id, False, "Not graded: the grader's time for this notebook was "
                           "used up by the cells above.")
        fn = self.checks[grade_id]
        timeout = getattr(fn, "__check_timeout__", None) or self.s.check_timeout
        for _attempt in range(2):
            try:
                proc = self._process()
                isolation = Isolation(self.zygote, self.params["scratch"], self.params.get("read_paths", []),
                                      self.data_source, self.ignore,
                                      expect_seccomp=proc.confinement.get("seccomp") == "on")
                child = proc.open_child(deadline=self.deadline, isolation=isolation)
            except GaveUp as exc:
                return Verdict(grade_id, False, f"Not graded: {exc}")
            except Refused as exc:
                self.log.warning("%s: %s", grade_id, exc)
                self._reset_scratch()
                return Verdict(grade_id, False, "Not graded: the process running your code could "
                               "not be isolated for this check (the code above changed the "
                               "sandbox itself).")
            except (Broken, SandboxError):
                continue
            verdict = run_check(grade_id, fn, child, timeout, self.deadline)
            ended = proc.close_child(child, deadline=self.deadline)
            if child.tampered:
                self.log.warning("%s: during the check, %s", grade_id, child.tampered)
                proc.kill()
                self._reset_scratch()
                return Verdict(grade_id, False, "Not graded: during this check your code changed "
                               "files outside its own scratch folder, which the sandbox does not "
                               "allow (the code above changed the sandbox itself).")
            if verdict.crashed and not verdict.passed:
                verdict.message += f"\n(The process running your code {ended}.)"
            return verdict
        return Verdict(grade_id, False, "Not graded: the process running your code could not be started.")

    # ----------------------------------------------------------------- processes

    def _reset_scratch(self) -> None:
        """After tampering: a fresh process in an emptied scratch folder (cells replay)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc = None
        self.zygote.sweep()
        scratch = self.params["scratch"]
        for name in os.listdir(scratch):
            path = os.path.join(scratch, name)
            if os.path.isdir(path) and not os.path.islink(path):
                remove_tree(path)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        copy_data_files(self.data_source, scratch, self.ignore)

    def _process(self):
        """The live notebook process, after a restart and replay if the last one died."""
        while self.proc is None or self.proc.dead:
            if self.spawned and self.restarts >= self.s.max_restarts:
                raise GaveUp(f"the code above stopped the sandbox {self.restarts + 1} times")
            if time.monotonic() > self.deadline:
                raise GaveUp("the grader's time for this notebook was used up")
            if self.spawned:
                self.restarts += 1
            self.spawned = True
            try:
                self.proc = self.zygote.spawn(self.params, deadline=self.deadline)
            except SandboxError as exc:
                self.proc = None
                if time.monotonic() >= self.deadline:
                    raise GaveUp("the grader's time for this notebook was used up") from None
                raise GaveUp(f"the sandbox could not be started ({exc})") from None
            self._check_confinement(self.proc.confinement)
            # The replay spends the notebook's budget like any other run of a cell.
            for index, code in enumerate(self.history):
                run = self.proc.exec_cell(code, self.s.cell_timeout, self.deadline)
                if run.status in ("timeout", "died"):
                    if time.monotonic() >= self.deadline:
                        raise GaveUp("the grader's time for this notebook was used up")
                    del self.history[index]  # it no longer completes: run on without it
                    break
        return self.proc

    def _check_confinement(self, report: dict) -> None:
        self.confinement = report
        if report.get("landlock", 0) >= 1:
            return
        if self.s.require_confinement:
            self.close()
            raise ConfigurationError(
                "Landlock is not available on this machine (Linux >= 5.13 with Landlock "
                f"enabled is needed): {report.get('error', 'ABI 0')}. Grade in a container or set "
                "SandboxAutograde.require_confinement = False.")
        if not getattr(self.s, "_warned", False):
            self.s._warned = True
            self.log.warning("Landlock is unavailable: student code is NOT confined (it could write "
                             "files or signal the grader). Grade in a container.")

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc = None
        leftovers = self.zygote.sweep()
        if leftovers:
            self.log.info("killed %d process(es) the submission's code had left running", leftovers)


# --------------------------------------------------------------------------- outputs


def _error(ename: str, message: str) -> dict:
    return new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


def _points(points) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def verdict_outputs(verdict: Verdict, points) -> list:
    """The test cell's outputs: nbgrader gives full marks to a clean output, zero to an error."""
    message = _clean(verdict.message)[:20000]
    if verdict.passed:
        text = f"PASSED {verdict.grade_id} ({points:g} of {_points(points)})\n"
        if message:
            text += message.rstrip() + "\n"
        return [new_output("stream", name="stdout", text=text)]
    lines = [f"FAILED {verdict.grade_id} (0 of {_points(points)})", *message.splitlines()]
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    return [new_output("error", ename="CheckFailed", evalue=first, traceback=lines)]


def _is_png(data) -> bool:
    if not isinstance(data, str) or len(data) > 8 * 1024 * 1024:
        return False
    try:
        raw = base64.b64decode(data.encode(), validate=True)
    except ValueError:
        return False
    return raw.startswith(b"\x89PNG\r\n\x1a\n")


def _clean(text: str) -> str:
    """Text that nbformat can always write (a student's lone surrogates become '?')."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _text(value, limit: int) -> str:
    return _clean(value[:limit]) if isinstance(value, str) else ""


def to_outputs(items, count: int, max_chars: int) -> list:
    """nbformat outputs from the sandbox's output items; anything malformed is dropped."""
    outputs = []
    for item in items[:200]:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "stream" and item.get("name") in ("stdout", "stderr"):
            outputs.append(new_output("stream", name=item["name"], text=_text(item.get("text"), max_chars)))
        elif kind == "result":
            outputs.append(new_output("execute_result", execution_count=count,
                                      data={"text/plain": _text(item.get("text"), max_chars)}))
        elif kind == "display":
            outputs.append(new_output("display_data",
                                      data={"text/plain": _text(item.get("text"), max_chars)}))
        elif kind == "image" and _is_png(item.get("png")):
            outputs.append(new_output("display_data", data={"image/png": item["png"],
                                                            "text/plain": "<Figure>"}))
        elif kind == "error":
            lines = item.get("traceback") if isinstance(item.get("traceback"), list) else []
            lines = [_text(line, 4000) for line in lines if isinstance(line, str)][:60]
            outputs.append(new_output("error", ename=_text(item.get("ename"), 200) or "Error",
                                      evalue=_text(item.get("evalue"), 2000), traceback=lines))
    return outputs


_copy_data_files = copy_data_files  # the name older code imports


def _describe_confinement(report: dict) -> str:
    if not report or report.get("landlock", 0) < 1:
        return "NOT confined (no Landlock)"
    parts = [f"Landlock ABI {report['landlock']}", "writes"]
    parts += [name for name in ("reads", "net", "signals") if report.get(name)]
    text = " + ".join(parts) + " confined"
    seccomp = report.get("seccomp")
    if seccomp:
        text += ", seccomp " + ("on (no network, per-check isolation)" if seccomp == "on" else seccomp)
    return text + (", no capabilities" if report.get("capabilities") == "none" else "")
