# Two commands do all the set-up:  `make lab` opens the lectures, `make test` runs the whole suite.
# Both create the environment in .venv on first use and are fast when it is up to date.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
# One stamp per audience (pyproject.toml's extras): the student's plain install, the instructor's
# [grader], the developer's [dev] (which holds [grader]). Each is redone when pyproject changes.
STUDENT := $(VENV)/.installed-student
GRADER  := $(VENV)/.installed-grader
DEV     := $(VENV)/.installed-dev
# nbgrader runs `alembic` as a program: the environment's bin must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
# Keep BLAS to one thread per process: faster and steadier on small shared machines.
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
# Quiet installs: no pip version nag, no progress bars in logs.
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet --quiet

.PHONY: lab test test-fast env env-grader env-dev bench site clean check student-copy formgrader

env: $(STUDENT)
env-grader: $(GRADER)
env-dev: $(DEV)

$(BIN)/python:
	@echo "Creating the environment in $(VENV)/ (first time only)."
	$(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip

$(STUDENT): pyproject.toml | $(BIN)/python
	@echo "Installing the course (mlpkit, JupyterLab, nbgrader): a minute or two the first time..."
	@$(PIP) install -e .
	@touch $@

$(GRADER): pyproject.toml | $(BIN)/python
	@echo "Installing the grader's extras (.[grader])..."
	@$(PIP) install -e '.[grader]'
	@touch $@ $(STUDENT)

$(DEV): pyproject.toml | $(BIN)/python
	@echo "Installing the course with the test tools (.[dev]): a few minutes the first time..."
	@$(PIP) install -e '.[dev]'
	@HUB_NODE_PREFIX=$(VENV)/node bash .ci/install-hub.sh  # JupyterHub's proxy (npm), for tests/test_hub.py
	@touch $@ $(GRADER) $(STUDENT)

# Instructor mode in this repository (every nbgrader panel); student mode in a student copy:
# notebooks copied into work/, instructor panels hidden (tools/lab.py says more).
lab: $(STUDENT)
	$(BIN)/python tools/lab.py

# Two pytest workers (pytest-xdist), one test file each at a time: a file's module fixtures (one
# hub, one course graded once) are built once. WORKERS=1 runs everything in one process.
WORKERS ?= 2
test: $(DEV)
	$(BIN)/ruff check mlpkit autograder tests benchmarks tools
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

# The inner loop: everything but notebook execution, nbgrader runs and the browser (a minute or two).
test-fast: $(DEV)
	$(BIN)/ruff check mlpkit autograder tests benchmarks tools
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

bench: $(DEV)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run_all.py

site: $(GRADER)
	$(BIN)/python tools/build_site.py --out site

# Grade by hand: the formgrader of a term folder (tools/new_term.py), each manually graded cell
# with its section of solutions/psN/rubric.md beside it:  make formgrader COURSE=~/courses/2025-spring
formgrader: $(GRADER)
	@test -n "$(COURSE)" || { echo "usage: make formgrader COURSE=<term folder made by tools/new_term.py>"; exit 2; }
	$(BIN)/python tools/lab.py --formgrader "$(COURSE)"

# Grade your own notebook offline:  make check NB=assignments/ps1/ps1.ipynb
check: $(GRADER)
	$(BIN)/python -m autograder.selfcheck $(NB)

# The course without its answers, for students:  make student-copy DEST=../course-students
student-copy: $(STUDENT)
	$(BIN)/python tools/student_copy.py $(DEST)

clean:
	rm -rf $(VENV) site .pytest_cache .hypothesis
