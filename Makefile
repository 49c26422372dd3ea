# Two entry points: `make run` (quickstart on the embedded synthetic data) and
# `make test`. Each creates .venv and installs the pinned stack if missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONUNBUFFERED := 1

.PHONY: run test install clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/seqmd quickstart

# pytest exits 5 when it collects nothing: that is a failure here.
test: $(STAMP)
	@$(PY) -m pytest tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$rc

clean:
	rm -rf artifacts .pytest_cache
