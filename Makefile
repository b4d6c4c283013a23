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

.PHONY: install test demo train serve bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
	    $(PIP) install --quiet "$(TORCH_CUDA)"; \
	else \
	    $(PIP) install --quiet "$(TORCH_CPU)"; \
	fi
	$(PIP) install --quiet -e ".[demo,test]"
	touch $@

test: install
	$(PY) -m pytest tests

train: install
	$(PY) -m demo.train --logdir $(LOGDIR)

serve: install
	$(VENV)/bin/tensorboard --logdir $(LOGDIR) --host $(HOST) --port $(PORT)

demo: train serve

# Performance benchmarks (not part of `make test`); each appends its figures to benchmarks/RESULTS.md.
bench: install
	$(PIP) install --quiet -e ".[bench]"
	$(PY) -m benchmarks.logging_cost
	$(PY) -m benchmarks.serving

clean:
	rm -rf $(VENV) build dist *.egg-info
