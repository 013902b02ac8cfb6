# Ruche: one command to run it, one to test it. Every target sets up .venv first if needed.
#   make up      run Ruche (embedded Redis, API, workers, scheduler)
#   make test    run the test suite (starts its own throw-away Redis)
#   make check   lint (ruff check, ruff format --check) + types (mypy --strict) + tests: what CI runs
#   make docs    build the documentation site (docs/ -> site/)

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# Rebuilt when pyproject.toml changes; otherwise `make venv` costs nothing.
STAMP  := $(VENV)/.installed
# The same for the benchmark-only dependency group (crowd-kit and friends, for bench/quality.py).
BENCH_STAMP := $(VENV)/.bench-installed

.DEFAULT_GOAL := help
.PHONY: help venv up test lint format types check bench bench-smoke docs clean messages

help:
	@echo "make up      run Ruche on http://127.0.0.1:8000 (data in ./.ruche)"
	@echo "make test    run the tests"
	@echo "make check   lint, format check, type-check and test (what CI runs)"
	@echo "make format  format the code (ruff format)"
	@echo "make bench   run the benchmarks"
	@echo "make bench-smoke  run every benchmark at tiny sizes, checking only that it works"
	@echo "make docs    build the documentation site into site/"
	@echo "make messages  extract the pages' strings and merge them into web/locale's catalogues"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is needed (python3.11 or python3)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11+ is needed; $(PYTHON) is older"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# Dependency groups (--group) need pip 25.1 or newer.
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	@# PYTHONWARNINGS: setuptools' editable-install warning block would open every first run.
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install --quiet -e '.[embedded]' --group dev
	@touch $(STAMP)

up: venv
	$(BIN)/ruche up $(ARGS)

# The page tests need a Chromium: Debian's (or RUCHE_BROWSER), else Playwright's own, fetched once.
test: venv
	@test -n "$$RUCHE_BROWSER" || test -x /usr/bin/chromium || $(BIN)/python -m playwright install chromium
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .

types: venv
	$(BIN)/mypy --strict core task_types api workers ruche producers web tests

# The pages' translations (web/locale, gettext via Babel). Each area of the site (web/<area>/,
# and "ruche" for the shared web/*.py and web/templates) has its template web/locale/<area>.pot
# and, per language, web/locale/<lang>/LC_MESSAGES/<area>.po: one file per area, so that work on
# two areas never touches the same catalogue. `make messages` extracts, merges into each .po
# (new strings come untranslated: tests/web/test_translations.py fails until they are
# translated) and compiles them, which checks their syntax (the app reads the .po files).
WEB_AREAS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard web/*/routes.py)))))
WEB_LANGUAGES := fr
BABEL_EXTRACT = $(BIN)/pybabel -q extract -F web/babel.cfg -k N_ --no-location --sort-output --omit-header -w 100

messages: venv
	$(BABEL_EXTRACT) -o web/locale/ruche.pot web/*.py web/templates
	@for area in $(WEB_AREAS); do $(BABEL_EXTRACT) -o web/locale/$$area.pot web/$$area || exit 1; done
	@for pot in web/locale/*.pot; do domain=$$(basename $$pot .pot); \
		for lang in $(WEB_LANGUAGES); do \
			po=web/locale/$$lang/LC_MESSAGES/$$domain.po; \
			if [ -f $$po ]; then $(BIN)/pybabel -q update --no-fuzzy-matching -w 100 -D $$domain -i $$pot -d web/locale -l $$lang || exit 1; \
			else $(BIN)/pybabel -q init -D $$domain -i $$pot -d web/locale -l $$lang || exit 1; fi; \
			$(BIN)/pybabel -q compile -D $$domain -d web/locale -l $$lang || exit 1; \
		done; done

check: lint types test

# The benchmarks themselves (bench/ also holds modules they import or start, e.g. bare_app.py).
BENCHMARKS := board redis_mux api pipeline submit quality web fairness insights scale

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e . --group bench
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@for name in $(BENCHMARKS); do \
		echo "== bench/$$name.py"; $(BIN)/python "bench/$$name.py" || exit 1; \
	done

# The site: docs/*.md, mkdocs.yml; docs/hooks/ generates the configuration table from
# core.settings.Settings at build time. --strict: a broken link or a warning fails the build.
docs: venv
	$(BIN)/python -m pip install --quiet -e . --group docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Every benchmark in its smoke mode: tiny sizes, no timing threshold, a non-zero exit when its
# own checks fail (counts that do not add up, a webhook that never came, a NaN), so that none
# can rot unseen (CI runs it).
bench-smoke: $(BENCH_STAMP)
	@for name in $(BENCHMARKS); do \
		echo "== bench/$$name.py --smoke"; started=$$(date +%s); \
		$(BIN)/python "bench/$$name.py" --smoke || exit 1; \
		echo "   ok in $$(( $$(date +%s) - started )) s"; \
	done

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache .hypothesis

# The task pages on a phone, as the docs show them (docs/img/task-*-phone.png), and the NGO
# console's pages on a phone in English and a desktop in French (docs/img/ngo-*.png): taken by
# the browser tests when RUCHE_SCREENSHOTS is set; a normal test run writes nothing into the repo.
.PHONY: screenshots
screenshots: venv
	RUCHE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/web/test_work_flow.py -k "phone-en" -p no:randomly -n 0
	RUCHE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/web/test_ngo_story.py -k "organisation_runs" -p no:randomly -n 0
