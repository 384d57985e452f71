"""DVC stage dataset: labels joined with features for the configured genre setting.

The join itself (memory-mapped arrays, the problems report) is moviegenre.dataset; every
later stage reads the result through moviegenre.dataset_files.
"""

from __future__ import annotations

import sys
from typing import Any

from moviegenre.pipeline import stage_main, stage_parser


def run(config: dict[str, Any]) -> None:
    from moviegenre.dataset import build_dataset

    build_dataset(config)


def main(argv: list[str] | None = None) -> int:
    stage_parser(__spec__.name, __doc__).parse_args(argv)
    return stage_main("dataset", run)


if __name__ == "__main__":
    sys.exit(main())
