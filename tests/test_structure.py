"""The package's structure stays one a newcomer can carry on: imports point down, functions
stay short, and what the package ships is used by the package.

Layers, bottom to top (LAYERS below; a module takes the layer of its longest prefix there):

    base        paths, atomic, logs, genres, runtime, config, registry, producers,
                snakemake_locks, the package itself (__version__)
    formats     files the stages hand on: per-trailer predictions, the data set's reader
    data        data.*: labels, trailer discovery, pickle reading, synthetic data
    features    features.*: decoding, sound, embeddings, the shard schema, the store
    import      data.lmtd: LMTD's own features written as shards (the shard schema's user)
    extraction  features.extract: the extraction engine the Snakemake shard rules run
    models      models.*: architectures and training
    fusion      fusion.*: SVMs and the no-audio policy
    evaluation  evaluation.*: metrics, thresholds, plots
    assembly    dataset (builder), stacking, bundle
    commands    predict, classify, audio_cli: a trained bundle applied to files
    stages      pipeline.*: one DVC stage per module
    cli         the `moviegenre` command

A module imports from its own layer or a lower one, never a higher one. Modules of one
layer may import each other (classify may use predict), except the stage modules
(`pipeline/<stage>.py`): a stage imports no other stage, only what they share
(`pipeline/__init__.py` and lower layers), so that what one stage needs lives where both
can reach it. No module imports another module's private (`_name`) names: a name another
module needs is public where it lives.

The layers follow what the code imports. Two modules are lifted out of their package's
layer: the LMTD import writes shards, so it sits above the features (the shard schema) it
uses; the extraction engine, which runs decoding, embedding and the store for a shard
rule, sits above it, so that writing shards from LMTD's pickles never pulls in the engine.

No function is over 80 lines (from `def` to its last line): a longer one is split by step.
What only tests or benchmarks use lives under tests/ or benchmarks/, and what nothing uses is
gone (KEPT names the exceptions, with the reason).

The checks read the source with `ast`; nothing is imported or run.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import REPO

PACKAGE = "moviegenre"
SRC = REPO / "src"
MAX_FUNCTION_LINES = 80

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        (
            "moviegenre",
            "moviegenre.paths",
            "moviegenre.atomic",
            "moviegenre.logs",
            "moviegenre.genres",
            "moviegenre.runtime",
            "moviegenre.config",
            "moviegenre.registry",
            "moviegenre.producers",
            "moviegenre.snakemake_locks",
        ),
    ),
    ("formats", ("moviegenre.predictions", "moviegenre.dataset_files")),
    ("data", ("moviegenre.data",)),
    ("features", ("moviegenre.features",)),
    ("import", ("moviegenre.data.lmtd",)),
    ("extraction", ("moviegenre.features.extract",)),
    ("models", ("moviegenre.models",)),
    ("fusion", ("moviegenre.fusion",)),
    ("evaluation", ("moviegenre.evaluation",)),
    ("assembly", ("moviegenre.dataset", "moviegenre.stacking", "moviegenre.bundle")),
    ("commands", ("moviegenre.predict", "moviegenre.classify", "moviegenre.audio_cli")),
    ("stages", ("moviegenre.pipeline",)),
    ("cli", ("moviegenre.cli",)),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}
# Packages whose modules are independent siblings; the package's __init__ is what they share.
STAGE_PACKAGES = ("moviegenre.pipeline",)
# Names the package keeps although only tests read them, and why.
KEPT = {
    "moviegenre.features.code_version.NEUTRAL_MODULES": (
        "the other half of VALUE_MODULES' contract: the modules that shape no value, which "
        "tests/test_code_version.py holds the import graph to"
    ),
    "moviegenre.data.synth.LMTD_TRAILERS": (
        "LMTD-9's published total beside its genre counts and split sizes, which synth uses: "
        "the figures are kept together, and tests/test_synth.py checks the labels against it"
    ),
}


def _modules(src: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package under `src`."""
    found = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules(SRC)


