# The two commands a user needs are `make run` and `make test`; both set themselves up.
.PHONY: setup run test test-fast lint typecheck bench clean

VENV := .venv
PY := $(VENV)/bin/python

setup:
	@scripts/setup.sh

run: setup
	@$(PY) localstack/run.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy functions/lorawan

test: setup lint typecheck
	$(VENV)/bin/pytest -q

test-fast: setup
	$(VENV)/bin/pytest -q -m "not slow"

bench: setup
	$(PY) -m bench.lorawan_core

clean:
	rm -rf $(VENV) tests/oracles/node_modules .pytest_cache .mypy_cache .ruff_cache
