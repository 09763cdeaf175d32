# The two commands a newcomer needs: `make app` (the chat page) and `make test` (the suite).
# Each sets itself up on a fresh machine: a venv, the pinned CPU torch, then the project.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: app test index lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0

$(VENV)/.installed-app: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-app

index: $(VENV)/.installed-app
	$(BIN)/rag index

app: index
	$(BIN)/streamlit run ui/app.py --server.port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check rag ui tests bench
	$(BIN)/ruff format --check rag ui tests bench
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run --data ../shared/data

clean:
	rm -rf $(VENV) index/chroma* index/*.sqlite3