def layer_of(module: str) -> str | None:
    """The layer of `module`: its longest prefix in LAYERS (the package name only exactly)."""
    best, length = None, -1
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            inside = module == prefix or (prefix != PACKAGE and module.startswith(prefix + "."))
            if inside and len(prefix) > length:
                best, length = layer, len(prefix)
    return best


def stage_of(module: str) -> str | None:
    """The stage module `module` belongs to, or None outside the stage packages."""
    for package in STAGE_PACKAGES:
        if module.startswith(package + "."):
            return package + "." + module[len(package) + 1 :].split(".")[0]
    return None


def _sibling_stages(module: str, target: str) -> bool:
    """Whether `module`, inside a stage package, imports a stage module not its own."""
    target_stage = stage_of(target)
    if target_stage is None or target_stage == stage_of(module):
        return False
    package = target_stage.rpartition(".")[0]
    return module == package or module.startswith(package + ".")


def imports_of(module: str, modules: dict[str, Path]) -> Iterator[tuple[int, str, list[str], bool]]:
    """(line, module, names taken from it, whether an import) for each use of the package.

    `from moviegenre.x import y` where y is a module counts as an import of moviegenre.x.y;
    imports inside functions count too (they run as well, only later); `y._name` on a
    module imported as `y` takes `_name` from it as an import would.
    """
    tree = ast.parse(modules[module].read_text())
    package = module if modules[module].name == "__init__.py" else module.rpartition(".")[0]
    bound = {}  # local name -> the package module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    yield node.lineno, alias.name, [], True
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != PACKAGE:
                continue
            names = []
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
                    yield node.lineno, f"{source}.{alias.name}", [], True
                else:
                    names.append(alias.name)
            if names:
                yield node.lineno, source, names, True
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
        ):
            yield node.lineno, bound[node.value.id], [node.attr], False


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def import_violations(modules: dict[str, Path] = MODULES) -> list[str]:
    """Each import from a higher layer, from a sibling stage, or of another module's
    private names, as `module:line imports X (why)`; modules without a layer too."""
    problems = []
    for module in modules:
        layer = layer_of(module)
        if layer is None:
            problems.append(f"{module}: no layer (add it to LAYERS in tests/test_structure.py)")
            continue
        for line, target, names, imported in imports_of(module, modules):
            where = f"{module}:{line} {'imports' if imported else 'uses'} {target}"
            target_layer = layer_of(target)
            if imported and target_layer is not None and RANK[target_layer] > RANK[layer]:
                problems.append(f"{where} (layer {layer} -> higher layer {target_layer})")
            if imported and _sibling_stages(module, target):
                problems.append(f"{where} (sibling stage: {module} -> {stage_of(target)})")
            private = [name for name in names if _private(name)]
            if private and target != module:
                problems.append(f"{where} (private names {', '.join(private)})")
    return problems


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    """(qualified name, node) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield name, node
            yield from _functions(node, f"{name}.")
        else:
            yield from _functions(node, prefix)


def long_functions(modules: dict[str, Path] = MODULES) -> list[str]:
    """`module:function N lines` for each function over MAX_FUNCTION_LINES (def to end)."""
    problems = []
    for module, path in modules.items():
        for name, node in _functions(ast.parse(path.read_text())):
            lines = node.end_lineno - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                problems.append(f"{module}:{name} {lines} lines (line {node.lineno})")
    return problems


def _defined_names(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """(name, line) of each public function, class and constant a module defines."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            targets = [node.name]
        elif isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        else:
            continue
        for name in targets:
            if not name.startswith("_"):
                yield name, node.lineno


def _names_used(tree: ast.AST) -> set[str]:
    """Every name a Python file reads: variables, attributes, imported names."""
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            used.update(alias.name for alias in node.names)
    return used


def _names_in_text(path: Path) -> set[str]:
    """The words of a Snakemake file, rule names and comments left out."""
    text = re.sub(r"#[^\n]*", "", path.read_text())
    text = re.sub(r"\b(rule|checkpoint)\s+\w+|\b(rules|checkpoints)\.\w+", "", text)
    return set(re.findall(r"[A-Za-z_]\w*", text))


