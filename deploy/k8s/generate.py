"""Writes the kustomize base (deploy/k8s/base) from one table of the services: ``python deploy/k8s/generate.py``.

The YAML is committed (readable, reviewable, ``kubectl kustomize deploy/k8s/overlays/production``);
this script keeps the five services' objects alike. ``--check`` fails when the committed files
differ from what it would write (tests/deploy runs it). The production overlay is hand-written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

BASE = Path(__file__).resolve().parent / "base"
APP = "hotelmate"

# name: port, HTTP peers it calls, external egress it needs, resources (requests cpu/memory, limit memory).
SERVICES = {
    "gateway": {"port": 8000, "calls": ["inventory", "booking", "payments", "notifications"], "db": True,
                "external": [], "requests": ("250m", "256Mi"), "limit_memory": "512Mi"},
    "inventory": {"port": 8001, "calls": [], "db": True, "external": [],
                  "requests": ("250m", "256Mi"), "limit_memory": "512Mi"},
    "booking": {"port": 8002, "calls": ["inventory", "payments"], "db": True, "external": [],
                "requests": ("250m", "256Mi"), "limit_memory": "512Mi"},
    "payments": {"port": 8003, "calls": [], "db": True, "external": [443],  # api.stripe.com
                 "requests": ("200m", "256Mi"), "limit_memory": "512Mi"},
    "notifications": {"port": 8004, "calls": [], "db": True, "external": [465, 587],  # the SMTP relay
                      "requests": ("100m", "192Mi"), "limit_memory": "384Mi"},
}
CONSUMERS = ("inventory", "booking", "payments", "notifications")
# Which Secret keys each process reads (as HOTELMATE_* environment variables).
SECRETS = {
    "hotelmate-jwt": {"HOTELMATE_JWT_SECRET": ["gateway"]},
    # Signs the gateway's staff assertions and the services' /internal calls: one value for all five
    # (docs/SECURITY.md); production refuses to start without it.
    "hotelmate-service": {"HOTELMATE_SERVICE_SECRET": ["gateway", *CONSUMERS]},
    "hotelmate-admin": {"HOTELMATE_ADMIN_EMAIL": ["gateway"], "HOTELMATE_ADMIN_PASSWORD": ["gateway"]},
    "hotelmate-stripe": {"HOTELMATE_STRIPE_API_KEY": ["payments"], "HOTELMATE_STRIPE_WEBHOOK_SECRET": ["payments"]},
    "hotelmate-smtp": {"HOTELMATE_SMTP_USERNAME": ["notifications"], "HOTELMATE_SMTP_PASSWORD": ["notifications"]},
}
CONFIG = {
    "HOTELMATE_ENV": "production",  # refuses missing, shipped or short secrets (docs/SECURITY.md)
    "HOTELMATE_DB_PREFIX": "hotelmate_",
    "HOTELMATE_BUS_NAMESPACE": "hotelmate",
    "HOTELMATE_LOG_FORMAT": "json",
    "HOTELMATE_LOG_LEVEL": "INFO",
    "HOTELMATE_PUBLIC_BASE_URL": "https://hotelmate.example.com",
    **{f"HOTELMATE_{name.upper()}_URL": f"http://{name}:{spec['port']}" for name, spec in SERVICES.items()
       if name != "gateway"},
    "HOTELMATE_STRIPE_API_BASE": "",
    "HOTELMATE_SMTP_HOST": "smtp.example.com",
    "HOTELMATE_SMTP_PORT": "587",
    "HOTELMATE_SMTP_STARTTLS": "true",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "",
}
RABBITMQ_HOST = "hotelmate-rabbitmq"


def labels(name: str, component: str = "service") -> dict:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": APP, "app.kubernetes.io/component": component}


def selector(name: str) -> dict:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": APP}


def pg_cluster(name: str) -> str:
    return f"hotelmate-pg-{name}"


def env(name: str) -> list[dict]:
    """Database and broker URLs are built from the generated credentials (Kubernetes expands $(VAR))."""
    out = [
        {"name": "PG_USER", "valueFrom": {"secretKeyRef": {"name": f"{pg_cluster(name)}-app", "key": "username"}}},
        {"name": "PG_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{pg_cluster(name)}-app", "key": "password"}}},
        {"name": "HOTELMATE_POSTGRES_URL",
         "value": f"postgresql+psycopg://$(PG_USER):$(PG_PASSWORD)@{pg_cluster(name)}-rw:5432"},
    ]
    for secret, keys in SECRETS.items():
        for key, readers in keys.items():
            if name in readers:
                out.append({"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    # The RabbitMQ cluster operator writes the broker's credentials to <cluster>-default-user.
    for var, key in (("AMQP_USERNAME", "username"), ("AMQP_PASSWORD", "password")):
        out.append({"name": var, "valueFrom": {"secretKeyRef": {"name": f"{RABBITMQ_HOST}-default-user", "key": key}}})
    out.append({"name": "HOTELMATE_AMQP_URL", "value": f"amqp://$(AMQP_USERNAME):$(AMQP_PASSWORD)@{RABBITMQ_HOST}:5672/"})
    out.append({"name": "OTEL_SERVICE_NAME", "value": name})
    return out


def container(name: str, command: list[str], *, probes: bool) -> dict:
    spec = SERVICES[name]
    c = {
        "name": name,
        "image": f"hotelmate/{name}:latest",
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "envFrom": [{"configMapRef": {"name": "hotelmate-config"}}],
        "env": env(name),
        "resources": {"requests": {"cpu": spec["requests"][0], "memory": spec["requests"][1]},
                      "limits": {"memory": spec["limit_memory"]}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if probes:
        c["ports"] = [{"name": "http", "containerPort": spec["port"]}]
        c["readinessProbe"] = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5,
                               "timeoutSeconds": 3, "failureThreshold": 3}
        c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10,
                              "timeoutSeconds": 3, "failureThreshold": 6}
        c["startupProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2,
                             "failureThreshold": 60}
    return c


def serve_command(name: str) -> list[str]:
    module = f"{name}.app:app"
    return ["uvicorn", module, "--host", "0.0.0.0", "--port", str(SERVICES[name]["port"]), "--loop", "uvloop",
            "--http", "httptools", "--timeout-keep-alive", "15", "--timeout-graceful-shutdown", "20",
            "--no-access-log"]


def pod_spec(containers: list[dict], restart: str | None = None) -> dict:
    spec = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "automountServiceAccountToken": False,
            "containers": containers, "volumes": [{"name": "tmp", "emptyDir": {}}]}
    if restart:
        spec["restartPolicy"] = restart
    return spec


def service_objects(name: str) -> list[dict]:
    spec = SERVICES[name]
    port = spec["port"]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels(name),
                             "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                                             "prometheus.io/path": "/metrics"}},
                "spec": {**pod_spec([container(name, serve_command(name), probes=True)]),
                         "terminationGracePeriodSeconds": 30,
                         "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                        "whenUnsatisfiable": "ScheduleAnyway",
                                                        "labelSelector": {"matchLabels": selector(name)}}]},
            },
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"selector": selector(name), "ports": [{"name": "http", "port": port, "targetPort": "http"}]},
    }
    pdb = {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": selector(name)}},
    }
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "minReplicas": 2, "maxReplicas": 6,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                               "target": {"type": "Utilization", "averageUtilization": 70}}}],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}},
    }
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": f"{name}-migrate", "labels": labels(name, "migration")},
        "spec": {"backoffLimit": 6, "ttlSecondsAfterFinished": 86400,
                 "template": {"metadata": {"labels": labels(f"{name}-migrate", "migration")},
                              "spec": pod_spec([container(name, ["python", "-m", "hotelmate_platform.migrate", name],
                                                          probes=False)], restart="OnFailure")}},
    }
    return [deployment, service, pdb, hpa, job]


def network_policies() -> list[dict]:
    dns = {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    broker = {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": RABBITMQ_HOST}}}],
              "ports": [{"protocol": "TCP", "port": 5672}]}
    monitoring = {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}
    policies: list[dict] = [{
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "labels": {"app.kubernetes.io/part-of": APP}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }]
    callers: dict[str, list[str]] = {name: [] for name in SERVICES}
    for name, spec in SERVICES.items():
        for peer in spec["calls"]:
            callers[peer].append(name)
    for name, spec in SERVICES.items():
        port = {"protocol": "TCP", "port": spec["port"]}
        if name == "gateway":
            ingress = [{"ports": [port]}]  # from anywhere: the one door in
        else:
            ingress = [{"from": [{"podSelector": {"matchLabels": selector(c)}} for c in callers[name]],
                        "ports": [port]}]
        ingress.append({**monitoring, "ports": [port]})
        egress = [dns, broker,
                  {"to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": pg_cluster(name)}}}],
                   "ports": [{"protocol": "TCP", "port": 5432}]}]
        for peer in spec["calls"]:
            egress.append({"to": [{"podSelector": {"matchLabels": selector(peer)}}],
                           "ports": [{"protocol": "TCP", "port": SERVICES[peer]["port"]}]})
        if spec["external"]:
            egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                               "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
                           "ports": [{"protocol": "TCP", "port": p} for p in spec["external"]]})
        # the OTLP collector in "monitoring", used when OTEL_EXPORTER_OTLP_ENDPOINT is set
        egress.append({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                       "ports": [{"protocol": "TCP", "port": 4318}]})
        selector_all = [{"podSelector": {"matchLabels": selector(name)}},
                        {"podSelector": {"matchLabels": selector(f"{name}-migrate")}}]
        for index, pods in enumerate(selector_all):
            policies.append({
                "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": name if index == 0 else f"{name}-migrate", "labels": labels(name)},
                "spec": {**pods, "policyTypes": ["Ingress", "Egress"],
                         "ingress": ingress if index == 0 else [],
                         "egress": egress if index == 0 else egress[:1] + egress[2:3]},
            })
    # The data services: PostgreSQL clusters take their own service (and the operator); the broker its clients.
    policies.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "rabbitmq", "labels": {"app.kubernetes.io/part-of": APP}},
        "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": RABBITMQ_HOST}},
                 "policyTypes": ["Ingress", "Egress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": selector(n)}} for n in SERVICES],
                              "ports": [{"protocol": "TCP", "port": 5672}]},
                             # the other nodes of the cluster (Erlang distribution, peer discovery)
                             {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": RABBITMQ_HOST}}}]},
                             {**monitoring, "ports": [{"protocol": "TCP", "port": 15692}]},
                             # the cluster operator (in its own namespace) manages users and definitions
                             {"from": [{"namespaceSelector": {"matchLabels": {
                                 "kubernetes.io/metadata.name": "rabbitmq-system"}}}],
                              "ports": [{"protocol": "TCP", "port": 15672}]}],
                 "egress": [dns, {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": RABBITMQ_HOST}}}]}]},
    })
    for name in SERVICES:
        cluster = {"podSelector": {"matchLabels": {"cnpg.io/cluster": pg_cluster(name)}}}
        policies.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": pg_cluster(name), "labels": labels(name)},
            "spec": {**cluster, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": selector(name)}},
                                           {"podSelector": {"matchLabels": selector(f"{name}-migrate")}}],
                                  "ports": [{"protocol": "TCP", "port": 5432}]},
                                 {"from": [cluster]},  # replication between the cluster's instances
                                 {"from": [{"namespaceSelector": {"matchLabels": {
                                     "kubernetes.io/metadata.name": "cnpg-system"}}}],
                                  "ports": [{"protocol": "TCP", "port": 8000}]},
                                 {**monitoring, "ports": [{"protocol": "TCP", "port": 9187}]}]},
        })
    return policies


def secrets() -> list[dict]:
    placeholder = "REPLACE-ME"
    out = []
    for secret, keys in SECRETS.items():
        out.append({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": secret, "labels": {"app.kubernetes.io/part-of": APP},
                                 "annotations": {"hotelmate/managed-by": "replace from your secret store; see docs/runbook.md"}},
                    "type": "Opaque", "stringData": {key: placeholder for key in keys}})
    return out


def postgres() -> list[dict]:
    return [{
        "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
        "metadata": {"name": pg_cluster(name), "labels": labels(name, "database")},
        "spec": {"instances": 1, "imageName": "ghcr.io/cloudnative-pg/postgresql:16",
                 "storage": {"size": "5Gi"},
                 "bootstrap": {"initdb": {"database": f"{CONFIG['HOTELMATE_DB_PREFIX']}{name}", "owner": name}},
                 "postgresql": {"parameters": {"max_connections": "200"}},
                 "monitoring": {"enablePodMonitor": False}},
    } for name in SERVICES]


def rabbitmq() -> list[dict]:
    return [{
        "apiVersion": "rabbitmq.com/v1beta1", "kind": "RabbitmqCluster",
        "metadata": {"name": RABBITMQ_HOST, "labels": {"app.kubernetes.io/part-of": APP}},
        "spec": {
            "replicas": 3,
            "image": "rabbitmq:3.13-management",
            "persistence": {"storage": "10Gi"},
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
            "rabbitmq": {
                "additionalPlugins": ["rabbitmq_prometheus"],
                "additionalConfig": "\n".join([
                    "cluster_partition_handling = pause_minority",
                    "default_queue_type = quorum",
                    "load_definitions = /etc/hotelmate/definitions.json",
                    "vm_memory_high_watermark.relative = 0.6",
                ]) + "\n",
            },
            "override": {"statefulSet": {"spec": {"template": {"spec": {
                "containers": [{"name": "rabbitmq", "volumeMounts": [
                    {"name": "hotelmate-definitions", "mountPath": "/etc/hotelmate"}]}],
                "volumes": [{"name": "hotelmate-definitions",
                             "configMap": {"name": "hotelmate-rabbitmq-definitions"}}]}}}}},
        },
    }]


def kustomization(files: list[str]) -> dict:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "labels": [{"pairs": {"app.kubernetes.io/part-of": APP}, "includeSelectors": False}],
        "resources": files,
        "configMapGenerator": [
            {"name": "hotelmate-config", "literals": [f"{k}={v}" for k, v in CONFIG.items()]},
            {"name": "hotelmate-rabbitmq-definitions", "files": ["rabbitmq/definitions.json"]},
        ],
    }


def render() -> dict[str, str]:
    documents: dict[str, list[dict]] = {f"{name}.yaml": service_objects(name) for name in SERVICES}
    documents["network-policies.yaml"] = network_policies()
    documents["secrets.yaml"] = secrets()
    documents["postgres.yaml"] = postgres()
    documents["rabbitmq.yaml"] = rabbitmq()
    header = "# Generated by deploy/k8s/generate.py: edit the script, then run it.\n"
    out = {name: header + yaml.safe_dump_all(docs, sort_keys=False) for name, docs in documents.items()}
    out["kustomization.yaml"] = header + yaml.safe_dump(kustomization(sorted(documents)), sort_keys=False)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for name, text in render().items():
        path = BASE / name
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"stale in {BASE}: {', '.join(stale)}; run python deploy/k8s/generate.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
