# `make test` and `make demo` work on a fresh clone: they build .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A CPU build of PyTorch first (a wheel pip finds locally, else the CPU index): a plain `pip install torch`
# would fetch a multi-GB CUDA build. Its dependencies come with the package, from the usual index.
TORCH := torch==2.13.0
TORCH_INDEX := https://download.pytorch.org/whl/cpu

.PHONY: test test-fast demo bench lint notebooks sandbox-deps gpu-check clean

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory sandbox-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q --no-deps --no-index $(TORCH) 2>/dev/null \
	  || $(PY) -m pip install -q --no-deps $(TORCH) --index-url $(TORCH_INDEX)
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# bubblewrap is the sandbox; without it grading still works, in degraded mode. A headless Chromium renders the
# feedback and class pages in the tests (tests/browser.py); without it those tests skip, except under CI.
sandbox-deps:
	@missing=""; command -v bwrap >/dev/null 2>&1 || missing="bubblewrap"; \
	command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 \
	  || missing="$$missing chromium-headless-shell"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $$missing >/dev/null 2>&1)) \
	    || echo "could not install $$missing: without bubblewrap grading runs in degraded mode"; \
	  else echo "missing: $$missing (without bubblewrap grading runs in degraded mode)"; fi; fi

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest

# The fast tier, tests/unit: pure tests (no process started: no sandbox, no nbgrader run, no notebook executed);
# under a minute on two cores. Every test outside tests/unit is marked slow by its folder (tests/conftest.py).
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit

demo: $(STAMP)
	$(PY) -m autograder.dev.demo demo-course

bench: $(STAMP)
	$(PY) -m autograder.dev.bench --submissions $(or $(N),100)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Refresh assignments/ through nbgrader after editing a notebook or a reference docstring.
notebooks: $(STAMP)
	$(PY) -m autograder.nbgrader.notebooks

# On a machine with CUDA: the GPU path in one short run (python -m autograder.dev.gpu_check). It uses a fresh
# venv that sees the system's packages (a CUDA torch there is used as it is; else one comes from CUDA_INDEX).
# Without CUDA it says so and exits 0.
GPU_VENV := .venv-gpu
CUDA_INDEX := https://download.pytorch.org/whl/cu128
gpu-check:
	@if ! command -v nvidia-smi >/dev/null 2>&1 && ! $(PYTHON) -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then \
	  echo "gpu-check: no CUDA on this machine (no nvidia-smi, no torch with CUDA): nothing to check"; exit 0; fi; \
	test -x $(GPU_VENV)/bin/python || $(PYTHON) -m venv --system-site-packages $(GPU_VENV); \
	$(GPU_VENV)/bin/python -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null \
	  || $(GPU_VENV)/bin/python -m pip install -q torch --index-url $(CUDA_INDEX); \
	$(GPU_VENV)/bin/python -m pip install -q --no-deps --no-build-isolation -e . 2>/dev/null \
	  || echo "gpu-check: the package is used from the source tree (PYTHONPATH)"; \
	PYTHONPATH=$(CURDIR) $(GPU_VENV)/bin/python -m autograder.dev.gpu_check

clean:
	rm -rf $(VENV) $(GPU_VENV) demo-course bench-out build *.egg-info
