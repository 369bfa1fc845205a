"""Errors with positions, in the one format every tool prints:
`path:line:col: indicator "id": message` (Prometheus rule files do the same)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int
    col: int
    indicator: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}"
        if self.indicator is not None:
            return f'{where}: indicator "{self.indicator}": {self.message}'
        return f"{where}: {self.message}"

    def excerpt(self, text: str) -> str:
        """The faulty line with a caret under the column, as dbt and compilers show it."""
        lines = text.splitlines()
        if not 1 <= self.line <= len(lines):
            return ""
        src = lines[self.line - 1]
        return f"    {self.line:>4} | {src}\n         | {' ' * (self.col - 1)}^"


class CatalogError(Exception):
    """Raised by `load_catalog_or_raise` when a catalog has errors; carries all of them."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))
