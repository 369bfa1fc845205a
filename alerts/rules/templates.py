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


# The area's name as citysigns_area_info gives it (deduplicated: two flow processes export
# the same info), then its code: "Jiangning Road (310106001)"; the code alone for an area the
# info does not name (a sensor, an area of a level not exported).
_AREA_INFO_QUERY: Final = "group by (name, name_en) (citysigns_area_info{area=%q})"
_AREA_NAMED = re.compile(
    r'\{\{ with printf "' + re.escape(_AREA_INFO_QUERY) + r'" \$labels\.area \| query \}\}'
    r'\{\{ \. \| first \| label "(name|name_en)" \}\} \(\{\{ \$labels\.area \}\}\)'
    r"\{\{ else \}\}\{\{ \$labels\.area \}\}\{\{ end \}\}"
)


def label(name: str) -> str:
    return f"{{{{ $labels.{name} }}}}"


def area_named(name_label: str) -> str:
    """The alert's area by its name (`name`: Chinese, `name_en`: English) and code, looked
    up in citysigns_area_info when Prometheus expands the annotation: a duty officer reads
    "Jiangning Road (310106001)" where the alert said "310106001"."""
    return (
        f'{{{{ with printf "{_AREA_INFO_QUERY}" $labels.area | query }}}}'
        f'{{{{ . | first | label "{name_label}" }}}} ({{{{ $labels.area }}}})'
        "{{ else }}{{ $labels.area }}{{ end }}"
    )


def render(
    template: str,
    labels: Mapping[str, str],
    value: float,
    area_names: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """What Prometheus makes of `template` for an alert with these labels and value, the
    areas named as `area_names` (area code -> {"name": ..., "name_en": ...}, what the test's
    citysigns_area_info series say) name them."""

    def named(m: re.Match[str]) -> str:
        area = labels.get("area", "")
        names = (area_names or {}).get(area)
        return area if names is None else f"{names[m.group(1)]} ({area})"

    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            return labels.get(m.group(1), "")
        return m.group(2) % value

    out = _FORM.sub(sub, _AREA_NAMED.sub(named, template))
    if "{{" in out:
        raise ValueError(f"template form not supported by the renderer: {template!r}")
    return out


def number(x: float) -> str:
    """A threshold as PromQL and people write it: 75, not 75.0; 0.9, not 0.90000001."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))
