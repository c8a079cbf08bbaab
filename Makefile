# Two entry points for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/spokeswatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

.PHONY: install demo test
install: $(BIN)/spokeswatch

demo: install
	$(BIN)/spokeswatch demo --out demo-out

test: install
	$(BIN)/pytest -q
