# HotelMate: `make run` starts everything, `make test` runs every test. Both install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test reliability install bench clean

$(STAMP): constraints.txt requirements.txt $(wildcard */pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m hotelmate_devtools run

test: install
	$(BIN)/python -m hotelmate_devtools preflight || echo "hotelmate: local servers unreachable; tests will use testcontainers (Docker)"
	$(BIN)/python -m pytest

# Chaos: private RabbitMQ/PostgreSQL instances stopped and restarted under the messaging kit and the
# whole system (the short versions also run in `make test`).
reliability: install
	HOTELMATE_CHAOS_FULL=1 $(BIN)/python -m pytest tests/chaos libs/platform/tests/test_reliability.py

bench: install
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
