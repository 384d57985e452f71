"""DVC stage synth: the built-in synthetic LMTD-style trailers and their labels (params `synth`)."""

from __future__ import annotations

import sys
from typing import Any

from moviegenre import paths
from moviegenre.pipeline import stage_main, stage_parser


def run(config: dict[str, Any]) -> None:
    from moviegenre.data.synth import SynthConfig, generate

    generate(paths.SYNTHETIC_TRAILERS, paths.SYNTHETIC_LABELS_DB, SynthConfig(**config["synth"]))


def main(argv: list[str] | None = None) -> int:
    stage_parser(__spec__.name, __doc__).parse_args(argv)
    return stage_main("synth", run)


if __name__ == "__main__":
    sys.exit(main())
