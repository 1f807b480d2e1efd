"""RabbitMQ definitions built from the code's topology: ``python deploy/rabbitmq/definitions.py``.

The services declare their exchange and queues at start (hotelmate_platform.messaging.bus); a
production cluster loads the same topology at boot (``load_definitions``), so queues exist, with
the right type, before any replica starts, and an operator sees them in one file. Arguments match
what the code declares exactly (RabbitMQ refuses a declaration whose arguments differ):

* ``<ns>.bus``: the durable topic exchange every message goes through, routed by message type;
* ``<ns>.<service>``: each consuming service's quorum queue, bound to the types it handles;
* ``<ns>.<service>.retry.<n>``: the retry ladder, classic queues whose TTL hands a message back
  to the main queue (dead-letter exchange "" and the main queue's name as routing key);
* ``<ns>.<service>.dlq``: the quorum dead-letter queue an operator replays from (docs/runbook.md).

Policies (which RabbitMQ applies on top of declared arguments) bound the dead-letter queues and
keep the quorum queues' membership on every node of the 3-node cluster.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

CONSUMERS = ("inventory", "booking", "payments", "notifications")
OUTPUT = Path(__file__).resolve().parent.parent / "k8s" / "base" / "rabbitmq" / "definitions.json"
VHOST = "/"


def consumed_types(service: str) -> list[str]:
    """The message types ``service`` consumes, read from its app (what its consumer binds)."""
    return list(importlib.import_module(f"{service}.app").app.state.message_types)


def build(namespace: str = "hotelmate") -> dict:
    from hotelmate_platform.messaging.bus import QueueNames
    from hotelmate_platform.settings import ServiceSettings

    delays = list(ServiceSettings.model_fields["retry_delays_ms"].default)
    exchange = f"{namespace}.bus"
    queues, bindings = [], []
    for service in CONSUMERS:
        names = QueueNames(namespace, service, delays)
        queues.append({"name": names.main, "vhost": VHOST, "durable": True, "auto_delete": False,
                       "arguments": {"x-queue-type": "quorum"}})
        for key in consumed_types(service):
            bindings.append({"source": exchange, "vhost": VHOST, "destination": names.main,
                             "destination_type": "queue", "routing_key": key, "arguments": {}})
        for name, delay in zip(names.retries, delays):
            queues.append({"name": name, "vhost": VHOST, "durable": True, "auto_delete": False,
                           "arguments": {"x-message-ttl": delay, "x-dead-letter-exchange": "",
                                         "x-dead-letter-routing-key": names.main}})
        queues.append({"name": names.dead_letter, "vhost": VHOST, "durable": True, "auto_delete": False,
                       "arguments": {"x-queue-type": "quorum"}})
    escaped = namespace.replace(".", r"\.")
    policies = [
        {"vhost": VHOST, "name": "hotelmate-dead-letters", "pattern": rf"^{escaped}\..+\.dlq$",
         "apply-to": "quorum_queues", "priority": 10,
         # A full dead-letter queue refuses more (the consumer then keeps the message and retries
         # later) rather than dropping the oldest: nothing is lost silently.
         "definition": {"max-length": 100000, "overflow": "reject-publish"}},
        {"vhost": VHOST, "name": "hotelmate-quorum", "pattern": rf"^{escaped}\.[a-z]+$",
         "apply-to": "quorum_queues", "priority": 5,
         # Replicas of each quorum queue follow the cluster's membership (3 nodes).
         "definition": {"queue-leader-locator": "balanced", "target-group-size": 3}},
    ]
    return {
        "vhosts": [{"name": VHOST}],
        "exchanges": [{"name": exchange, "vhost": VHOST, "type": "topic", "durable": True, "auto_delete": False,
                       "internal": False, "arguments": {}}],
        "queues": queues,
        "bindings": sorted(bindings, key=lambda b: (b["destination"], b["routing_key"])),
        "policies": policies,
    }


def render(namespace: str = "hotelmate") -> str:
    return json.dumps(build(namespace), indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) the RabbitMQ definitions.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUTPUT.read_text() if OUTPUT.is_file() else ""
        if current != text:
            print(f"{OUTPUT} is stale: run python deploy/rabbitmq/definitions.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
