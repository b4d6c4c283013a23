# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
LOGDIR ?= runs
HOST ?= 127.0.0.1
PORT ?= 6006
# Without CUDA, the CPU build of torch is installed first so that no other torch is pulled in.
TORCH_CPU ?= torch==2.13.0
TORCH_CUDA ?= torch>=2.1,<3
# The dashboard bundle (see the `frontend` target).
NPM ?= npm
FRONTEND_BUNDLE := tensorboard_deepviz/static/index.js
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) \
	frontend/package.json $(wildcard frontend/package-lock.json) frontend/build.mjs frontend/tsconfig.json
FRONTEND_DEPS := frontend/node_modules/.deepviz-installed
NO_NPM := Node.js 20+ with npm is needed to build the dashboard (frontend/); install it (e.g. apt-get install nodejs npm) and run 'make frontend'

.PHONY: install test lint demo train serve bench clean

install: $(VENV)/.installed $(FRONTEND_BUNDLE)

$(VENV)/.installed: setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
	    $(PIP) install --quiet "$(TORCH_CUDA)"; \
	else \
	    $(PIP) install --quiet "$(TORCH_CPU)"; \
	fi
	$(PIP) install --quiet -e ".[demo,test,lint,lightning]"
	touch $@

test: install lint browser frontend-test
	$(PY) -m pytest tests

# Formatters and linters of both languages, and the type checkers; part of `make test`.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m tensorboard_deepviz.server.frontend_contract --check
	@if command -v $(NPM) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory $(FRONTEND_DEPS) && cd frontend && $(NPM) exec -- biome check . ; \
	else \
	    echo "lint: npm not found; the dashboard's formatter and linter are skipped"; \
	fi

# Chromium for the browser tests (tests/e2e), from the system's packages (Playwright's own browser
# download is not used). Installed only when missing and only as root; otherwise those tests skip.
.PHONY: browser
browser:
	@if [ -n "$$DEEPVIZ_CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	    echo "browser: using $${DEEPVIZ_CHROMIUM:-$$(command -v chromium || command -v chromium-browser)}"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "browser: installing chromium with apt-get"; \
	    (export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q chromium) \
	        || echo "browser: installing chromium failed; the browser tests (tests/e2e) will be skipped"; \
	else \
	    echo "browser: chromium is not installed and installing it needs root and apt-get;" \
	         "the browser tests (tests/e2e) will be skipped (sudo apt-get install chromium, or set DEEPVIZ_CHROMIUM)"; \
	fi

# The dashboard (frontend/, TypeScript) bundled by esbuild into the one ES module TensorBoard loads.
# Rebuilt only when a source is newer than the bundle; dependencies come from package-lock.json.
.PHONY: frontend frontend-test
frontend: $(FRONTEND_BUNDLE)

$(FRONTEND_DEPS): frontend/package.json $(wildcard frontend/package-lock.json)
	@command -v $(NPM) >/dev/null 2>&1 || { echo "frontend: $(NO_NPM)" >&2; exit 1; }
	cd frontend && if [ -f package-lock.json ]; then $(NPM) ci --no-audit --no-fund; else $(NPM) install --no-audit --no-fund; fi
	touch $@

$(FRONTEND_BUNDLE): $(FRONTEND_SOURCES)
	@if command -v $(NPM) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory $(FRONTEND_DEPS) && (cd frontend && $(NPM) run build) && touch $@; \
	elif [ -f $@ ]; then \
	    echo "frontend: npm not found; keeping the existing $@ (older than its sources). $(NO_NPM)"; touch $@; \
	else \
	    echo "frontend: $(NO_NPM)" >&2; exit 1; \
	fi

# Unit tests of the dashboard (vitest) and its type check.
frontend-test: $(FRONTEND_BUNDLE)
	@if command -v $(NPM) >/dev/null 2>&1; then \
	    $(MAKE) --no-print-directory $(FRONTEND_DEPS) && cd frontend && $(NPM) run typecheck && $(NPM) test; \
	else \
	    echo "frontend-test: npm not found; the dashboard's unit tests are skipped"; \
	fi

# Three runs: coloured shapes (units become colour and shape detectors), the same with a common
# mistake (inputs left as 0..255 bytes), and scikit-learn's digits. A few minutes on a laptop CPU.
train: install
	$(PY) -m demo.train --dataset shapes --logdir $(LOGDIR)
	$(PY) -m demo.train --dataset shapes --mistake unnormalized --logdir $(LOGDIR)
	$(PY) -m demo.train --dataset digits --logdir $(LOGDIR)
	$(PY) -m demo.train --dataset shapes --model resnet20 --epochs 4 --logdir $(LOGDIR)

serve: install
	$(VENV)/bin/tensorboard --logdir $(LOGDIR) --host $(HOST) --port $(PORT)

demo: train serve

# Performance benchmarks (not part of `make test`); each appends its figures to benchmarks/RESULTS.md.
bench: install browser
	$(PIP) install --quiet -e ".[bench]"
	$(PY) -m benchmarks.logging_cost
	$(PY) -m benchmarks.logging_cost --model resnet18 --repeats 3 --skip-log-step
	$(PY) -m benchmarks.serving
	$(PY) -m benchmarks.serving --statistics-per-checkpoint 34 --routes index,dynamics,findings,units_history
	$(PY) -m benchmarks.deep_models
	$(PY) -m benchmarks.distributed
	$(PY) -m benchmarks.similarity_cost
	$(PY) -m benchmarks.similarity_cost --model resnet18 --eval-size 500 --batch 250 --repeats 3
	$(PY) -m benchmarks.memory
	$(PY) -m benchmarks.feature_vis
	$(PY) -m benchmarks.browser
	$(PY) -m benchmarks.findings_calibration

clean:
	rm -rf $(VENV) build dist *.egg-info frontend/node_modules $(FRONTEND_BUNDLE)
