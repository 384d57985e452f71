"""Load and validate params.yaml: one file is both Snakemake's config and DVC's params.

Validation happens before any work starts, and every message names the key's path and
what it accepts, so a typo in a 4,000-trailer run costs seconds, not hours.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_RESOURCE = "schemas/config.schema.yaml"

#: key path -> {old value: the value that means the same}: validation refuses the old one
#: with a message naming the new one, and a bundle that recorded the old one reads as new
RENAMED_VALUES: dict[str, dict[str, str]] = {
    # "seed" read as the random `seed: 0` beside it; the protocol is the original code's
    "fusion.protocol": {"seed": "original"},
}


def current_value(key: str, value: Any) -> Any:
    """`value` of the dotted `key`, by its current name when it is a renamed one."""
    if isinstance(value, str):
        return RENAMED_VALUES.get(key, {}).get(value, value)
    return value


class RefusedInput(ValueError):
    """An input file refused with a message for its user, not a traceback (the stage
    commands print it in full and exit 2): a bad params.yaml, a bad label file."""


class ConfigError(RefusedInput):
    """params.yaml does not match the schema; the message lists every problem by key path."""


def load_schema() -> dict[str, Any]:
    """The JSON schema (also linked at workflow/schemas/config.schema.yaml for Snakemake)."""
    text = resources.files("moviegenre").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _is_integer(_: Any, value: Any) -> bool:
    """A YAML integer: not 2.0 (jsonschema's default), not true."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(_: Any, value: Any) -> bool:
    """A finite int or float: .inf and .nan pass every min/max comparison, so refuse them."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load that refuses a key given twice in one mapping (PyYAML and Snakemake
    keep the last silently, DVC refuses: all entry points must agree)."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise ConfigError(
                f"{node.start_mark.name}: line {line}: key {key!r} appears twice in one "
                f"mapping (first at line {seen[key]})"
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


#: params.yaml is a few KB and 4 levels deep; these bounds only stop hostile files
MAX_PARAMS_BYTES = 1 << 20
MAX_PARAMS_DEPTH = 32


def check_params_shape(path: str | Path) -> None:
    """Refuse, in one line naming the file and line, a YAML file that would blow up its
    readers: anchors or aliases (a 4 KB file of nested aliases expands to 10^8 values when
    a validator or Snakemake walks it), nesting deeper than MAX_PARAMS_DEPTH (PyYAML's
    and Snakemake's readers recurse per level: RecursionError), or over MAX_PARAMS_BYTES.

    Reads the parser's event stream, which builds no tree and does not recurse, so it is
    safe on any input; call it before anything loads the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: parameters file not found")
    size = path.stat().st_size
    if size > MAX_PARAMS_BYTES:
        raise ConfigError(
            f"{path}: {size} bytes; a parameters file is at most {MAX_PARAMS_BYTES} bytes"
        )
    depth = 0
    try:
        with open(path, encoding="utf-8") as handle:
            for event in yaml.parse(handle, Loader=yaml.SafeLoader):
                line = event.start_mark.line + 1
                if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                    raise ConfigError(
                        f"{path}: line {line}: YAML anchors and aliases (&name, *name) are "
                        "not allowed in a parameters file; write the values out"
                    )
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
                    if depth > MAX_PARAMS_DEPTH:
                        raise ConfigError(
                            f"{path}: line {line}: nested more than {MAX_PARAMS_DEPTH} levels "
                            "deep; parameters are a few levels of mappings and lists"
                        )
                elif isinstance(event, yaml.CollectionEndEvent):
                    depth -= 1
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_params_file(path: str | Path) -> Any:
    """The YAML in `path`, refusing duplicate keys (ConfigError naming the line) and the
    shapes check_params_shape refuses (before the YAML is loaded)."""
    path = Path(path)
    check_params_shape(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    validator = error.validator
    if validator == "type" and error.validator_value in ("integer", "number"):
        value = error.instance
        if isinstance(value, float) and not math.isfinite(value):
            return f"{path}: {value!r} is not allowed; a finite number is required"
        if error.validator_value == "integer" and isinstance(value, float) and value.is_integer():
            return f"{path}: {value!r} is not an integer; write {int(value)}"
    if validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        renamed = current_value(path, error.instance)
        if renamed != error.instance:
            return (
                f"{path}: {error.instance!r} is now called {renamed!r} (same meaning); "
                f"write {renamed!r}. allowed values: {allowed}"
            )
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


def validate_config(config: dict[str, Any], files: Iterable[str | Path] = ()) -> dict[str, Any]:
    """Raise ConfigError listing every schema violation (and cross-key rule); return config.

    ``files``: the YAML files the config was read from (Snakemake's configfiles), re-read
    to refuse duplicate keys that the caller's YAML reader merged silently.
    """
    for path in files:
        read_params_file(path)
    validator = _Validator(load_schema())
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
    config = read_params_file(path)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return validate_config(config)


@contextlib.contextmanager
def exit_on_config_error(program: str = "moviegenre") -> Iterator[None]:
    """In a Snakefile: a ConfigError becomes its message on stderr and exit status 2,
    instead of Snakemake's error block with the YAML reader's stack."""
    try:
        yield
    except ConfigError as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
