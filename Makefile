# Two commands do all the set-up:  `make lab` opens the lectures, `make test` runs the whole suite.
# Both create the environment in .venv on first use and are fast when it is up to date.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader runs `alembic` as a program: the environment's bin must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
# Keep BLAS to one thread per process: faster and steadier on small shared machines.
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

.PHONY: lab test env bench site clean check student-copy

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Jupyter refuses to run as root unless told to (containers, lab machines): say so only then.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/lectures

test: $(STAMP)
	$(BIN)/ruff check mlpkit tests benchmarks tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run_all.py

site: $(STAMP)
	$(BIN)/python tools/build_site.py --out site

# Grade your own notebook offline:  make check NB=assignments/ps1/ps1.ipynb
check: $(STAMP)
	$(BIN)/python -m mlpkit.selfcheck $(NB)

# The course without its answers, for students:  make student-copy DEST=../course-students
student-copy: $(STAMP)
	$(BIN)/python tools/student_copy.py $(DEST)

clean:
	rm -rf $(VENV) site .pytest_cache .hypothesis
