# Two commands for a fresh machine (Python 3.11, git, make):  make run  |  make test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# requirements.lock: every package, dev tools included, pinned with its hashes (make run, make test, CI);
# requirements.txt: the same versions without the dev tools (the Docker image). `make lock` refreshes both.
LOCK     := requirements.lock
RUNTIME  := requirements.txt
# The lock is made from PyPI alone, whatever this machine's pip configuration adds.
LOCK_ENV := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null
COMPILE  := pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
            --no-emit-find-links --no-emit-trusted-host

.PHONY: run test bench surge understanding lint format simulate outbox texts clean lock

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	@$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

## lock: pin the newest releases within pyproject.toml's bounds, with hashes (then commit both files)
lock:
	@rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	@$(LOCK_ENV) .lock-venv/bin/python -m pip install --quiet --upgrade pip setuptools pip-tools
	$(LOCK_ENV) .lock-venv/bin/$(COMPILE) --upgrade -o $(RUNTIME) pyproject.toml
	$(LOCK_ENV) .lock-venv/bin/$(COMPILE) --upgrade --extra dev -c $(RUNTIME) -o $(LOCK) pyproject.toml
	@rm -rf .lock-venv

## run: the hotline on SQLite with the local transport, a demo roster and the worker (PORT=5001: another port)
run: $(STAMP)
	@test -f .env || cp .env.example .env
	$(BIN)/hotline dev$(if $(PORT), --port $(PORT))

## test: the whole suite (skips, in one line, what this machine lacks; CI skips nothing)
test: $(STAMP)
	@if command -v npm >/dev/null; then sh .ci/axe.sh; fi
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## simulate: text the hotline from this terminal (in-process, or against `make run` with URL=...)
simulate: $(STAMP)
	@test -f .env || cp .env.example .env
	$(BIN)/hotline simulate $(if $(URL),--url $(URL))

## understanding: how many corpus messages are handled right, per category and state (and false alarms)
understanding: $(STAMP)
	$(BIN)/python bench/understanding.py --own $(UNDERSTANDING_ARGS)

## surge: 1,000 participant texts in 10 s at 1 segment/s; when the offer and the alerts leave (simulated clock)
surge: $(STAMP)
	$(BIN)/python bench/surge.py $(SURGE_ARGS)

## bench: the understanding report, the surge, then gunicorn + wrk, the SMS turn beside a static-TwiML baseline
## (needs Debian's wrk), then confirm -> offer, deadline -> next offer and the webhooks under a sign-in flood,
## each beside its baseline
bench: understanding surge
	@command -v wrk >/dev/null || { echo "bench needs wrk: sudo apt-get install wrk"; exit 1; }
	$(BIN)/python bench/load.py $(BENCH_ARGS)
	$(BIN)/python bench/wakeup.py $(WAKEUP_ARGS)

## texts: docs/texts.md, every participant text in both languages with its figures
texts: $(STAMP)
	$(BIN)/python -m hotline.texts_doc

outbox: $(STAMP)
	$(BIN)/hotline outbox --dev

## lint: ruff, and the import rules of DESIGN.md section 5 (pyproject.toml, [tool.importlinter])
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .lock-venv .pytest_cache .prism tests/browser/node_modules instance/hotline.sqlite3*
