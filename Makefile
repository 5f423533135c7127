# procure: two entry points for a fresh machine, `make run` and `make test`.
#
#   make run       .venv + install + translations + migrate + demo data, then the
#                  site on http://127.0.0.1:5000 with a Celery worker and beat
#   make test      the same set-up (plus Debian chromium and fonts-noto-cjk), then pytest; on
#                  PostgreSQL/Redis when PROCURE_TEST_DATABASE_URL /
#                  PROCURE_TEST_REDIS_URL are set, on SQLite otherwise
#   make messages  extract translatable strings, update the English catalog
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TRANSLATIONS := platform/procure/translations
# Two processes (xdist; each has its own database and Redis db number), a file per process.
PYTEST_ARGS ?= -n auto --dist loadfile
export FLASK_APP := procure

.PHONY: run test install translations messages system-deps db demo clean

# Re-installs only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "procure needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -qq --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

install: $(STAMP) translations

# Compiled catalogs (.mo) are build output, never committed.
translations: $(STAMP)
	@if ls $(TRANSLATIONS)/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile -d $(TRANSLATIONS); fi

messages: $(STAMP)
	mkdir -p $(TRANSLATIONS)
	$(BIN)/pybabel -q extract -F babel.cfg --project procure --sort-by-file \
		-k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
		-o $(TRANSLATIONS)/messages.pot .
	@if [ -f $(TRANSLATIONS)/en/LC_MESSAGES/messages.po ]; then \
		$(BIN)/pybabel -q update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l en; \
	else \
		$(BIN)/pybabel -q init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l en; fi

# Debian packages the browser tests need (as root, as on the CI machine):
# Chromium, and a CJK font so that screenshots (and PDFs) show Chinese, not boxes.
SYSTEM_PACKAGES := chromium fonts-noto-cjk
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for the browser tests:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

db: install
	$(BIN)/flask db upgrade heads

# Idempotent: loads what is missing, duplicates nothing.
demo: db
	$(BIN)/flask demo load

run: demo
	$(BIN)/python -m workers.devrun

# pytest's exit code 5 ("no tests collected") is not a failure of the set-up:
# it is reported as such by pytest's own closing line.
test: install system-deps
	@$(BIN)/python -m pytest -q $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "make test: pytest collected no tests"; exit 0; fi; exit $$code

clean:
	rm -rf $(VENV) instance .pytest_cache
