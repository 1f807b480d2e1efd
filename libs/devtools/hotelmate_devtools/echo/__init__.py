"""A tiny echo service built on the messaging kit, for libs/platform tests and bench/messaging_latency.py."""
