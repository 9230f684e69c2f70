# The node's two commands are `make serve` and `make test`; the rest help developers.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test check bench stress fuzz lock install install-dev clean

serve: install
	scripts/serve

test: install-dev check
	scripts/test

check: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy .

bench: install-dev
	$(BIN)/python -m bench

# Each parser of hostile input fuzzed for FUZZ_SECONDS (default 10 minutes each); see fuzz/README.md.
fuzz: install-dev
	$(BIN)/python -m fuzz all --seconds $${FUZZ_SECONDS:-600}

# Faults against the real servers, then the load run (stress/README.md); loopback only.
stress: install-dev
	STRESS=1 TEST_DATABASE=postgresql $(BIN)/pytest -m stress -rP tests/stress
	$(BIN)/python -m stress.load

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	scripts/make-venv "$(PYTHON)" $(VENV)

$(VENV)/.installed-runtime: requirements.lock | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock
	touch $@ $(VENV)/.installed-runtime

# Regenerate the lock files after changing pyproject.toml's dependencies.
lock: install-dev
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
