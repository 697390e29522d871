# `make test` and `make demo` work on a fresh clone: they build .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# A CPU build of PyTorch first (a wheel pip finds locally, else the CPU index): a plain `pip install torch`
# would fetch a multi-GB CUDA build. Its dependencies come with the package, from the usual index.
TORCH := torch==2.13.0
TORCH_INDEX := https://download.pytorch.org/whl/cpu

.PHONY: test test-fast demo bench lint notebooks sandbox-deps clean

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory sandbox-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q --no-deps --no-index $(TORCH) 2>/dev/null \
	  || $(PY) -m pip install -q --no-deps $(TORCH) --index-url $(TORCH_INDEX)
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

# bubblewrap is the sandbox; without it grading still works, in degraded mode.
sandbox-deps:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1)) \
	    || echo "could not install bubblewrap: grading will run in degraded mode"; \
	  else echo "bubblewrap (bwrap) is missing: grading will run in degraded mode"; fi; }

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

# The tests not marked slow: no sandbox, no nbgrader run, no notebook executed; under a minute on two cores.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

demo: $(STAMP)
	$(PY) -m autograder.dev.demo demo-course

bench: $(STAMP)
	$(PY) -m autograder.dev.bench --submissions $(or $(N),100)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Refresh assignments/ through nbgrader after editing a notebook or a reference docstring.
notebooks: $(STAMP)
	$(PY) -m autograder.nbgrader.notebooks

clean:
	rm -rf $(VENV) demo-course bench-out build *.egg-info
