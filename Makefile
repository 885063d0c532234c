# Vigie: `make demo` runs the hospital scenario end to end, `make test` runs the whole suite.
# Both set up everything they need themselves (virtualenv in .venv, packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output
DEMO_EVENTS ?= 200000

.PHONY: demo test venv bench clean schema es-start es-stop

venv: $(STAMP)

$(STAMP): setup.py requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

# The demo also indexes into the local Elasticsearch (left running for searching and hunting).
demo: venv
	@$(MAKE) --no-print-directory es-start
	$(BIN)/vigie demo --out $(DEMO_DIR) --events $(DEMO_EVENTS) --es-url http://127.0.0.1:$${VIGIE_ES_PORT:-9200}

# The suite runs against a real Elasticsearch, started here and stopped even when tests fail.
test: venv
	@$(MAKE) --no-print-directory es-start
	@$(BIN)/python -m pytest -q tests; status=$$?; $(MAKE) --no-print-directory es-stop; exit $$status

# A local single-node Elasticsearch on 127.0.0.1:$${VIGIE_ES_PORT:-9200}, fetched with Maven.
es-start: venv
	$(BIN)/python -m pipelines.services.elasticsearch start

es-stop: venv
	$(BIN)/python -m pipelines.services.elasticsearch stop

schema: venv
	$(BIN)/vigie schema render

bench: venv
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_detection.py
	$(BIN)/python bench/bench_es.py
	$(BIN)/python bench/bench_enrichment.py
	$(BIN)/python bench/bench_correlation.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache build *.egg-info
