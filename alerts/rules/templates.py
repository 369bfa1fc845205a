"""The few Go-template forms the generated annotations use, and a renderer for exactly those
forms, so the generated promtool tests can state the annotations Prometheus must produce.

Numbers go through `printf "%.4g"` / `"%.6g"`, which Go and Python format identically for the
finite values the tests use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

VALUE_SHORT: Final = '{{ $value | printf "%.4g" }}'
VALUE_FULL: Final = '{{ $value | printf "%.6g" }}'

_FORM = re.compile(r'\{\{ \$labels\.([a-z_]+) \}\}|\{\{ \$value \| printf "(%\.\d[gf])" \}\}')


def label(name: str) -> str:
    return f"{{{{ $labels.{name} }}}}"


def render(template: str, labels: Mapping[str, str], value: float) -> str:
    """What Prometheus makes of `template` for an alert with these labels and value."""

    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            return labels.get(m.group(1), "")
        return m.group(2) % value

    out = _FORM.sub(sub, template)
    if "{{" in out:
        raise ValueError(f"template form not supported by the renderer: {template!r}")
    return out


def number(x: float) -> str:
    """A threshold as PromQL and people write it: 75, not 75.0; 0.9, not 0.90000001."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))
