# dialtone: `make run` runs the embedded default; `make test` installs what the tests need and runs them all.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config/dialtone.yaml

.PHONY: run test lint format typecheck pytest bench peers venv schema readme clean node

$(BIN)/dialtone: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/dialtone

# axe-core (npm) for the accessibility test: injected into the status page in headless Chromium.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

node: $(AXE)

run: venv
	$(BIN)/dialtone run -c $(CONFIG)

peers:
	bash .ci/install-peers

test: peers venv node
	$(BIN)/ruff check agent statuspage tests bench docs tools
	$(BIN)/ruff format --check agent statuspage tests bench docs tools
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check agent statuspage tests bench docs tools
	$(BIN)/ruff format --check agent statuspage tests bench docs tools
	$(BIN)/lint-imports

format: venv
	$(BIN)/ruff format agent statuspage tests bench docs tools

typecheck: venv
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/run.py

readme: venv
	$(BIN)/python docs/assemble_readme.py

schema: venv
	$(BIN)/dialtone schema > config/schema.json

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache site var
