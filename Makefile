# voltools — `make report` measures and renders; `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_ID := $(or $(RUN_ID),$(shell date -u +%Y%m%dT%H%M%SZ)-report)
REPORT_TARGETS ?= local tmpfs:size=512m loop:fs=ext4,size=1g host
DATASET_SIZE ?= 4g
DATASET_BS ?= 64k
SWEEP ?= --question $(DATASET_SIZE)@$(DATASET_BS)  # the grid is voltools' default (plan.SweepRequest)

.PHONY: help venv engine report sample notebooks test test-unit soak bench doctor clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,k8s]'
	$(BIN)/python -m ipykernel install --sys-prefix --name voltools --display-name "voltools (.venv)" >/dev/null
	@touch $@

venv: $(STAMP) ## create .venv and install voltools with its dev tools

engine: ## make sure a Docker Engine answers (as root with apt: installs only what is missing; VOLTOOLS_NO_INSTALL=1 installs nothing)
	@scripts/ensure-engine.sh

report: $(STAMP) ## measure the default targets and render the capacity report
	@scripts/ensure-engine.sh; status=$$?; [ $$status -ne 4 ] || exit 4; \
	if [ $$status -eq 0 ]; then targets="$(REPORT_TARGETS)"; \
	  [ "$$(id -u)" = 0 ] || { targets=$$(tr ' ' '\n' <<<"$$targets" | grep -v '^loop' | tr '\n' ' '); echo "report: not root: no loop target"; }; \
	else echo "report: no Docker Engine can be had here: measuring the host target only"; targets="host"; fi; \
	args=(); for t in $$targets; do args+=(--target "$$t"); done; \
	$(BIN)/voltools sweep "$${args[@]}" $(SWEEP) --run-id $(RUN_ID)
	$(BIN)/voltools report --run-id $(RUN_ID) -o reports/$(RUN_ID).html

sample: $(STAMP) engine ## re-measure the committed sample run under data/raw (make report's sweep)
	$(BIN)/voltools sweep $(foreach t,$(REPORT_TARGETS),--target $(t)) $(SWEEP) --run-id sample

SOAK_KILLS ?= 30

soak: $(STAMP) engine ## the full attack: >= 30 kills of real sweeps, 30 of persist runs, the store's crash state machine at 400 runs, 40 engine calls cut, 40 containers stopped from outside, 20 dockerd restarts, 40 user holds of a run's volume, the set-up on 1,000 machines
	VOLTOOLS_SOAK=1 VOLTOOLS_SOAK_KILLS=$(SOAK_KILLS) $(BIN)/pytest -q -s -p no:cacheprovider \
	  tests/integration/test_soak.py::test_kill_soak tests/integration/test_persist_soak.py::test_persist_kill_soak \
	  "tests/unit/test_store.py::TestStoreUnderAttack" tests/integration/test_engine_faults.py \
	  tests/integration/test_ensure_engine_attack.py

NBVAL := --nbval-lax --nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks/

test: $(STAMP) engine ## unit, real-engine integration and notebook (nbval) tests
	@scripts/ensure-chromium.sh || echo "test: no Chromium: the report screenshot test will fail"
	$(BIN)/pytest -q -p no:cacheprovider
	$(BIN)/pytest -q -p no:cacheprovider $(NBVAL)

test-unit: $(STAMP) ## the tests that need no Docker Engine
	$(BIN)/pytest -q -p no:cacheprovider -m "not docker"
	$(BIN)/pytest -q -p no:cacheprovider $(NBVAL)

notebooks: $(STAMP) ## re-execute the notebooks on the committed sample, saving their outputs
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.kernel_name=python3 \
	  --ExecutePreprocessor.record_timing=False notebooks/*.ipynb

BENCH_ARGS ?=

bench: $(STAMP) engine ## measure the measurer -> benchmarks/RESULTS.md (~30 min; BENCH_ARGS=--quick is shorter)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

doctor: $(STAMP) ## what is here and what is missing
	$(BIN)/voltools doctor

clean: $(STAMP) ## remove every container, volume and loop device voltools made
	$(BIN)/voltools clean
