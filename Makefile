# Vigie: `make demo` runs the hospital scenario end to end, `make test` runs the whole suite.
# Both set up everything they need themselves (virtualenv in .venv, packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-output
DEMO_EVENTS ?= 200000

.PHONY: demo test test-fast venv bench clean schema es-start es-stop chromium kafka-start kafka-stop \
	beam-java-start beam-java-stop flink-start flink-stop prism streaming-start streaming-stop \
	streaming-status test-streaming bench-stream

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

# The whole suite: a real Elasticsearch started here (with no data left from an earlier run, whose
# indices would carry an older mapping; a node already running is used as it is) and stopped even
# when tests fail; Chromium for the report pages; the streaming tests start (and stop) Kafka,
# Prism, Flink themselves.
test: venv chromium
	$(BIN)/python -m pipelines.services.elasticsearch start --fresh
	@VIGIE_STREAMING_TESTS=1 $(BIN)/python -m pytest -q tests; status=$$?; \
	$(MAKE) --no-print-directory es-stop; exit $$status

# The fast tier for the development loop: no server, no whole replay (well under a minute).
test-fast: venv
	$(BIN)/python -m pytest -q -m "not es and not slow and not streaming and not browser" tests

# A local single-node Elasticsearch on 127.0.0.1:$${VIGIE_ES_PORT:-9200}, fetched with Maven.
es-start: venv
	$(BIN)/python -m pipelines.services.elasticsearch start

es-stop: venv
	$(BIN)/python -m pipelines.services.elasticsearch stop

# The streaming stack (docs/streaming-stack.md), every server on 127.0.0.1, stopped by pid:
# Kafka 4.4 (KRaft) on $${VIGIE_KAFKA_PORT:-9092}, Beam's Java expansion service on
# $${VIGIE_EXPANSION_PORT:-8097} with its Java worker pool on $${VIGIE_JAVA_WORKERS_PORT:-50000},
# a Flink 1.19 session cluster with REST on $${VIGIE_FLINK_PORT:-8081}, and the Prism binary.
kafka-start: venv
	$(BIN)/python -m pipelines.services.kafka start

kafka-stop: venv
	$(BIN)/python -m pipelines.services.kafka stop

beam-java-start: venv
	$(BIN)/python -m pipelines.services.java_workers start
	$(BIN)/python -m pipelines.services.expansion start

beam-java-stop: venv
	$(BIN)/python -m pipelines.services.expansion stop
	$(BIN)/python -m pipelines.services.java_workers stop

flink-start: venv
	$(BIN)/python -m pipelines.services.flink start

flink-stop: venv
	$(BIN)/python -m pipelines.services.flink stop

prism: venv
	$(BIN)/python -m pipelines.services.prism build

streaming-start: kafka-start beam-java-start flink-start prism

streaming-stop: venv
	-$(BIN)/python -m pipelines.services.flink stop
	-$(BIN)/python -m pipelines.services.expansion stop
	-$(BIN)/python -m pipelines.services.java_workers stop
	-$(BIN)/python -m pipelines.services.kafka stop

streaming-status: venv
	-@$(BIN)/python -m pipelines.services.kafka status
	-@$(BIN)/python -m pipelines.services.java_workers status
	-@$(BIN)/python -m pipelines.services.expansion status
	-@$(BIN)/python -m pipelines.services.flink status

# The streaming stack's own tests; their fixtures start what is not running and stop it after.
test-streaming: venv
	$(BIN)/python -m pytest -q -m streaming tests/test_streaming_stack.py tests/test_stream_prism.py \
		tests/test_stream_flink.py tests/test_replay_flink.py
# Debian's Chromium for the report browser test (tests/test_reports_browser.py); needs root the
# first time. Skipped when /usr/bin/chromium is already there.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }
	@test -x /usr/bin/chromium || { echo "make chromium: /usr/bin/chromium is still missing (apt-get install -y chromium failed)"; exit 1; }

schema: venv
	$(BIN)/vigie schema render

bench: venv
	$(BIN)/python bench/bench_replay.py
	$(BIN)/python bench/bench_detection.py
	$(BIN)/python bench/bench_es.py
	$(BIN)/python bench/bench_enrichment.py
	$(BIN)/python bench/bench_correlation.py

# Live detection on Prism, or on the local Flink cluster with BENCH_RUNNER=flink (starts and stops
# Kafka, Beam's Java services and the cluster when not running).
bench-stream: venv
	$(BIN)/python bench/bench_stream.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache build *.egg-info
