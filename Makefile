# The few commands people type. Everything installs into .venv from scratch.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: `make run` needs only the runtime (the client and the server); `make test` and
# `make lint` add the test extra (pytest, OpenBao, ruff, mypy: several hundred MB more).
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8888
DATA := .data

.PHONY: install run test lint image-test bench bench-propagation bench-validate clean

$(BIN)/python:
	@$(PY) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): $(BIN)/python pyproject.toml client/pyproject.toml
	@echo "Installing the server into $(VENV)..."
	@$(BIN)/pip install -q -e ./client -e . > $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	@touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP) tests/support/node/package-lock.json
	@echo "Installing the test tools into $(VENV) (the first time takes a minute)..."
	@$(BIN)/pip install -q -e ./client -e '.[test]' > $(VENV)/install-test.log 2>&1 \
		|| { cat $(VENV)/install-test.log; exit 1; }
	@# Real third-party programs the tests run under Node (oidc-provider, cloud-config-client),
	@# pinned by package-lock.json, installed into the venv (.venv/node), outside the test tree.
	@if command -v npm > /dev/null; then \
		mkdir -p $(VENV)/node && cp tests/support/node/package.json tests/support/node/package-lock.json $(VENV)/node/ \
		&& npm ci --prefix $(VENV)/node --no-audit --no-fund > $(VENV)/install-npm.log 2>&1 \
			|| { cat $(VENV)/install-npm.log; exit 1; }; \
	else echo "npm not found: the tests that need Node (oidc-provider) will be skipped"; fi
	@touch $(TEST_STAMP)

install: $(TEST_STAMP)

run: $(RUN_STAMP)
	@$(BIN)/python scripts/sample_repo.py $(DATA)
	@echo
	@echo "Config server on http://$(HOST):$(PORT)  (repository: $(CURDIR)/$(DATA)/config-repo.git)"
	@echo "ANONYMOUS: no authentication, so it listens on loopback only (see README, Security)."
	@echo "Try:"
	@echo "  curl http://$(HOST):$(PORT)/orders/dev"
	@echo "  curl http://$(HOST):$(PORT)/orders-prod.yml"
	@echo "  curl http://$(HOST):$(PORT)/actuator/health"
	@echo "Change config: git clone $(CURDIR)/$(DATA)/config-repo.git, edit, commit, git push."
	@echo
	@$(BIN)/config-server serve --repo $(CURDIR)/$(DATA)/config-repo.git \
		--search-paths "shared,teams/{application}" --basedir $(CURDIR)/$(DATA)/clone --host $(HOST) --port $(PORT)

# Two workers (pytest-xdist), one per core: most tests wait on real servers, git and sockets.
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2

lint: $(TEST_STAMP)
	$(BIN)/ruff check config_server client tests bench examples scripts
	$(BIN)/ruff format --check config_server client tests bench examples scripts
	$(BIN)/mypy config_server client/config_client

# Build the Dockerfile with buildah on a debootstrap bookworm and serve from the image (root,
# buildah and debootstrap needed; the first run takes a few minutes, later ones reuse .cache/).
# Not part of `make test`: .ci/run runs it after lint.
image-test:
	$(PY) scripts/image_test.py

bench: bench-propagation bench-validate

# Push-to-callback latency, long poll vs 1 s polling, for 1 and 1,000 clients (about a minute).
bench-propagation: $(RUN_STAMP)
	$(BIN)/python bench/propagation.py

# config-server validate on 1,000 services x 3 profiles, against parsing the same files (~15 s).
bench-validate: $(RUN_STAMP)
	$(BIN)/python bench/validate.py

clean:
	rm -rf $(VENV) $(DATA)
