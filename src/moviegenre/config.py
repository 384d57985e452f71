"""Load and validate params.yaml: one file is both Snakemake's config and DVC's params.

Validation happens before any work starts, and every message names the key's path and
what it accepts, so a typo in a 4,000-trailer run costs seconds, not hours.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_RESOURCE = "schemas/config.schema.yaml"


class ConfigError(ValueError):
    """params.yaml does not match the schema; the message lists every problem by key path."""


def load_schema() -> dict[str, Any]:
    """The JSON schema (also linked at workflow/schemas/config.schema.yaml for Snakemake)."""
    text = resources.files("moviegenre").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    validator = error.validator
    if validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"{path}: {error.instance!r} is not allowed; allowed values: {allowed}"
    if validator == "additionalProperties":
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{path}: {error.message}; known keys here: {known}"
    if validator == "required":
        return f"{path}: {error.message}"
    if validator == "anyOf":
        options = []
        for sub in error.validator_value:
            if "enum" in sub:
                options.extend(repr(v) for v in sub["enum"])
            elif "pattern" in sub:
                options.append(f"a path matching {sub['pattern']}")
        return f"{path}: {error.instance!r} is not allowed; allowed: {', '.join(options)}"
    return f"{path}: {error.message}"


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """Raise ConfigError listing every schema violation (and cross-key rule); return config."""
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_describe(e) for e in errors]
    if not problems:
        frames = config["frames"]
        if frames["end_s"] <= frames["start_s"]:
            problems.append(
                f"frames.end_s: {frames['end_s']} must be greater than frames.start_s "
                f"({frames['start_s']})"
            )
        stacking = config["stacking"]
        if stacking["fold_ids"] != list(range(stacking["folds"])):
            problems.append(
                f"stacking.fold_ids: {stacking['fold_ids']} must be "
                f"{list(range(stacking['folds']))} (0..folds-1; dvc.yaml's train matrix)"
            )
    if problems:
        raise ConfigError("invalid params.yaml:\n  " + "\n  ".join(problems))
    return config


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read and validate params.yaml."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: parameters file not found")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return validate_config(config)
