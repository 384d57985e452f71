"""Generate the code deps of dvc.yaml's stages from what each stage's entry point imports.

DVC reruns a stage when a listed dependency changes, and only then: a module the stage runs
but does not list changes results silently, and a module listed but not run reruns the
stage (and all that follows) for nothing. So each stage's ``src/moviegenre/**.py`` deps are
exactly the modules reachable from its entry point through ``moviegenre`` imports (top
level or inside functions, parent packages included), plus:

- modules imported by name at run time (``DYNAMIC``): ``build_model`` imports only the
  named visual model's module, so ``train`` lists ``architectures/${item.model}.py``;
- source files a module reads as data (``READS``): the feature code version hashes the
  value modules' text.

Other deps (data, folders such as ``src/moviegenre/features``, the config schema) are kept
as written; a module under a listed folder is not listed again.

    python scripts/dvc_deps.py --check   # exit 1 and show the difference if out of date
    python scripts/dvc_deps.py --write   # rewrite dvc.yaml's deps lists in place
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
PACKAGE = "src/moviegenre"

#: the features stage runs `snakemake`: its code is the rule scripts and the rule files
FEATURE_SCRIPTS = (
    "scripts/extract_audio_shard.py",
    "scripts/extract_visual_shard.py",
    "scripts/extraction_report.py",
)
#: module -> (the module it imports by name, as a dvc.yaml path template; its matrix key)
DYNAMIC = {
    f"{PACKAGE}/models/architectures/__init__.py": (
        f"{PACKAGE}/models/architectures/${{item.model}}.py",
        "model",
    ),
}


def _reads() -> dict[str, list[str]]:
    """Module -> the package files it reads as data (what its results depend on)."""
    sys.path.insert(0, str(SRC))
    from moviegenre.features.code_version import VALUE_MODULES

    hashed = sorted({name for names in VALUE_MODULES.values() for name in names})
    return {f"{PACKAGE}/features/code_version.py": [f"{PACKAGE}/features/{n}" for n in hashed]}


def _module_file(name: str) -> str | None:
    base = Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if (SRC / candidate).is_file():
            return f"src/{candidate.as_posix()}"
    return None


def imported_names(path: str) -> set[str]:
    """moviegenre modules imported anywhere in a file (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(_source(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("moviegenre")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("moviegenre"):
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def reachable(entries: list[str], reads: dict[str, list[str]] | None = None) -> set[str]:
    """Repo-relative files of the moviegenre modules reachable from ``entries`` (files),
    parent packages and the files read as data (``READS``) included; not the entries."""
    reads = _reads() if reads is None else reads
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        path = todo.pop()
        for name in imported_names(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                module = _module_file(".".join(parts[:i]))
                if module is not None and module not in seen:
                    seen.add(module)
                    todo.append(module)
        for data in reads.get(path, []):
            seen.add(data)
    return seen


#: stands for the Snakefile and rule files in a stage's entries (read as their imports)
SNAKEMAKE_RULES = "Snakefile + workflow/rules/*.smk"


def _source(path: str) -> str:
    """A file's Python text; for SNAKEMAKE_RULES, their moviegenre import lines (the rest
    of a Snakemake file is not Python)."""
    if path != SNAKEMAKE_RULES:
        return (REPO / path).read_text()
    lines = []
    for rules in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        lines += [
            line
            for line in rules.read_text().splitlines()
            if re.match(r"(from|import) moviegenre", line)
        ]
    return "\n".join(lines) + "\n"


def stage_entries(body: dict) -> list[str] | None:
    """The files a stage's command starts in; None for a command that is not ours."""
    match = re.match(r"python -m moviegenre\.pipeline\.(\w+)", body["cmd"])
    if match:
        return [f"{PACKAGE}/pipeline/{match.group(1)}.py"]
    if body["cmd"].split()[0] == "snakemake":
        return [*FEATURE_SCRIPTS, SNAKEMAKE_RULES]
    return None


def code_deps(name: str, stage: dict) -> list[str]:
    """The ``src/moviegenre`` files stage ``name`` must list (templates for matrix items)."""
    body = stage.get("do", stage)
    entries = stage_entries(body)
    if entries is None:
        return []
    found = reachable(entries)
    for module, (template, key) in DYNAMIC.items():
        if module not in found:
            continue
        values = stage.get("matrix", {}).get(key)
        if not values:
            raise SystemExit(f"{name}: runs {module}, which needs matrix key {key!r}")
        for value in values:
            item = template.replace(f"${{item.{key}}}", str(value))
            found |= reachable([item]) | {item}
        found -= {template.replace(f"${{item.{key}}}", str(v)) for v in values}
        found.add(template)
    own = [e for e in entries if e.startswith(PACKAGE)]
    return sorted(found | set(own))


def _is_code(dep: str) -> bool:
    return dep.startswith(f"{PACKAGE}/") and dep.endswith(".py")


def expected_deps(name: str, stage: dict) -> list[str]:
    """The stage's deps as they should read: kept deps, then the generated code deps,
    minus those under a folder the stage lists."""
    body = stage.get("do", stage)
    kept = [str(d) for d in body.get("deps", []) if not _is_code(str(d))]
    folders = [d.rstrip("/") + "/" for d in kept if (REPO / d).is_dir()]
    code = [d for d in code_deps(name, stage) if not any(d.startswith(f) for f in folders)]
    return kept + code


_STAGE = re.compile(r"^  (\w+):\s*$")
_DEP = re.compile(r"^(\s*)- (\S+)(\s+#.*)?$")


def rewrite(text: str) -> str:
    """dvc.yaml's text with each stage's code deps regenerated (comments kept)."""
    stages = yaml.safe_load(text)["stages"]
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    stage = None
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _STAGE.match(line)
        if match:
            stage = match.group(1)
        if stage in stages and line.strip() == "deps:":
            out.append(line)
            i += 1
            items = []
            while i < len(lines) and _DEP.match(lines[i]):
                items.append(lines[i])
                i += 1
            out += _new_items(stage, stages[stage], items)
            continue
        out.append(line)
        i += 1
    return "".join(out)


def _new_items(name: str, stage: dict, items: list[str]) -> list[str]:
    """The deps lines of one stage: src/moviegenre entries regenerated and sorted among the
    other src/moviegenre entries (whose lines, comments included, are kept)."""
    indent = _DEP.match(items[0]).group(1) if items else " " * 6
    parsed = [(_DEP.match(line).group(2), line) for line in items]
    if stage_entries(stage.get("do", stage)) is None:
        return items
    wanted = expected_deps(name, stage)
    src_lines = {dep: line for dep, line in parsed if dep.startswith(PACKAGE)}
    for dep in wanted:
        if dep.startswith(PACKAGE) and dep not in src_lines:
            src_lines[dep] = f"{indent}- {dep}\n"
    for dep in list(src_lines):
        if _is_code(dep) and dep not in wanted:
            del src_lines[dep]
    first = next((k for k, (dep, _) in enumerate(parsed) if dep.startswith(PACKAGE)), None)
    others = [line for dep, line in parsed if not dep.startswith(PACKAGE)]
    block = [src_lines[dep] for dep in sorted(src_lines)]
    if first is None:
        return others + block
    before = [line for dep, line in parsed[:first] if not dep.startswith(PACKAGE)]
    after = [line for dep, line in parsed[first:] if not dep.startswith(PACKAGE)]
    return before + block + after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml is out of date")
    mode.add_argument("--write", action="store_true", help="rewrite dvc.yaml's deps lists")
    args = parser.parse_args(argv)
    path = REPO / "dvc.yaml"
    text = path.read_text()
    new = rewrite(text)
    if args.write:
        if new != text:
            path.write_text(new)
            print(f"rewrote the code deps in {path}")
        return 0
    if new != text:
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True)))
        print("dvc.yaml's code deps are out of date: python scripts/dvc_deps.py --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
