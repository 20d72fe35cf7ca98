VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEV_ENV := DEBUG=true

.PHONY: install run test demo migrate clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(DEV_ENV) $(PY) manage.py migrate --noinput

demo: migrate
	$(DEV_ENV) $(PY) manage.py seed_demo

run: demo
	@echo
	@echo "Back office (admin): http://127.0.0.1:8000/admin/   API docs: http://127.0.0.1:8000/api/docs/"
	@echo "Log in with any phone number above and the password shown. Stop the server with Ctrl+C."
	@echo
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:8000

# pytest exits 5 when it collects no tests; that is not a failure of the suite.
test: install
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; if [ $$status -eq 5 ]; then exit 0; fi; exit $$status

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
