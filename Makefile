# Two commands do everything: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)

.PHONY: run test lint check venv demo bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

## make run: install, migrate, load demo data once, then web + Celery worker + beat (Ctrl-C stops all)
run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_data
	@echo ""
	@echo "  Mesoclinic is starting on http://127.0.0.1:8000"
	@echo "  Demo logins (password: mesoclinic): admin (clinic admin), practitioner, frontdesk"
	@echo ""
	$(VENV)/bin/honcho -f Procfile.dev start

## make test: install and run the whole test suite (SQLite by default; set DATABASE_URL/REDIS_URL for the real services)
test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

## make lint: ruff and the migrations check
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf var/*.sqlite3* var/celery-broker
