VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEV_ENV := DEBUG=true

.PHONY: install lock lint run serve backup-test test demo migrate clean bench loadtest

# Installs exactly the locked versions, each checked against its hash (the lock pins pip too).
$(VENV)/.installed: requirements.lock requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

# Re-lock after editing requirements.txt or requirements-dev.txt. Versions already locked are kept;
# to move one: make lock COMPILE_ARGS="--upgrade-package django" (or --upgrade for all).
PIP_COMPILE = $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-find-links --no-emit-index-url $(COMPILE_ARGS)
lock: install
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --output-file requirements-dev.lock requirements-dev.txt

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

migrate: install
	$(DEV_ENV) $(PY) manage.py migrate --noinput

demo: migrate
	$(DEV_ENV) $(PY) manage.py seed_demo

run: demo
	@echo
	@echo "Back office (admin): http://127.0.0.1:8000/admin/   API docs: http://127.0.0.1:8000/api/docs/"
	@echo "Log in with any phone number above and the password shown. The task worker (receipts, email"
	@echo "and SMS) runs beside the server; Ctrl+C stops both."
	@echo
	$(DEV_ENV) $(PY) manage.py db_worker --no-reload --no-startup-delay & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:8000

# The production settings under gunicorn on http://127.0.0.1:$(PORT)/ (scripts/serve.sh says which
# local defaults it adds); runs in the foreground until stopped: `make serve PORT=8001 &` for a script.
PORT ?= 8000
serve: install
	VENV=$(VENV) PORT=$(PORT) scripts/serve.sh

# Dumps a PostgreSQL database with pg_dump, restores it into a scratch database and compares the
# row counts of every table (DATABASE_URL names the database; see scripts/backup_restore_check.sh).
backup-test:
	scripts/backup_restore_check.sh

# pytest exits 5 when it collects no tests; that is not a failure of the suite.
test: install
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; if [ $$status -eq 5 ]; then exit 0; fi; exit $$status

# The benchmark suite and the load test run on PostgreSQL, in a database of their own (made if
# missing, filled by seed_scale on the first run): never the test database.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/chama_bench
bench: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) benchmarks/suite.py $(BENCH_ARGS)

# Gunicorn on a free port of 127.0.0.1, locust headless for LOADTEST_TIME, then both stopped.
LOADTEST_TIME ?= 60s
loadtest: install
	DATABASE_URL=$(BENCH_DATABASE_URL) LOADTEST_TIME=$(LOADTEST_TIME) $(PY) benchmarks/loadtest.py $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
