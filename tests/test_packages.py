"""The two packages and the three installs: mlpkit (the student's library) never imports the grader,
modules stay small enough to read in one sitting, and the plain install is the student's only.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500
# A longer module says why at its top, in its docstring ("longer than ... 500 lines, so that ...",
# or "Length: about N lines on purpose, so that ...").
REASON = re.compile(r"longer than[^.]*500 lines|Length: about \d+ lines", re.IGNORECASE)
# What only developers, benchmarks or browsers need: never in the student's install.
NOT_FOR_STUDENTS = {"pytest", "pytest-xdist", "hypothesis", "ruff", "playwright", "torch",
                    "autograd", "jax", "jaxlib", "coverage", "selenium", "pyppeteer"}


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _modules("mlpkit"), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_mlpkit_never_imports_the_grader(path):
    grader = {name for name in _imported(path) if name.split(".")[0] == "autograder"}
    assert not grader, f"{path.relative_to(ROOT)} imports {sorted(grader)}: mlpkit must not need the grader"


def test_importing_every_mlpkit_module_loads_no_grader_module():
    probe = (
        "import importlib, pkgutil, sys, mlpkit\n"
        "names = [m.name for m in pkgutil.walk_packages(mlpkit.__path__, 'mlpkit.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names)); print(sorted(m for m in sys.modules if m.split('.')[0] == 'autograder'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, MPLBACKEND="Agg"), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    count, loaded = done.stdout.split("\n", 1)
    assert int(count) >= 15, count
    assert loaded.strip() == "[]", loaded


@pytest.mark.parametrize("package", ["mlpkit", "autograder"])
def test_modules_are_small_enough_to_read_in_one_sitting(package):
    long = []
    for path in _modules(package):
        text = path.read_text()
        if text.count("\n") > MAX_LINES and not REASON.search(text[:3000]):
            long.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert not long, f"modules over {MAX_LINES} lines without a reason at their top: {long}"


def _requirement_names(requirements) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", r.strip(), maxsplit=1)[0].lower().replace("_", "-")
            for r in requirements}


def test_extras_by_audience():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    plain = _requirement_names(project["dependencies"])
    extras = project["optional-dependencies"]
    assert {"numpy", "matplotlib", "ipywidgets", "tqdm", "jupyterlab", "nbgrader"} <= plain
    assert not plain & NOT_FOR_STUDENTS, plain & NOT_FOR_STUDENTS
    assert not _requirement_names(extras["grader"]) & NOT_FOR_STUDENTS
    assert "mlpkit" in _requirement_names(extras["dev"]), "dev must include the grader's extra"
    assert {"pytest", "hypothesis", "ruff", "playwright"} <= _requirement_names(extras["dev"])
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: \$\(STUDENT\)", makefile, re.M), "make lab installs the plain set only"
    assert re.search(r"^test: \$\(DEV\)", makefile, re.M)
    assert re.search(r"^check: \$\(GRADER\)", makefile, re.M)


@pytest.mark.slow
def test_plain_install_is_the_students_and_runs_a_lecture_and_validate(tmp_path):
    """`pip install .` in a new virtual environment: no test, lint, browser or benchmark tooling;
    every mlpkit module imports without the grader; a lecture runs; Validate works."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    source = tmp_path / "course"
    # install from a copy of the tracked files, so the build does not write into the repository
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    install = subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "-qq", "."],
                             cwd=source, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True,
                            text=True, check=True, timeout=120).stdout
    installed = {d["name"].lower().replace("_", "-") for d in json.loads(listed)}
    assert {"mlpkit", "numpy", "jupyterlab", "nbgrader", "jupyter-server-mathjax"} <= installed
    assert not installed & NOT_FOR_STUDENTS, sorted(installed & NOT_FOR_STUDENTS)
    env = dict(os.environ, MPLBACKEND="Agg", PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    # the student's server serves MathJax (a fetched feedback page typesets with it, offline)
    extensions = subprocess.run([venv / "bin" / "jupyter", "server", "extension", "list"], env=env,
                                capture_output=True, text=True, timeout=300)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", extensions.stdout + extensions.stderr)  # no colours
    assert re.search(r"jupyter_server_mathjax\s+enabled", listing), listing[-3000:]
    probe = ("import importlib, pkgutil, sys, mlpkit\n"
             "[importlib.import_module(m.name) for m in pkgutil.walk_packages(mlpkit.__path__, 'mlpkit.')]\n"
             "assert not [m for m in sys.modules if m.startswith('autograder')]\n"
             "print(mlpkit.__file__)")
    done = subprocess.run([python, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert str(venv) in done.stdout, done.stdout  # the installed copy, not the repository
    lecture = subprocess.run(
        [python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output",
         str(tmp_path / "l01.ipynb"), str(source / "lectures" / "01-numerical-differentiation.ipynb")],
        cwd=source / "lectures", env=env, capture_output=True, text=True, timeout=600)
    assert lecture.returncode == 0, lecture.stderr[-3000:]
    verdicts = {}
    for name, notebook in (("solution", "solutions/ps1/ps1.ipynb"), ("blank", "assignments/ps1/ps1.ipynb")):
        validate = subprocess.run([venv / "bin" / "nbgrader", "validate", str(source / notebook)],
                                  cwd=source, env=env, capture_output=True, text=True, timeout=600)
        assert validate.returncode == 0, validate.stderr[-3000:]
        verdicts[name] = validate.stdout
    assert "Success! Your notebook passes all the tests." in verdicts["solution"], verdicts["solution"][-999:]
    assert "VALIDATION FAILED" in verdicts["blank"], verdicts["blank"][-2000:]
