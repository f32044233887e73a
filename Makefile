# The two commands in the README: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint pytest test-deps

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all]'
	touch $@

demo: install
	$(BIN)/fuhuiyang demo

# npm packages for the TimescaleDB (PGlite) test path, and Debian's Chromium (+ a CJK font) for the
# browser tests; each is skipped loudly by the tests when it cannot be had.
test-deps:
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests --no-audit --no-fund --silent; \
	else echo "!!! npm not found: TimescaleDB tests will be SKIPPED"; fi
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; fi
	@[ -x /usr/bin/chromium ] || echo "!!! /usr/bin/chromium not found: browser tests will be SKIPPED"

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy protocol farming messaging edge cloud firmware_sim models fuhuiyang
	$(BIN)/lint-imports

# pytest exit 5 means nothing was collected: that is a failure for us, not a pass.
pytest: install test-deps
	$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

test: lint pytest
