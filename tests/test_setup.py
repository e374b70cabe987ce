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


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _requirement_map(project["dependencies"] + project["optional-dependencies"]["dev"])
    text = (ROOT / "environment.yml").read_text()
    lines = text[text.index("dependencies:"):].splitlines()
    conda = [line.strip()[2:] for line in lines if re.match(r"^  - [a-z]", line)]
    conda_map = _requirement_map([c for c in conda if not c.startswith(("python=", "pip"))])
    assert conda_map == wanted, (
        "environment.yml and pyproject.toml (dependencies + extra 'dev') list different packages "
        f"or bounds:\n only in pyproject: {sorted(set(wanted.items()) - set(conda_map.items()))}"
        f"\n only in environment.yml: {sorted(set(conda_map.items()) - set(wanted.items()))}"
    )
    assert "python=3.11" in [c.strip() for c in conda]
    assert any(line.strip() == "- -e ." for line in lines), "environment.yml must install mlpkit"


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
