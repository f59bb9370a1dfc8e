# SSA Ops: `make run` (app with demo data) and `make test` (the suite) are the contract.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

RUN_DEBS := gettext tesseract-ocr tesseract-ocr-chi-sim fonts-noto-cjk libgl1 libglib2.0-0
TEST_DEBS := $(RUN_DEBS) chromium docker-compose

.PHONY: run test bench lint format messages deps-run deps-test worker beat clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "SSA Ops needs Python 3.11, found " + sys.version' \
		|| { echo "Install Python 3.11 (Debian: apt-get install python3.11 python3.11-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

deps-run:
	@sh scripts/ensure-debs.sh $(RUN_DEBS)

deps-test:
	@sh scripts/ensure-debs.sh $(TEST_DEBS)

messages: $(STAMP)
	$(PY) manage.py compilemessages --ignore=.venv -v 0

run: deps-run $(STAMP) messages
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo
	@echo "SSA Ops on http://$(HOST):$(PORT)/ (demo logins: ops, opslead, region, qc, dealer, dealer2, vendor, it, admin; password demo)"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: deps-test $(STAMP) messages
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run -v 0
	$(PY) -m pytest $(PYTEST_ARGS)

bench: deps-run $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Against Redis: export CELERY_BROKER_URL=redis://127.0.0.1:6379/0 (and DATABASE_URL) first.
worker: $(STAMP)
	$(VENV)/bin/celery -A ssa_ops worker -l info

beat: $(STAMP)
	$(VENV)/bin/celery -A ssa_ops beat -l info --scheduler django_celery_beat.schedulers:DatabaseScheduler

clean:
	rm -rf $(VENV) var
