# labelloop: `make demo` runs the demo on the embedded default; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[demo]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/labelloop demo

test: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/pytest -n auto --maxprocesses=4 --dist worksteal

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/consolidation.py
	$(BIN)/python bench/assign.py
	$(BIN)/python bench/portal.py

clean:
	rm -rf $(VENV) demo-data
