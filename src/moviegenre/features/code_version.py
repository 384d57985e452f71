"""A version of the feature code that follows the values it computes, not its bytes.

Snakemake reruns a shard job when its rule's ``code`` parameter changes (a rule reruns
when its script changes, not when the package modules it calls do), and the feature store
keys each trailer's features on this version. So it must change when, and only when, an
edit can change the features of its modality:

- only the *value modules* of a modality count: what decodes, samples, resamples and
  computes (``VALUE_MODULES``). The shard driver, the Parquet writer, the status CSV and
  the report (``NEUTRAL_MODULES``) shape no value; tests/test_code_version.py traces a real
  shard job to hold every module that runs to one list or the other, and checks the shard
  path's output against golden values under the same version;
- each value module counts by its syntax tree, written out in a canonical form: comments,
  formatting, docstrings, function annotations and logging calls whose arguments cannot
  change anything (names, constants, attributes, arithmetic, a few pure built-ins) are
  left out, so editing them re-extracts nothing;
- ``EPOCH`` is bumped by hand for a change the modules cannot show (e.g. a new library
  release that decodes differently).
"""

from __future__ import annotations

import ast
import hashlib
from importlib import resources

#: the modules whose code computes each modality's values (features/)
VALUE_MODULES: dict[str, tuple[str, ...]] = {
    "visual": ("decode.py", "timestamps.py", "trailer.py", "backbones.py", "embedding.py"),
    "audio": (
        "decode.py",
        "trailer.py",
        "sound.py",
        "resample.py",
        "audio.py",
        "audio_layout.py",
    ),
}
#: modules a shard job runs that cannot change a value (driver, writer, status, report)
NEUTRAL_MODULES = (
    "extract.py",
    "shards.py",
    "shard_metadata.py",  # what a shard records about its settings
    "status.py",
    "report.py",
    "code_version.py",
    "store.py",  # keeps values by content hash; computes none
    "isolation.py",  # runs a value function in a child process; returns its result as is
)
#: bump to re-extract a modality for a reason its modules do not show
EPOCH = {"visual": 1, "audio": 1}

_LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical", "log"})
# built-ins that compute without side effects: a logging call using only these is dropped
_PURE_BUILTINS = frozenset({"len", "str", "repr", "int", "float", "round", "abs", "min", "max"})
_PURE_NODES = (
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Tuple,
    ast.List,
    ast.Starred,
    ast.keyword,
    ast.Load,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
)


def _loggers(tree: ast.Module) -> set[str]:
    """Module-level names bound to ``logging.getLogger(...)``."""
    names = set()
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "getLogger"
            and isinstance(node.value.func.value, ast.Name)
            and node.value.func.value.id == "logging"
        ):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _pure(node: ast.AST) -> bool:
    """True when evaluating ``node`` cannot change any state (so dropping it is safe)."""
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            if not (isinstance(func, ast.Name) and func.id in _PURE_BUILTINS):
                return False
        elif not isinstance(child, _PURE_NODES):
            return False
    return True


def _is_logging(statement: ast.stmt, loggers: set[str]) -> bool:
    """``log.info("...", x)`` (a module logger or ``logging``) with side-effect-free args."""
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
        return False
    call = statement.value
    func = call.func
    if not (
        isinstance(func, ast.Attribute)
        and func.attr in _LOG_METHODS
        and isinstance(func.value, ast.Name)
        and func.value.id in loggers | {"logging"}
    ):
        return False
    return all(_pure(arg) for arg in [*call.args, *call.keywords])


def _is_constant(statement: ast.stmt) -> bool:
    """A bare constant (a docstring, ``...``): a statement that does nothing."""
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


class _Normalise(ast.NodeTransformer):
    """Drops what cannot change a value: docstrings and other bare constants, ``pass``,
    function annotations, pure logging calls (a body left empty becomes ``pass``)."""

    def __init__(self, loggers: set[str]) -> None:
        self.loggers = loggers

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            kept = [
                s
                for s in body
                if not (isinstance(s, ast.Pass) or _is_constant(s) or _is_logging(s, self.loggers))
            ]
            if not kept and field == "body":  # an empty `else:` or `finally:` is none at all
                kept = [ast.Pass()]
            setattr(node, field, kept)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
        if isinstance(node, ast.arg):
            node.annotation = None
        return node


def _canonical(node: object) -> str:
    """A node as text: type and fields, omitting empty ones, so the form is the same on
    Python versions that add optional fields (3.12's ``type_params``)."""
    if isinstance(node, ast.AST):
        parts = []
        for name in node._fields:
            value = getattr(node, name, None)
            if value is None or value == []:
                continue
            parts.append(f"{name}={_canonical(value)}")
        return f"{type(node).__name__}({','.join(parts)})"
    if isinstance(node, list):
        return "[" + ",".join(_canonical(item) for item in node) + "]"
    return repr(node)


def canonical_source(source: str) -> str:
    """The value-relevant content of a module's source, in a canonical text form."""
    tree = ast.parse(source)
    return _canonical(_Normalise(_loggers(tree)).visit(tree))


def feature_code_version(kind: str) -> str:
    """Short SHA-256 of the `visual` or `audio` value code (canonical syntax trees)."""
    digest = hashlib.sha256(f"epoch {EPOCH[kind]}\n".encode())
    package = resources.files("moviegenre.features")
    for name in VALUE_MODULES[kind]:
        digest.update(f"{name}\n".encode())
        digest.update(canonical_source(package.joinpath(name).read_text("utf-8")).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]
