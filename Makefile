# Two commands do all the set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test test-slow demo bench train-mnist clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# the tests marked slow (longer syntheses, trainings, the dask cluster): CI runs them once too
test-slow: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m slow $(PYTEST_ARGS)

demo: $(STAMP)
	$(VENV)/bin/minigrad demo --out demo

bench: $(STAMP)
	$(PY) -m pip install -q threadpoolctl
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) -m benchmarks

train-mnist: $(STAMP)
	$(VENV)/bin/minigrad train mnist --out weights/mnist_cnn.h5

clean:
	rm -rf $(VENV) demo .pytest_cache .hypothesis