def _python_users(*folders: str) -> dict[Path, set[str]]:
    return {
        path: _names_used(ast.parse(path.read_text()))
        for folder in folders
        for path in sorted((REPO / folder).rglob("*.py"))
    }


def unused_package_code() -> list[str]:
    """Each public name of the package that nothing shipped reads (the package, scripts/,
    the Snakemake workflow, pyproject's entry points), as `module:line name is used by ...`."""
    package = _python_users("src", "scripts")
    workflow = [REPO / "Snakefile", *sorted((REPO / "workflow").rglob("*.smk"))]
    shipped = set().union(*(_names_in_text(path) for path in workflow))
    shipped |= set(
        re.findall(r"= \"moviegenre[\w.]*:(\w+)\"", (REPO / "pyproject.toml").read_text())
    )
    tests = set().union(*_python_users("tests", "benchmarks").values())
    problems = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        own = _names_used(tree)
        others = set().union(*(names for user, names in package.items() if user != path))
        for name, line in _defined_names(tree):
            if name in own or name in others or name in shipped or f"{module}.{name}" in KEPT:
                continue
            used_by = "only by tests/benchmarks" if name in tests else "by nothing"
            problems.append(f"{module}:{line} {name} is used {used_by}")
    return problems


def test_every_import_points_down_and_no_stage_imports_another() -> None:
    """A higher layer builds on a lower one, never the reverse, and stages share only what
    lives below them: changing a stage cannot break another, and each layer can be read,
    tested and reused without the ones above it."""
    problems = import_violations()
    if problems:
        pytest.fail("imports against the layering:\n" + "\n".join(problems))


def test_no_function_in_the_package_is_over_80_lines() -> None:
    """A function a reader can hold at once: a longer one is split by step."""
    problems = long_functions()
    if problems:
        pytest.fail(f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(problems))


def test_package_code_is_used_by_the_package() -> None:
    """What only tests or benchmarks call lives under tests/ or benchmarks/, and what nothing
    calls is gone: the package holds the code its commands and stages run."""
    problems = unused_package_code()
    if problems:
        pytest.fail("package code its commands and stages never use:\n" + "\n".join(problems))


def test_tests_share_helpers_through_helpers_py_not_conftest() -> None:
    """Shared helpers are found in helper modules (tests/helpers.py and the themed ones beside
    it); conftest.py holds only the fixtures pytest hands to tests by name."""
    importing = re.compile(r"^\s*(from conftest import|import conftest)", re.M)
    offenders = [
        path.name
        for path in sorted((REPO / "tests").rglob("*.py"))
        if importing.search(path.read_text())
    ]
    assert not offenders


def imports_of_test_modules(folder: Path) -> list[str]:
    """`file:line imports name` for each import, at module level or in a function, of a
    test module (or a `test_*` name) by a Python file under `folder`."""
    problems = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(alias.name for alias in node.names)]
            else:
                continue
            for name in names:
                if any(part.startswith("test_") for part in name.split(".")):
                    where = path.relative_to(folder.parent)
                    problems.append(f"{where}:{node.lineno} imports {name}")
    return problems


def test_no_test_module_imports_another_test_module() -> None:
    """What test modules share lives in a helper module named for what it holds (helpers.py,
    media.py, bundles.py, ...), never in a test module another one imports: each test
    module stands alone, and a shared helper is found where its theme says."""
    problems = imports_of_test_modules(REPO / "tests")
    if problems:
        pytest.fail(
            "test modules importing test modules (move the shared names to a helper module):\n"
            + "\n".join(problems)
        )


# ---- the checks check what they should ---------------------------------------------------


