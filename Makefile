# Vigie: `make demo` runs the hospital scenario end to end, `make test` runs the whole suite.
# Both set up everything they need themselves (virtualenv in .venv, packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output
DEMO_EVENTS ?= 200000

.PHONY: demo test venv bench clean schema

venv: $(STAMP)

$(STAMP): setup.py requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: venv
	$(BIN)/vigie demo --out $(DEMO_DIR) --events $(DEMO_EVENTS)

test: venv
	$(BIN)/python -m pytest -q tests

schema: venv
	$(BIN)/vigie schema render

bench: venv
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_detection.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache build *.egg-info
