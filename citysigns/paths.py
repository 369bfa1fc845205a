"""Where the packaged defaults live, so every command works from any directory."""

from __future__ import annotations

from pathlib import Path

import indicators

CATALOG_DIR = Path(indicators.__file__).resolve().parent / "catalog"
