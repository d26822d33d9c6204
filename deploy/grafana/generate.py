"""Writes the Grafana dashboards in deploy/grafana/dashboards/ from the short descriptions below.

Run `python deploy/grafana/generate.py` after editing; tests/deploy checks the JSON is current and runs every
expression against a real Prometheus. Panels use the datasource variable, so the dashboards import anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
STATUS_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "Operational", "color": "green", "index": 0},
    "1": {"text": "Degraded performance", "color": "yellow", "index": 1},
    "2": {"text": "Partial outage", "color": "orange", "index": 2},
    "3": {"text": "Major outage", "color": "red", "index": 3},
    "4": {"text": "Under maintenance", "color": "blue", "index": 4},
}}]


def var(name: str, query: str, label: str, *, multi: bool = True) -> dict[str, Any]:
    """A query variable with All (as the regex .*)."""
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": {"query": query, "refId": f"var-{name}"}, "definition": query,
        "refresh": 2, "multi": multi, "includeAll": True, "allValue": ".*", "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
    }


DATASOURCE_VAR = {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                  "current": {}, "hide": 0}


def panel(kind: str, title: str, exprs: list[tuple[str, str]], *, w: int = 12, h: int = 8,
          unit: str = "short", desc: str = "", **extra: Any) -> dict[str, Any]:
    """A panel; `exprs` are (PromQL, legend) pairs."""
    defaults: dict[str, Any] = {"unit": unit}
    defaults.update(extra.pop("defaults", {}))
    return {
        "type": kind, "title": title, "description": desc, "datasource": DS,
        "gridPos": {"w": w, "h": h},
        "targets": [{"refId": chr(65 + i), "datasource": DS, "expr": e, "legendFormat": legend}
                    for i, (e, legend) in enumerate(exprs)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": extra.pop("options", {}),
        **extra,
    }


def dashboard(uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]],
              annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Lay panels out left to right, top to bottom, and number them."""
    x = y = row_h = 0
    for i, p in enumerate(panels, start=1):
        if x + p["gridPos"]["w"] > 24:
            x, y, row_h = 0, y + row_h, 0
        p["id"] = i
        p["gridPos"].update(x=x, y=y)
        x += p["gridPos"]["w"]
        row_h = max(row_h, p["gridPos"]["h"])
    builtin = {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
               "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}
    return {
        "uid": uid, "title": title, "tags": ["dialtone"], "timezone": "browser", "editable": True,
        "schemaVersion": 39, "version": 1, "refresh": "30s", "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": [DATASOURCE_VAR, *variables]},
        "annotations": {"list": [builtin, *(annotations or [])]},
        "panels": panels,
    }


C = 'component=~"$component"'


