# crmcore — the two newcomer commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-fast docs bench clean

setup: $(STAMP)

# One editable install of the kernel and every plugin under plugins/, redone when a pyproject changes.
$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,postgresql]" $(foreach d,$(PLUGIN_DIRS),-e "./$(d)[test]")
	touch $(STAMP)

demo: setup
	$(BIN)/crm demo --path crm-demo.db

test: setup
	$(BIN)/python -m pytest

docs: setup
	$(BIN)/crm dev hooks-doc --output docs/hooks.md

bench: setup
	for f in benchmarks/*.py plugins/*/benchmarks/*.py; do [ -f "$$f" ] && $(BIN)/python "$$f" || true; done

clean:
	rm -rf $(VENV) crm-demo.db* *.egg-info
