# Salama: every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(PY) -m rasa_ext.rasa_server
MODEL := models/salama.tar.gz
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONPATH := $(CURDIR)
# Local mode (no Twilio account) unless a Twilio auth token is configured.
export SALAMA_LOCAL_MODE ?= $(if $(TWILIO_AUTH_TOKEN),0,1)

TRAINING_INPUTS := $(shell find data/nlu data/rules data/stories -name '*.yml' 2>/dev/null) \
	config.yml domain.yml $(wildcard components/*.py)

.PHONY: help install services augment train migrate run run-scaled shell counsellor supervisor test test-fast lint validate eval bench purge clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed -E 's/:.*## /\t/' | expand -t 14

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $$(scripts/find_python.sh) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip==24.0
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.txt -r requirements-dev.txt
	$(PY) -m pip check
	touch $@

install: $(VENV)/.installed ## create .venv with every pinned dependency (fast when done)

augment: install ## respell data/nlu into data/nlu/augmented/ (commit the output; a test checks it)
	$(PY) scripts/augment_nlu.py

$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS)
	$(RASA) train --data data/nlu data/rules data/stories --config config.yml --domain domain.yml \
		--out models --fixed-model-name salama
	touch $@

train: $(MODEL) ## train the Rasa model into models/ (skipped when nothing changed)

migrate: install ## create or upgrade the schema (make run does it first; DATABASE_URL=... for a server)
	$(PY) -m bot.migrate $(ARGS)

run: $(MODEL) ## migrate, then start actions, Rasa and the gateway (Ctrl-C stops all)
	$(PY) -m tools.run

shell: install ## chat through the gateway like a phone (ARGS="--sms" to be an SMS user)
	$(PY) -m tools.shell $(ARGS)

counsellor: install ## console account, same settings as make run: NAME=amina [ACTION=set-password|remove-counsellor]
	@test -n "$(NAME)" || { echo "usage: make counsellor NAME=amina (the password is asked for)" >&2; exit 2; }
	@$(PY) -m bot.migrate >/dev/null  # the store may not exist yet on a fresh machine
	@$(PY) -m bot.console $(or $(ACTION),add-counsellor) '$(NAME)'

supervisor: install ## the first supervisor (programme view, accounts), same settings as make run: NAME=salma
	@test -n "$(NAME)" || { echo "usage: make supervisor NAME=salma (the password is asked for)" >&2; exit 2; }
	@$(PY) -m bot.migrate >/dev/null  # the store may not exist yet on a fresh machine
	@$(PY) -m bot.console add-supervisor '$(NAME)'

validate: install ## check the data files (places, directory, texts, NLU)
	$(PY) scripts/validate_data.py
	$(PY) scripts/validate_texts.py
	$(RASA) data validate --data data/nlu data/rules data/stories --domain domain.yml --config config.yml --fail-on-warnings

test-fast: install ## unit tests that need no trained model
	$(PY) -m pytest -q -m "not integration"

services: ## install chromium, start PostgreSQL and Redis when missing (what the tests need)
	scripts/test_services.sh

lint: install ## ruff (lint and import order) and mypy on the project's code
	$(VENV)/bin/ruff check bot actions components core rasa_ext tools scripts tests
	$(VENV)/bin/mypy

test: services lint validate $(MODEL) ## everything CI runs: lint, data checks, all tests, test stories
	$(PY) -m pytest -q
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results

eval: $(MODEL) ## NLU figures on the held-out set, per variety (and the safety net)
	$(PY) scripts/eval_nlu.py --cross-validation 3

bench: $(MODEL) ## place lookup speed and accuracy, then load: single stack, then scaled (~20 min)
	$(PY) scripts/bench_places.py
	$(PY) scripts/bench_load.py --scaled

purge: install ## delete what is older than the retention period
	$(PY) -m tools.purge

clean: ## remove models, results and runtime state (keeps .venv)
	rm -rf models results var

run-scaled: $(MODEL) ## two gateways, Rasa servers and action servers on PostgreSQL + Redis
	$(PY) -m tools.run --scaled 2