def overview() -> dict[str, Any]:
    """Component status, SLA month to date, error budget, burn rates; maintenance as annotations."""
    maintenance = {
        "name": "Maintenance", "datasource": DS, "enable": True, "iconColor": "blue",
        "expr": f"component:dialtone_maintenance:active{{{C}}} == 1", "step": "60s",
        "titleFormat": "Maintenance", "textFormat": "{{component}} in a maintenance window",
        "tagKeys": "component", "useValueForTime": False,
    }
    transitions = {
        "name": "Status changes", "datasource": DS, "enable": True, "iconColor": "orange",
        "expr": f"changes(component:dialtone_status:code{{{C}}}[2m]) > 0", "step": "60s",
        "titleFormat": "Status change", "textFormat": "{{component}}", "tagKeys": "component",
    }
    return dashboard("dialtone-overview", "dialtone / Overview", [
        panel("stat", "Component status", [(f"component:dialtone_status:code{{{C}}}", "{{component}}")],
              w=24, h=5, defaults={"mappings": STATUS_MAPPINGS, "color": {"mode": "thresholds"},
                                   "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]}},
              options={"colorMode": "background", "textMode": "value_and_name", "graphMode": "none",
                       "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}),
        panel("stat", "SLA this month to date", [(f"dialtone_sla_availability_ratio{{{C}}}", "{{component}}")],
              unit="percentunit", desc="Calendar month, maintenance and exclusions counted as available.",
              defaults={"decimals": 3}, options={"reduceOptions": {"calcs": ["lastNotNull"]}}),
        panel("bargauge", "Error budget left this month",
              [(f"dialtone_sla_error_budget_remaining_ratio{{{C}}}", "{{component}}")], unit="percentunit",
              defaults={"min": 0, "max": 1}, options={"reduceOptions": {"calcs": ["lastNotNull"]}}),
        panel("timeseries", "Availability (probes, 1 h window, maintenance excluded)",
              [(f"1 - component:dialtone_sli_errors:ratio_avg1h{{{C}}}", "{{component}}")], unit="percentunit"),
        panel("timeseries", "Burn rate (1 h window; 14.4 pages)",
              [(f"component:dialtone_sli_errors:ratio_avg1h{{{C}}} / on (component) group_left "
                f"component:dialtone_error_budget:ratio", "{{component}}")], unit="short"),
        panel("timeseries", "Targets down", [(f"count by (component) (dialtone_target_up{{{C}}} == 0)",
                                              "{{component}}")]),
        panel("table", "Firing alerts", [(f'ALERTS{{alertstate="firing",{C}}}', "")],
              options={"showHeader": True}, transformations=[{"id": "labelsToFields", "options": {}}]),
        panel("stat", "SLA target", [(f"dialtone_component_sla_target_ratio{{{C}}}", "{{component}} ({{tier}})")],
              w=24, h=4, unit="percentunit", defaults={"decimals": 2},
              options={"reduceOptions": {"calcs": ["lastNotNull"]}}),
    ], [var("component", "label_values(dialtone_component_status, component)", "Component")],
        [maintenance, transitions])


def voice() -> dict[str, Any]:
    """Post-dial delay, ASR, MOS, jitter and loss by route and direction."""
    sel = f'{C},route=~"$route"'
    rtp = f'{sel},direction=~"$direction"'
    legend = "{{target}} {{route}} {{direction}}"
    return dashboard("dialtone-voice", "dialtone / Voice quality", [
        panel("timeseries", "Post-dial delay (INVITE to ringing)",
              [(f"probe_sip_post_dial_delay_seconds{{{sel}}}", "{{target}} {{route}}")], unit="s"),
        panel("timeseries", "Answer-seizure ratio (answered / attempts)",
              [('sum by (route) (rate(dialtone_call_answered_total{route=~"$route"}[$__rate_interval]))'
                ' / sum by (route) (rate(dialtone_call_attempts_total{route=~"$route"}[$__rate_interval]))',
                "{{route}}")], unit="percentunit", defaults={"min": 0, "max": 1}),
        panel("timeseries", "MOS (E-model)", [(f"probe_voice_mos{{{sel}}}", "{{target}} {{route}}")],
              defaults={"min": 1, "max": 5}),
        panel("timeseries", "Jitter", [(f"probe_rtp_jitter_seconds{{{rtp}}}", legend)], unit="s"),
        panel("timeseries", "Packet loss", [(f"probe_rtp_packet_loss_ratio{{{rtp}}}", legend)],
              unit="percentunit"),
        panel("timeseries", "Media round trip", [(f"probe_rtp_round_trip_seconds{{{rtp}}}", legend)], unit="s"),
        panel("timeseries", "Call attempts by result",
              [('sum by (route, result) (rate(dialtone_call_attempts_total{route=~"$route"}[$__rate_interval]))',
                "{{route}} {{result}}")], unit="ops"),
        panel("timeseries", "SIP phases", [(f"probe_sip_phase_duration_seconds{{{sel}}}", "{{target}} {{phase}}")],
              unit="s"),
        panel("table", "Last SIP status code", [(f"probe_sip_status_code{{{sel}}}", "")], w=24,
              transformations=[{"id": "labelsToFields", "options": {}}]),
    ], [
        var("component", 'label_values(probe_success{kind=~"sip_.*|pstn_call"}, component)', "Component"),
        var("route", "label_values(dialtone_call_attempts_total, route)", "Route"),
        var("direction", "label_values(probe_rtp_jitter_seconds, direction)", "Direction"),
    ])


def equipment() -> dict[str, Any]:
    """SNMP-managed SBCs, PBXs, gateways and UPSs."""
    sel = f'kind="snmp",{C},target=~"$target"'
    return dashboard("dialtone-equipment", "dialtone / Equipment (SNMP)", [
        panel("stat", "Reachable", [(f"probe_success{{{sel}}}", "{{target}}")], w=24, h=5,
              defaults={"mappings": [{"type": "value", "options": {
                  "0": {"text": "DOWN", "color": "red"}, "1": {"text": "UP", "color": "green"}}}]},
              options={"colorMode": "background", "reduceOptions": {"calcs": ["lastNotNull"]}}),
        panel("timeseries", "Uptime", [(f'probe_snmp_uptime_seconds{{{C},target=~"$target"}}', "{{target}}")],
              unit="s"),
        panel("timeseries", "Reboots (24 h)",
              [(f'increase(probe_snmp_reboots_total{{{C},target=~"$target"}}[1d])', "{{target}}")]),
        panel("timeseries", "Readings", [(f'probe_snmp_value{{{C},target=~"$target"}}', "{{target}} {{name}}")],
              w=24),
        panel("timeseries", "SNMP response time", [(f"probe_duration_seconds{{{sel}}}", "{{target}}")], unit="s"),
        panel("timeseries", "Traps received by result",
              [("sum by (result) (rate(dialtone_snmp_traps_total[$__rate_interval]))", "{{result}}")], unit="ops"),
    ], [
        var("component", 'label_values(probe_success{kind="snmp"}, component)', "Component"),
        var("target", 'label_values(probe_success{kind="snmp"}, target)', "Device"),
    ])


AGENT_JOBS = 'job=~"dialtone|dialtone-agents"'
"""The agents' scrape jobs (deploy/prometheus/prometheus.yml): not dialtone-probe, whose instances are target ids."""


def agent() -> dict[str, Any]:
    """The agent itself: probe rate, lateness, errors, history and MQTT."""
    i = f'{AGENT_JOBS},instance=~"$instance"'
    return dashboard("dialtone-agent", "dialtone / Agent", [
        panel("stat", "Agents up", [(f"up{{{i}}}", "{{instance}}")], w=24, h=4,
              options={"colorMode": "background", "reduceOptions": {"calcs": ["lastNotNull"]}}),
        panel("timeseries", "Probes per second by kind and result",
              [(f"sum by (kind, result) (rate(dialtone_probes_total{{{i}}}[$__rate_interval]))",
                "{{kind}} {{result}}")], unit="ops"),
        panel("timeseries", "Scheduler lateness",
              [(f"histogram_quantile(0.5, sum by (le) (rate(dialtone_scheduler_lateness_seconds_bucket{{{i}}}"
                "[$__rate_interval])))", "p50"),
               (f"histogram_quantile(0.99, sum by (le) (rate(dialtone_scheduler_lateness_seconds_bucket{{{i}}}"
                "[$__rate_interval])))", "p99")], unit="s"),
        panel("timeseries", "Targets and probes in flight",
              [(f"dialtone_scheduler_targets{{{i}}}", "targets {{instance}}"),
               (f"dialtone_scheduler_inflight{{{i}}}", "in flight {{instance}}")]),
        panel("timeseries", "Stale targets (last probe > 3 intervals ago)",
              # `or ... * 0`: an agent with no stale target shows 0, not "No data".
              [(f"count by (instance) (timestamp(dialtone_probe_last_run_timestamp_seconds{{{i}}}) - "
                f"dialtone_probe_last_run_timestamp_seconds{{{i}}} > 3 * dialtone_probe_interval_seconds{{{i}}})"
                f" or on (instance) (0 * dialtone_scheduler_targets{{{i}}})",
                "{{instance}}")]),
        panel("timeseries", "History: queue and write errors",
              [(f"dialtone_history_queue_depth{{{i}}}", "queue {{instance}}"),
               (f"increase(dialtone_history_write_errors_total{{{i}}}[$__rate_interval])", "errors {{instance}}")]),
        panel("timeseries", "MQTT: outbox and session",
              [(f"dialtone_mqtt_outbox_depth{{{i}}}", "outbox {{instance}}"),
               (f"dialtone_mqtt_connected{{{i}}}", "connected {{instance}}")]),
        panel("timeseries", "Probe failures per second by kind",
              [(f'sum by (kind) (rate(dialtone_probes_total{{result="failure",{i}}}[$__rate_interval]))',
                "{{kind}}")], unit="ops"),
        panel("table", "Build and config", [(f"dialtone_build_info{{{i}}}", ""),
                                            (f"dialtone_config_last_reload_successful{{{i}}}", "")],
              transformations=[{"id": "labelsToFields", "options": {}}]),
    ], [var("instance", f"label_values(up{{{AGENT_JOBS}}}, instance)", "Agent")])


DASHBOARDS = {"overview.json": overview, "voice-quality.json": voice, "equipment.json": equipment,
              "agent.json": agent}


def render(name: str) -> str:
    """The JSON text of one dashboard file."""
    return json.dumps(DASHBOARDS[name](), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for name in DASHBOARDS:
        (OUT / name).write_text(render(name))
        print(f"wrote {OUT / name}")
