# Two entry points: `make run` (quickstart on the embedded synthetic data) and
# `make test`. Each creates .venv and installs the pinned stack if missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONUNBUFFERED := 1

# The installs download about 1 GB (TensorFlow twice). A download the network
# cuts short is resumed by pip (PIP_RESUME_RETRIES times); an install that
# still fails is tried again after PIP_PAUSE seconds, up to PIP_TRIES times.
# Wheels already downloaded come from pip's cache on the next try.
export PIP_RESUME_RETRIES ?= 20
PIP_TRIES ?= 3
PIP_PAUSE ?= 60
# $(call pip_install,<python>,<pip install arguments>)
pip_install = for try in $$(seq $(PIP_TRIES)); do $(1) -m pip install -q $(2) && break; \
	[ $$try -lt $(PIP_TRIES) ] || exit 1; \
	echo "pip install failed (try $$try of $(PIP_TRIES)): trying again in $(PIP_PAUSE) s"; \
	sleep $(PIP_PAUSE); done

# A second venv: the model package on a current TensorFlow with tf-keras,
# without TF-Ranking (requirements-tf-latest.txt).
# (the first python3.12 that runs: on PATH, or one of pyenv's versions)
COMPAT_PYTHON ?= $(shell for p in $$(command -v python3.12) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12; do $$p --version >/dev/null 2>&1 && { echo $$p; break; }; done)
COMPAT_VENV   := .venv-tf-latest
COMPAT_STAMP  := $(COMPAT_VENV)/.installed

.PHONY: run test test-main test-compat install check-package clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(call pip_install,$(PY),-r requirements.txt)
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/seqmd quickstart

test: test-main test-compat check-package

# pytest exits 5 when it collects nothing: that is a failure here. The tests
# run on every core (pytest-xdist); the 15 slowest are listed at the end.
test-main: $(STAMP)
	@$(PY) -m pytest -n auto --durations=15 tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$rc

$(COMPAT_STAMP): requirements-tf-latest.txt
	@test -n "$(COMPAT_PYTHON)" || { echo "no python3.12 for the newer-TensorFlow venv (set COMPAT_PYTHON)"; exit 1; }
	@test -x $(COMPAT_VENV)/bin/python || $(COMPAT_PYTHON) -m venv $(COMPAT_VENV)
	$(COMPAT_VENV)/bin/python -m pip install -q --upgrade pip
	$(call pip_install,$(COMPAT_VENV)/bin/python,-r requirements-tf-latest.txt)
	$(COMPAT_VENV)/bin/python -m pip check
	@touch $(COMPAT_STAMP)

# Tests marked tf_ranking need TF-Ranking or TF Serving and run in test-main.
test-compat: $(COMPAT_STAMP)
	@PYTHONPATH=$(CURDIR) $(COMPAT_VENV)/bin/python -m pytest -p no:cacheprovider \
	  -m "not tf_ranking" tests/layers tests/models tests/evaluation \
	  tests/training/test_losses.py tests/data/test_schema.py \
	  tests/data/test_elwc_wire.py tests/docs/test_colab.py; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$rc

# Part of `make test` (about 2 minutes): `pip install .` into a fresh virtualenv,
# then generate, convert, train, export and serve with the installed `seqmd`
# (tests/packaging/installed_pipeline.py), run from outside the checkout.
# The tested pins constrain the versions (constraints cannot carry extras);
# only what pyproject.toml declares is installed.
PKG_VENV := $(or $(TMPDIR),/tmp)/seqmd-package-check
check-package:
	rm -rf $(PKG_VENV) && $(PYTHON) -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/python -m pip install -q --upgrade pip
	sed 's/\[[a-z,]*\]//' requirements.txt > $(PKG_VENV)/constraints.txt
	$(call pip_install,$(PKG_VENV)/bin/python,-c $(PKG_VENV)/constraints.txt .)
	$(PKG_VENV)/bin/python -m pip check
	cd $(PKG_VENV) && $(PKG_VENV)/bin/python $(CURDIR)/tests/packaging/installed_pipeline.py

clean:
	rm -rf artifacts .pytest_cache $(COMPAT_VENV)
