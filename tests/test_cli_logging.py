"""The commands' log lines say which clock they are on."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from datetime import datetime

from citysigns.cli import LOG_FORMAT, ZonedFormatter

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


def test_a_log_line_carries_its_utc_offset() -> None:
    record = logging.LogRecord("alerts.routing", logging.WARNING, __file__, 1, "late", (), None)
    record.created = datetime.fromisoformat("2026-03-02T10:15:00.123+08:00").timestamp()
    line = ZonedFormatter(LOG_FORMAT).format(record)
    assert re.fullmatch(rf"{STAMP} WARNING alerts.routing: late", line), line
    assert datetime.fromisoformat(line.split()[0]).timestamp() == record.created


def test_the_command_logs_with_the_offset_in_any_zone() -> None:
    """Through the command's own set-up, with the machine on Shanghai's clock."""
    code = (
        "import logging, citysigns.cli as c; "
        "c._options('info'); logging.getLogger('x').warning('hi')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"TZ": "Asia/Shanghai", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert re.fullmatch(rf"{STAMP} WARNING x: hi\n", done.stderr), done.stderr
    assert done.stderr.split()[0].endswith("+08:00")
