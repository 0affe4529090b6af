# The two commands a user needs are `make run` and `make test`; both set themselves up.
.PHONY: setup run test test-fast lint typecheck bench faults synth deploy deploy-localstack test-localstack clean web

VENV := .venv
PY := $(VENV)/bin/python

setup:
	@scripts/setup.sh

run: setup
	@$(PY) -m localcloud.run $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy functions/lorawan functions/bridge functions/simulator functions/network functions/appserver functions/shared localcloud infra

test: setup lint typecheck
	cd web && node --test test/
	$(VENV)/bin/pytest -q

web: setup
	cd web && node build.mjs

test-fast: setup
	$(VENV)/bin/pytest -q -m "not slow"

# Faults tested like features (tests/e2e/test_faults.py): longer phases than CI's short form, the table printed.
faults: setup
	LORALESS_FAULT_PHASE_S=20 LORALESS_FAULT_DEVICES=5 $(VENV)/bin/pytest -q -s tests/e2e/test_faults.py

bench: setup
	$(PY) -m bench.lorawan_core
	$(PY) -m bench.bridge
	$(PY) -m bench.station
	$(PY) -m bench.network
	$(PY) -m bench.frame_log
	$(PY) -m bench.api
	$(PY) -m bench.local_cloud --devices 10 100 --rate 20 --concurrency 8
	$(PY) -m bench.cost
	$(PY) -m bench.lambda_environments
	$(PY) -m bench.throughput

# The CDK CLI is pinned in infra/cli (aws-cdk 3.x cannot synthesize aws-cdk-lib 2).
CDK := npx --prefix infra/cli cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

infra/cli/node_modules: infra/cli/package-lock.json
	npm ci --prefix infra/cli --no-audit --no-fund --silent

# The CLI takes account and region from the AWS profile (or AWS_REGION); the bridge needs a region.
synth: setup infra/cli/node_modules
	$(CDK) synth --quiet

deploy: setup infra/cli/node_modules
	$(CDK) deploy $(ARGS)

# LocalStack (localstack/docker-compose.yml, needs Docker): the same app through cdklocal, and the
# DynamoDB-backed functional tests against it.
LOCALSTACK_ENDPOINT ?= http://localhost:4566
deploy-localstack: setup infra/cli/node_modules
	AWS_ENDPOINT_URL=$(LOCALSTACK_ENDPOINT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	  AWS_REGION=$${AWS_REGION:-us-east-1} npx --prefix infra/cli cdklocal bootstrap
	AWS_ENDPOINT_URL=$(LOCALSTACK_ENDPOINT) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	  AWS_REGION=$${AWS_REGION:-us-east-1} npx --prefix infra/cli cdklocal deploy --require-approval never $(ARGS)

test-localstack: setup
	LORALESS_LOCALSTACK_ENDPOINT=$(LOCALSTACK_ENDPOINT) $(VENV)/bin/pytest -q tests/localstack

clean:
	rm -rf $(VENV) tests/oracles/node_modules web/node_modules web/dist .pytest_cache .mypy_cache .ruff_cache
