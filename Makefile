# `make test` and `make demo` work on a fresh clone: they build .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A CPU build of PyTorch first (a wheel pip finds locally, else the CPU index): a plain `pip install torch`
# would fetch a multi-GB CUDA build. Its dependencies come with the package, from the usual index.
TORCH := torch==2.13.0
TORCH_INDEX := https://download.pytorch.org/whl/cpu

.PHONY: test test-fast demo bench profile lint notebooks sandbox-deps gpu-check gpu-wheels gpu-dry-run clean

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory sandbox-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q --no-deps --no-index $(TORCH) 2>/dev/null \
	  || $(PY) -m pip install -q --no-deps $(TORCH) --index-url $(TORCH_INDEX)
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# bubblewrap is the sandbox; without it grading still works, in degraded mode. A headless Chromium renders the
# feedback and class pages in the tests (tests/browser.py); without it those tests skip, except under CI.
# PostgreSQL's server (initdb, pg_ctl) is the shared gradebook of tests/test_postgres.py (tests/postgres.py).
sandbox-deps:
	@missing=""; command -v bwrap >/dev/null 2>&1 || missing="bubblewrap"; \
	command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 \
	  || missing="$$missing chromium-headless-shell"; \
	command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $$missing >/dev/null 2>&1)) \
	    || echo "could not install $$missing: without bubblewrap grading runs in degraded mode"; \
	  else echo "missing: $$missing (without bubblewrap grading runs in degraded mode)"; fi; fi

# Two workers (pytest-xdist): each file, or group of files that share a fixture, runs on one (tests/conftest.py),
# in the order of the files (the long slow files first, the short unit files last to fill in).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The fast tier, tests/unit: pure tests (no process started: no sandbox, no nbgrader run, no notebook executed);
# under a minute on two cores. Every test outside tests/unit is marked slow by its folder (tests/conftest.py).
test-fast: $(STAMP)
	$(PY) -m pytest tests/unit

demo: $(STAMP)
	$(PY) -m autograder.dev.demo demo-course

bench: $(STAMP)
	$(PY) -m autograder.dev.bench --submissions $(or $(N),100)

# Where the time of one grading goes (one submission, one student's four notebooks), and the floor under it.
profile: $(STAMP)
	$(PY) -m autograder.dev.profile

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Refresh assignments/ through nbgrader after editing a notebook or a reference docstring.
notebooks: $(STAMP)
	$(PY) -m autograder.nbgrader.notebooks

# On a machine with CUDA: the GPU path in one short run (python -m autograder.dev.gpu_check), offline. A device
# machine has no network, and its python3 (3.12: torch with CUDA, numpy, pytest, matplotlib) lacks nbformat, IPython
# and bubblewrap: `make gpu-wheels`, run where pip and apt-get reach their indexes, puts them in GPU_WHEELS (carried
# with the call), and gpu-check installs what that Python lacks from there alone (--offline): it never fetches.
# Without CUDA it says so and exits 0. `make gpu-dry-run GPU_DRY_PYTHON=python3.12` tries the install here, in a
# fresh venv of that Python, without an index (and without any network where `unshare -n` works).
GPU_WHEELS := .gpu-wheels
GPU_PYTHON_VERSION := 3.12
GPU_NEEDS := nbformat ipython
GPU_PLATFORMS := $(foreach p,manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64,--platform $(p))
GPU_DRY_PYTHON ?= python3.12
GPU_DRY_VENV := $(GPU_WHEELS)-dry-run
gpu-check:
	@if ! command -v nvidia-smi >/dev/null 2>&1 && ! $(PYTHON) -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then \
	  echo "gpu-check: no CUDA on this machine (no nvidia-smi, no torch with CUDA): nothing to check"; exit 0; fi; \
	$(PYTHON) -m autograder.dev.gpu_check --offline $(GPU_WHEELS)

gpu-wheels:
	rm -rf $(GPU_WHEELS) && mkdir -p $(GPU_WHEELS)
	$(PYTHON) -m pip download -q --only-binary=:all: --python-version $(GPU_PYTHON_VERSION) --implementation cp \
	  $(GPU_PLATFORMS) -d $(GPU_WHEELS) $(GPU_NEEDS)
	cd $(GPU_WHEELS) && apt-get download -q bubblewrap
	@du -sh $(GPU_WHEELS)

gpu-dry-run:
	rm -rf $(GPU_DRY_VENV) && $(GPU_DRY_PYTHON) -m venv $(GPU_DRY_VENV)
	@net=""; if [ "$$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then net="unshare -n"; fi; \
	echo "gpu-dry-run: no index$${net:+, no network ($$net)}"; \
	$$net env PIP_NO_INDEX=1 PIP_FIND_LINKS= PIP_EXTRA_INDEX_URL= PATH=/usr/bin:/bin \
	  $(GPU_DRY_VENV)/bin/python -m autograder.dev.gpu_check --offline $(GPU_WHEELS) --site $(GPU_DRY_VENV)/site \
	  --install-only && \
	$$net env PIP_NO_INDEX=1 PIP_FIND_LINKS= PIP_EXTRA_INDEX_URL= PATH=/usr/bin:/bin PYTHONPATH=$(GPU_DRY_VENV)/site:$(CURDIR) \
	  $(GPU_DRY_VENV)/bin/python -c "import nbformat, IPython; from autograder.nbgrader.notebooks import read_assignment; \
	  from autograder.nbgrader.layout import of_notebook; import json, sys; print('gpu-dry-run: Python', sys.version.split()[0], \
	  'imports nbformat', nbformat.__version__, 'and IPython', IPython.__version__, 'from', nbformat.__file__.split('/site/')[0]); \
	  print('gpu-dry-run: a notebook read:', len(of_notebook(json.loads(nbformat.writes(read_assignment('vocab'))))[0].cells), 'answer cells')" && \
	$(GPU_DRY_VENV)/site/bubblewrap/usr/bin/bwrap --version && \
	$$net env PIP_NO_INDEX=1 PIP_FIND_LINKS= PIP_EXTRA_INDEX_URL= $(GPU_DRY_VENV)/bin/python -m pip install -q --no-index \
	  --find-links $(GPU_WHEELS) --target $(GPU_DRY_VENV)/closure $(GPU_NEEDS) && \
	echo "gpu-dry-run: $(GPU_NEEDS) and their dependencies install from $(GPU_WHEELS) alone"

clean:
	rm -rf $(VENV) $(GPU_WHEELS) $(GPU_DRY_VENV) demo-course bench-out build *.egg-info
