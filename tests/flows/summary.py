"""Reading what `citysigns run` prints."""

from __future__ import annotations


def summary_rows(output: str) -> dict[str, str]:
    """The run summary's "read ..." rows (per source, since a resume too), as label -> what
    it says."""
    return {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in output.splitlines()
        if line.startswith("│ read")
    }
