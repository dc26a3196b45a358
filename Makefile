# ClickTok: `make run` starts the whole system locally, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DEPS := $(VENV)/.deps-installed
NODE_DEPS := node_modules/.deps-installed
export AWS_DEFAULT_REGION ?= us-east-1
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION ?= 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION ?= 1

.PHONY: run test lint unit synth cfn-lint bench deploy reset clean check-python check-node check-java

run: $(DEPS) $(NODE_DEPS) check-java
	$(BIN)/python -m local.stack

test: $(DEPS) $(NODE_DEPS) lint unit cfn-lint

check-python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: $(PYTHON) not found. ClickTok's Lambdas run Python 3.11: install it, or pass PYTHON=/path/to/python3.11." >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || { \
	  echo "error: $(PYTHON) is not Python 3.11 (Chalice takes the Lambda runtime from it)." >&2; exit 1; }

check-node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  echo "error: Node.js and npm are needed (DynamoDB Local's launcher, the CDK's jsii runtime). Install Node.js 18 or newer." >&2; exit 1; }

check-java:
	@command -v java >/dev/null 2>&1 || \
	  echo "warning: Java not found: the local stack falls back to moto's DynamoDB (no TTL expiry). Install a JRE 17 for DynamoDB Local." >&2

$(DEPS): requirements.txt requirements-dev.txt requirements-render.txt constraints.txt pyproject.toml | check-python
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(NODE_DEPS): package.json package-lock.json | check-node
	npm ci --no-audit --no-fund
	touch $@

lint: $(DEPS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(DEPS) $(NODE_DEPS)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

synth: $(DEPS) $(NODE_DEPS)
	$(BIN)/python -m infra.synth

cfn-lint: synth
	$(BIN)/cfn-lint --non-zero-exit-code error cdk.out/*.template.json

# Each prints one JSON line of figures next to the baseline it is compared with in the same run
# (render_baseline.py is render.py's baseline, not a benchmark of its own).
BENCHMARKS := benchmarks/import_app.py benchmarks/sync.py benchmarks/render.py

bench: $(DEPS) $(NODE_DEPS)
	@for b in $(BENCHMARKS); do $(BIN)/python $$b || exit 1; done

deploy: $(DEPS) $(NODE_DEPS)
	npx --no-install cdk deploy --app "$(BIN)/python infra/cdk_app.py" --require-approval never $(CDK_ARGS)

reset:
	rm -rf .clicktok

clean: reset
	rm -rf $(VENV) node_modules cdk.out chalice.out build
