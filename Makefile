# The two commands in the README: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIN := -c constraints.txt  # the versions measured and tested (constraints.txt)

.PHONY: install install-train demo test lint pytest test-deps

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(PIN) -e '.[all]'
	touch $@

demo: install
	$(BIN)/fuhuiyang demo

# The train extra, for the tests only (`make demo` does without it): torch and ultralytics, so the
# tests of `models adapt`, of the second stage's training and the browser test that adapts a model
# to a camera run instead of being skipped. torch first, pinned to the releases pip finds on this
# machine's disk (/etc/xdg/pip caps it there; an unpinned torch would pull a CUDA build of several GB).
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1

install-train: $(VENV)/.installed-train

$(VENV)/.installed-train: $(VENV)/.installed
	$(BIN)/pip install --quiet $(PIN) $(TORCH_PINS)
	$(BIN)/pip install --quiet $(PIN) -e '.[train]'
	touch $@

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
pytest: install install-train test-deps
	$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

# install-train first, so lint always checks against the same packages (torch typed, not Any).
test: install-train lint pytest
