"""The set-up files agree with each other: pyproject.toml, environment.yml, Makefile, .ci/run."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _requirement_map(requirements):
    """{'numpy': '>=2.2', ...} from PEP 508 strings (names lower-cased, '_' -> '-')."""
    result = {}
    for requirement in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", requirement)
        assert match, f"cannot parse requirement {requirement!r}"
        result[match.group(1).lower().replace("_", "-")] = match.group(2).replace(" ", "")
    return result


# What conda-forge carries under the same names as PyPI: the only packages the conda section lists.
CONDA_STAPLES = {"numpy", "matplotlib", "ipywidgets", "tqdm", "jupyterlab", "ipykernel"}


def _environment(path: Path):
    """(conda requirements, pip requirements) of an environment.yml, as written."""
    lines = path.read_text().split("dependencies:", 1)[1].splitlines()
    conda = [line.strip()[2:] for line in lines if re.match(r"^  - [a-z]", line)]
    pip = [line.strip()[2:] for line in lines if re.match(r"^      - ", line)]
    return conda, pip


def _student_requirements():
    return _requirement_map(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def test_environment_yml_is_the_students_install():
    """Conda lists only the staples; pip brings the rest, pinned as pyproject.toml pins the plain
    install; no test, lint or browser tooling (that is the `dev` extra, not the student's)."""
    conda, pip = _environment(ROOT / "environment.yml")
    assert "python=3.11" in conda and "pip" in conda
    conda_map = _requirement_map([c for c in conda if not c.startswith(("python=", "pip"))])
    assert set(conda_map) == CONDA_STAPLES, sorted(set(conda_map) ^ CONDA_STAPLES)
    pip_map = _requirement_map([p for p in pip if not p.startswith("-e")])
    assert {**conda_map, **pip_map} == _student_requirements()
    assert not set(conda_map) & set(pip_map)
    assert "-e ." in pip, "environment.yml must install the course package"


def test_binder_environment_is_the_same_without_the_package():
    """repo2docker ignores the root's environment.yml once binder/ exists: its copy must match,
    and binder/postBuild installs the package (`pip install .`, no extras)."""
    root_conda, root_pip = _environment(ROOT / "environment.yml")
    binder_conda, binder_pip = _environment(ROOT / "binder" / "environment.yml")
    assert binder_conda == root_conda
    assert binder_pip == [p for p in root_pip if not p.startswith("-e")]
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    commands = [line for line in post_build.read_text().splitlines() if "pip install" in line]
    assert commands and all(line.rstrip().endswith(" .") for line in commands), commands


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme


def test_nbgrader_course_directories():
    config = (ROOT / "nbgrader_config.py").read_text()
    assert 'source_directory = "solutions"' in config
    assert 'release_directory = "assignments"' in config


def test_grading_data_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().split()
    for name in ("submitted/", "autograded/", "feedback/", "gradebook.db", "site/", ".venv/"):
        assert name in ignored, f"{name} must be in .gitignore"
