"""An example Alertmanager configuration for the generated alerts.

Routing: the Watchdog goes to its own receiver (a dead man's switch, or nowhere); pipeline
alerts to the on-call receiver; alerts of indicators that only inform (`dispatch: none`) to
nowhere; every other alert by severity (red and orange quickly, yellow and blue batched), then
by district, so each district's operations centre gets its own receiver (and, when given, its
own ticket-API token, whose scope is that district).  City-level alerts, which have no district,
stay on the severity route's city receiver.  Every receiver posts to the ticket API's webhook
with resolved notifications on.

Inhibition: on the same indicator and area a higher level mutes the lower ones, and a flow that
cannot be scraped mutes the lag and dead-letter alerts of the same instance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from indicators.language.registry import WARNING_LEVELS

WEBHOOK_PATH = "/alertmanager/webhook"
API_PORT = 8080  # `citysigns serve`'s default port


@dataclass(frozen=True)
class AlertmanagerOptions:
    webhook_url: str = f"http://127.0.0.1:{API_PORT}{WEBHOOK_PATH}"
    token: str | None = None  # bearer token of a `dispatcher` for the ticket API
    # or the file Alertmanager reads it from, so the secret stays out of its configuration
    token_file: str | None = None
    district_tokens: Mapping[str, str] = field(default_factory=dict)
    watchdog_url: str | None = None  # a dead man's switch; None: the Watchdog goes nowhere
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    urgent_group_wait: str = "10s"
    urgent_repeat_interval: str = "1h"


def _webhook(url: str, token: str | None, token_file: str | None = None) -> dict[str, Any]:
    hook: dict[str, Any] = {"url": url, "send_resolved": True, "max_alerts": 0}
    if token:
        hook["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    elif token_file:
        auth = {"type": "Bearer", "credentials_file": token_file}
        hook["http_config"] = {"authorization": auth}
    return hook


def district_receiver(district: str) -> str:
    return f"district-{district}"


def alertmanager_config(
    districts: Sequence[str], options: AlertmanagerOptions | None = None
) -> dict[str, Any]:
    """The configuration as a mapping (write it with yaml.safe_dump)."""
    o = options or AlertmanagerOptions()
    group_by = ["alertname", "indicator", "area"]

    def severity_route(matcher: str, receiver: str, urgent: bool) -> dict[str, Any]:
        timing = (
            {"group_wait": o.urgent_group_wait, "repeat_interval": o.urgent_repeat_interval}
            if urgent
            else {}
        )
        return {
            "matchers": [matcher],
            "receiver": receiver,
            **timing,
            "routes": [
                {"matchers": [f'district="{d}"'], "receiver": district_receiver(d)}
                for d in districts
            ],
        }

    def hook(token: str | None) -> dict[str, Any]:
        return _webhook(o.webhook_url, token, o.token_file)

    receivers: list[dict[str, Any]] = [
        {"name": "city", "webhook_configs": [hook(o.token)]},
        {
            "name": "pipeline-oncall",
            "webhook_configs": [_webhook(o.webhook_url, o.token, o.token_file)],
        },
        {"name": "informational"},
        {"name": "watchdog"},
    ]
    if o.watchdog_url:
        receivers[-1]["webhook_configs"] = [_webhook(o.watchdog_url, None)]
    receivers += [
        {
            "name": district_receiver(d),
            "webhook_configs": [
                _webhook(o.webhook_url, o.district_tokens.get(d, o.token), o.token_file)
            ],
        }
        for d in districts
    ]
    lower = list(WARNING_LEVELS)  # blue .. red
    inhibit = [
        {
            "source_matchers": [f'level="{hi}"', 'indicator=~".+"'],
            "target_matchers": [f'level=~"{"|".join(lower[:i])}"', 'indicator=~".+"'],
            "equal": ["indicator", "area"],
        }
        for i, hi in enumerate(lower)
        if i > 0
    ]
    inhibit.reverse()  # red first: easier to read
    inhibit.append(
        {
            "source_matchers": ['alertname="CitySignsFlowDown"'],
            "target_matchers": [
                'alertname=~"CitySignsFlowStalled|CitySignsWatermarkLag.*|CitySignsDeadLetterRate"'
            ],
            "equal": ["job", "instance"],
        }
    )
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "city",
            "group_by": group_by,
            "group_wait": o.group_wait,
            "group_interval": o.group_interval,
            "repeat_interval": o.repeat_interval,
            "routes": [
                {
                    "matchers": ['alertname="Watchdog"'],
                    "receiver": "watchdog",
                    "group_wait": "0s",
                    "group_interval": "1m",
                    "repeat_interval": "1m",
                },
                {
                    "matchers": ['category="pipeline"'],
                    "receiver": "pipeline-oncall",
                    "group_by": ["alertname", "instance"],
                },
                {"matchers": ['dispatch="false"'], "receiver": "informational"},
                severity_route('severity=~"critical|major"', "city", urgent=True),
                severity_route('severity=~"warning|info"', "city", urgent=False),
            ],
        },
        "inhibit_rules": inhibit,
        "receivers": receivers,
    }