def _package(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return _modules(root)


def test_the_import_check_finds_each_kind_of_violation(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "__init__.py": "__version__ = '1'\n",
            "paths.py": "from moviegenre import __version__\nfrom moviegenre.cli import main\n",
            "cli.py": "from moviegenre.pipeline import a\n\ndef main(): ...\n",
            "extra.py": "",
            "predict.py": "from moviegenre.features.decode import probe\n",
            "classify/__init__.py": "from moviegenre import predict\n",
            "data/__init__.py": "",
            "data/lmtd.py": (
                "from moviegenre.features import shards\n"
                "def f():\n    from moviegenre.features.extract import visual_metadata\n"
            ),
            "features/__init__.py": "",
            "features/shards.py": "from moviegenre.features.decode import probe\n",
            "features/extract.py": "def visual_metadata(): ...\n",
            "features/decode.py": "def _open(): ...\ndef probe(): ...\n",
            "features/sound.py": (
                "from moviegenre.features.decode import _open, probe\n"
                "from moviegenre.features import decode as dec\n"
                "dec.probe()\ndec._origin_s()\n"
            ),
            "pipeline/__init__.py": "from moviegenre import paths\n",
            "pipeline/a.py": "from moviegenre.pipeline import b\nfrom .b import run\n",
            "pipeline/b.py": "from .. import paths\nfrom . import __doc__\n\ndef run(): ...\n",
        },
    )
    assert import_violations(modules) == [
        "moviegenre.data.lmtd:3 imports moviegenre.features.extract"
        " (layer import -> higher layer extraction)",
        "moviegenre.extra: no layer (add it to LAYERS in tests/test_structure.py)",
        "moviegenre.features.sound:1 imports moviegenre.features.decode (private names _open)",
        "moviegenre.features.sound:4 uses moviegenre.features.decode (private names _origin_s)",
        "moviegenre.paths:2 imports moviegenre.cli (layer base -> higher layer cli)",
        "moviegenre.pipeline.a:1 imports moviegenre.pipeline.b"
        " (sibling stage: moviegenre.pipeline.a -> moviegenre.pipeline.b)",
        "moviegenre.pipeline.a:2 imports moviegenre.pipeline.b"
        " (sibling stage: moviegenre.pipeline.a -> moviegenre.pipeline.b)",
    ]


def test_the_length_check_counts_from_def_to_last_line(tmp_path: Path) -> None:
    body = "    x = 1\n"
    modules = _package(
        tmp_path,
        {
            "__init__.py": "",
            "paths.py": "def fits():\n"
            + body * 79
            + "\n\nclass A:\n    def long():\n"
            + ("    " + body) * 80,
        },
    )
    assert long_functions(modules) == ["moviegenre.paths:A.long 81 lines (line 84)"]


def test_every_layer_names_modules_that_exist_or_are_planned() -> None:
    """A layer entry that matches nothing is a typo (classify is announced, not yet here)."""
    planned = {"moviegenre.classify"}
    for _, prefixes in LAYERS:
        for prefix in prefixes:
            assert prefix in MODULES or prefix in planned, prefix


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("moviegenre", "base"),
        ("moviegenre.dataset_files", "formats"),
        ("moviegenre.dataset", "assembly"),
        ("moviegenre.data.labels", "data"),
        ("moviegenre.data.lmtd", "import"),
        ("moviegenre.features.shards", "features"),
        ("moviegenre.features.extract", "extraction"),
        ("moviegenre.classify", "commands"),
        ("moviegenre.classify.archive", "commands"),
        ("moviegenre.predict", "commands"),
        ("moviegenre.pipeline.fuse", "stages"),
        ("moviegenre.pipeline", "stages"),
        ("moviegenre.cli", "cli"),
        ("moviegenre.nowhere", None),
    ],
)
def test_a_module_takes_the_layer_of_its_longest_prefix(module: str, layer: str | None) -> None:
    assert layer_of(module) == layer


def test_stages_are_the_modules_inside_a_stage_package() -> None:
    assert stage_of("moviegenre.pipeline.fuse") == "moviegenre.pipeline.fuse"
    assert stage_of("moviegenre.pipeline") is None
    assert stage_of("moviegenre.predict") is None
    assert _sibling_stages("moviegenre.pipeline.audio_svm", "moviegenre.pipeline.fuse")
    assert _sibling_stages("moviegenre.pipeline", "moviegenre.pipeline.fuse")
    assert not _sibling_stages("moviegenre.pipeline.fuse", "moviegenre.pipeline")
    assert not _sibling_stages("moviegenre.cli", "moviegenre.pipeline.fuse")
