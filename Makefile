# HotelMate: `make run` starts everything, `make test` runs every test. Both install first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test reliability install browser bench bench-parts clean

$(STAMP): constraints.txt requirements.txt $(wildcard */pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# tests/browser need Debian's chromium: installed here when missing and we may (root, apt-get).
browser:
	@command -v chromium >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) || echo "hotelmate: no chromium; install it (apt-get install chromium) or tests/browser are skipped"

run: install
	HOTELMATE_ENV=$${HOTELMATE_ENV:-development} $(BIN)/python -m hotelmate_devtools run

test: install browser
	$(BIN)/python -m hotelmate_devtools preflight || echo "hotelmate: local servers unreachable; tests will use testcontainers (Docker)"
	$(BIN)/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder

# Chaos: private RabbitMQ/PostgreSQL instances stopped and restarted under the messaging kit, then the
# whole system under load through each long scenario (about 10 minutes); prints the chaos table and
# writes reliability.json. The short versions (libs/platform/tests/test_reliability.py, tests/chaos/test_*.py)
# run in `make test`; the six-booking whole-system broker restart (broker_restart_saga.py) runs here.
reliability: install
	$(BIN)/python -m pytest libs/platform/tests/test_reliability.py tests/chaos/broker_restart_saga.py tests/chaos/reliability_scenarios.py

# The whole system under load at 1, 10, 50 and 100 clients, then an open loop (about 3 minutes).
bench: install
	$(BIN)/python bench/load.py --clients 1,10,50,100 --seconds 24 --rate 10 --burst 300 --json load.json

# Each part on its own (gateway overhead, availability, saga, webhooks, messaging latency).
bench-parts: install
	for b in bench/*.py; do case $$b in bench/load.py|bench/load_report.py|bench/load_checks.py) continue;; esac; echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache
