"""`python -m flows.simulator OUT_DIR [--days N] [--seed S]`: write the demo's input files."""

from __future__ import annotations

import argparse
from pathlib import Path

from .simulate import DEMO_SEED, write_demo_inputs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.simulator", description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=DEMO_SEED)
    args = parser.parse_args(argv)
    result = write_demo_inputs(args.out_dir, days=args.days, seed=args.seed)
    for family, path in result.files.items():
        size = path.stat().st_size
        print(f"{path}: {result.lines[family]:,} lines, {size / 1e6:.2f} MB, "
              f"{sum(result.malformed[family].values())} damaged on purpose")  # fmt: skip
    for inc in result.incidents:
        print(
            f"incident {inc['kind']:<17} {inc['area_name_en']:<45} {inc['start']} .. {inc['end']}"
        )
    print(f"manifest: {result.manifest}")


if __name__ == "__main__":
    main()
