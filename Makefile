# The two commands of the README: `make run` (the main job: the live demo on http://127.0.0.1:8000)
# and `make test` (the whole suite).
# Both create the virtual environment on first use; nothing needs to be installed by hand.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,plot,parquet,live,service,cluster,gmp]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pharmatwin demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src bench

test: lint
	OPENBLAS_NUM_THREADS=1 $(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
