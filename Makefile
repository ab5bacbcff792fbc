# The two commands of the README: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is pinned and installed before the package: a loose requirement would pull a multi-GB CUDA build.
TORCH  := torch==2.13.0
EXTRAS := vfx,ml,postgres,standards,server,test
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench install system-deps explorer clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

# The Explorer's front end: npm packages from the lockfile, built by Vite into the server package.
EXPLORER_DIST := src/rmtc/server/explorer_dist/index.html
explorer: $(EXPLORER_DIST)
$(EXPLORER_DIST): explorer/package-lock.json explorer/vite.config.js explorer/index.html $(shell find explorer/src explorer/public -type f 2>/dev/null)
	cd explorer && npm ci --no-audit --no-fund && npm run build

demo: install explorer
	$(BIN)/python -m rmtc.demo demo

test: install system-deps explorer
	bash scripts/run-tests.sh

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) demo bench/out .pytest_cache .ruff_cache explorer/node_modules src/rmtc/server/explorer_dist test-artifacts
