"""The operations stack holds together: the Grafana dashboard (deploy/grafana/openbid.json)
queries only metrics the running app's `/metrics` exports, so a metric renamed in
server/metrics.py fails here and not on the hall's screen; it reads the data source Grafana
is given at start; and Prometheus scrapes every worker compose.ops.yaml runs, each on its own
metrics port."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml  # type: ignore[import-untyped]
from prometheus_client.parser import text_string_to_metric_families

from server.metrics import CODES, COMMANDS

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = json.loads((GRAFANA / "openbid.json").read_text())
PROMETHEUS_OWN = frozenset({"up"})  # the series Prometheus itself writes for each target
SERIES = {  # the series names each type of family is exported as
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# What is not a metric name in a PromQL expression: strings, label matchers, ranges, the
# label lists of by/without/on/ignoring/group_*, and the operators spelt as words
_NOT_NAMES = re.compile(
    r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)'
)
_IDENTIFIER = re.compile(r"\b[a-zA-Z_:][\w:]*\b(?!\s*\()")  # not followed by "(": no function
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression selects."""
    return set(_IDENTIFIER.findall(_NOT_NAMES.sub(" ", expr))) - _KEYWORDS


def panels(within: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in within:
        yield panel
        yield from panels(panel.get("panels", []))


def expressions() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every query of the dashboard: its panels' and its variables'."""
    for panel in panels(DASHBOARD["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in DASHBOARD["templating"]["list"]:
        query = variable["query"]["query"]
        found = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query)
        assert found, f"variable {variable['name']}: {query}"
        yield f"variable {variable['name']!r}", found[1]


async def exported(admin: httpx.AsyncClient) -> set[str]:
    """Every series name `/metrics` may show, from its TYPE lines: a family with labels shows
    no sample until something is counted, but its name and type are there from the start."""
    answer = await admin.get("/metrics")
    assert answer.status_code == 200
    return {
        family.name + suffix
        for family in text_string_to_metric_families(answer.text)
        for suffix in SERIES[family.type]
    }


async def test_every_metric_the_dashboard_queries_is_exported(admin: httpx.AsyncClient) -> None:
    known = await exported(admin) | PROMETHEUS_OWN
    queried = list(expressions())
    assert len(queried) > 20
    for where, expr in queried:
        names = metric_names(expr)
        assert names, f"{where} selects no metric: {expr}"
        assert names <= known, f"{where} queries {sorted(names - known)}, not in /metrics"


def test_the_label_values_it_matches_are_ones_the_server_writes() -> None:
    """A refusal code or command renamed would leave its panel silently empty."""
    closed = {"code": CODES, "command": COMMANDS}
    for where, expr in expressions():
        for name, value in re.findall(r'\b(\w+)!?="([^"]*)"', expr):
            assert value in closed.get(name, {value}), f"{where}: {name}={value!r}"


def test_the_dashboard_reads_the_provisioned_data_source() -> None:
    provisioning = GRAFANA / "provisioning"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "openbid.yml").read_text())[
        "providers"
    ]
    used = [p["datasource"] for p in panels(DASHBOARD["panels"]) if p["type"] != "row"]
    used += [t["datasource"] for p in panels(DASHBOARD["panels"]) for t in p.get("targets", [])]
    used += [v["datasource"] for v in DASHBOARD["templating"]["list"]]
    assert {(d["type"], d["uid"]) for d in used} == {(source["type"], source["uid"])}
    grafana = yaml.safe_load((ROOT / "compose.ops.yaml").read_text())["services"]["grafana"]
    mounted = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    assert mounted["./deploy/grafana/openbid.json"] == f"{provider['options']['path']}/openbid.json"
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["global"]
    assert source["jsonData"]["timeInterval"] == scrape["scrape_interval"]  # $__rate_interval


def test_prometheus_scrapes_each_worker_on_its_own_port() -> None:
    """With N workers on one port a scrape reaches one of them at random: each worker serves
    its own /metrics on the metrics port plus its index, and Prometheus names every one."""
    compose = yaml.safe_load((ROOT / "compose.ops.yaml").read_text())
    command = compose["services"]["openbid"]["command"]
    workers = int(command[command.index("--workers") + 1])
    base = int(command[command.index("--metrics-port") + 1])
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "openbid"]
    (targets,) = [static["targets"] for static in job["static_configs"]]
    assert targets == [f"openbid:{base + i}" for i in range(workers)]
    secret = compose["services"]["prometheus"]["secrets"][0]
    assert job["authorization"]["credentials_file"] == f"/run/secrets/{secret}"
