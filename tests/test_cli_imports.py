"""Every `citysigns` command imports the CLI module, `run` included: the ticket API's and the
ticket store's libraries must not ride along into the flow's process (they cost it about
18 MB of resident memory, measured with `python -m benchmarks.flow_state`)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "starlette", "sqlalchemy", "uvicorn")


def test_the_cli_module_leaves_the_ticket_libraries_unloaded() -> None:
    probe = f"import sys, citysigns.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == ""
