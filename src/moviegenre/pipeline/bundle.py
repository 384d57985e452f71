"""DVC stage bundle: everything `moviegenre predict` needs, in models/bundle (moviegenre.bundle)."""

from __future__ import annotations

import sys
from typing import Any

from moviegenre.pipeline import stage_main, stage_parser


def run(config: dict[str, Any]) -> None:
    from moviegenre.bundle import build

    build(config)


def main(argv: list[str] | None = None) -> int:
    stage_parser(__spec__.name, __doc__).parse_args(argv)
    return stage_main("bundle", run)


if __name__ == "__main__":
    sys.exit(main())
