# Two commands for a fresh machine (Python 3.11, git, make):  make run  |  make test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench understanding lint format simulate outbox texts clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## run: the hotline on SQLite with the local transport, a demo roster and the worker
run: $(STAMP)
	@test -f .env || cp .env.example .env
	$(BIN)/hotline dev

## test: the whole suite (skips, in one line, what this machine lacks; CI skips nothing)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## simulate: text the hotline from this terminal (in-process, or against `make run` with URL=...)
simulate: $(STAMP)
	@test -f .env || cp .env.example .env
	$(BIN)/hotline simulate $(if $(URL),--url $(URL))

## understanding: how many corpus messages are handled right, per category and state (and false alarms)
understanding: $(STAMP)
	$(BIN)/python bench/understanding.py --own $(UNDERSTANDING_ARGS)

## bench: the understanding report, then gunicorn + wrk, the SMS turn beside a static-TwiML baseline (needs Debian's wrk),
## then confirm -> offer, deadline -> next offer and the webhooks under a sign-in flood, each beside its baseline
bench: understanding
	@command -v wrk >/dev/null || { echo "bench needs wrk: sudo apt-get install wrk"; exit 1; }
	$(BIN)/python bench/load.py $(BENCH_ARGS)
	$(BIN)/python bench/wakeup.py $(WAKEUP_ARGS)

## texts: docs/texts.md, every participant text in both languages with its figures
texts: $(STAMP)
	$(BIN)/python -m hotline.texts_doc

outbox: $(STAMP)
	$(BIN)/hotline outbox

## lint: ruff, and the import rules of DESIGN.md section 5 (pyproject.toml, [tool.importlinter])
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .prism instance/hotline.sqlite3*
