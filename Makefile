# ChatSphere: `make run` starts the API and its worker on the embedded default;
# `make test` runs the whole suite. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
DATA_DIR ?= $(CURDIR)/data
export DATA_DIR

.PHONY: run test lint migrate worker bench install clean

$(VENV)/.installed-run: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-run requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed-dev

migrate: $(VENV)/.installed-run
	cd backend && $(BIN)/alembic upgrade head

run: migrate
	cd backend && $(BIN)/python -m app.devserver

worker: $(VENV)/.installed-run
	cd backend && $(BIN)/celery -A worker worker --loglevel INFO

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check backend bench
	$(BIN)/ruff format --check backend bench

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/http.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/fairness.py
	$(BIN)/python bench/vectors.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/widget.py
	$(BIN)/python bench/retrieval.py

clean:
	rm -rf $(VENV) .pytest_cache
