"""What `moviegenre predict` prints: the run's description and the four output formats.

table (readable, per trailer), json (one document), jsonl and csv (a line per file, which
`--output` appends as each trailer finishes: moviegenre.predict.output).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from moviegenre.bundle import MANIFEST, Bundle, ResolvedModel, sha256_of
from moviegenre.fusion.policy import TRAIN_PREVALENCE, VISUAL_SCORES
from moviegenre.predict.result import TrailerResult, summary

FORMATS = ("table", "json", "jsonl", "csv")
CSV_FIXED = ("path", "trailer_id", "model", "status", "reason", "detail", "audio_missing")
CSV_FIXED += ("audio_reason", "fallback", "predicted", "bundle_id")


def score_basis(kind: str, fusion_protocol: str | None) -> str:
    """What the bundle's train+valid ("oof") figure of a `kind` model is, honestly named.

    Visual models are cross-fitted under every protocol, and the audio SVMs' scores are
    their own inner cross-validation's; a fusion's are out-of-fold only under
    `fusion.protocol: oof`: under `original` its SVMs read in-sample visual scores.
    """
    if kind != "fusion" or fusion_protocol == "oof":
        return "out-of-fold"
    if fusion_protocol == "original":
        return "in-sample (fusion.protocol original)"
    return "train+valid"  # a bundle that does not record its protocol


def fallback_note(model: ResolvedModel) -> str:
    """'' for a model with fitted SVMs (or a visual model); else what its scores really are."""
    if model.trained_with_audio:
        return ""
    if model.kind == "audio":
        return (
            f"{model.name} is a fallback: no SVM was fitted (no training trailer had audio); "
            "its scores are each genre's training prevalence, the same for every trailer"
        )
    return (
        f"{model.name} is a fallback: no SVM was fitted (no training trailer had audio); its "
        f"scores are {model.visual_model}'s"
    )


def bundle_id(bundle: Bundle) -> str:
    """The first 16 hex digits of the manifest's sha256: which bundle (and build of it)
    made an output file's rows."""
    return sha256_of(bundle.directory / MANIFEST)[:16]


def describe(bundle: Bundle, model: str | ResolvedModel | None = None) -> dict[str, Any]:
    """What every output format states about the run: model, thresholds, backbone.

    ``model``: a name (default: the bundle's default) or the run's resolved model."""
    if not isinstance(model, ResolvedModel):
        model = bundle.resolve(model)  # BundleError naming the choices for an unknown name
    manifest = bundle.manifest
    valid = manifest["metrics"]["valid"].get(model.name) or {}
    oof = (manifest["metrics"].get("oof") or {}).get(model.name) or {}
    return {
        "bundle": str(bundle.directory),
        "bundle_id": bundle_id(bundle),
        "model": model.name,
        "default_model": bundle.default_model,
        "visual_model": model.visual_model,
        "valid_auprc_macro": valid.get("auprc_macro"),
        "oof_auprc_macro": oof.get("auprc_macro"),
        "oof_basis": score_basis(model.kind, bundle.fusion_protocol),
        "fusion_protocol": bundle.fusion_protocol,
        "fallback": fallback_note(model) or None,
        "threshold_split": manifest["thresholds"].get("split"),
        "genres": bundle.genres,
        "thresholds": {g: float(t) for g, t in zip(bundle.genres, model.thresholds, strict=True)},
        "backbone": {k: manifest["backbone"][k] for k in ("name", "weights")},
    }


def fallback_text(result: TrailerResult, context: dict[str, Any]) -> str:
    """What a result without sound was given instead ('' when it had sound)."""
    if result.fallback == VISUAL_SCORES:
        return f"{context['model']} used {context['visual_model']}'s visual scores"
    if result.fallback == TRAIN_PREVALENCE:
        return "audio model gave the training prevalence"
    return ""


def table_block(r: TrailerResult, context: dict[str, Any]) -> list[str]:
    """One trailer's lines of the table: its path, genres and every probability; a failed
    file's reason (render_table lists those at the end, a streamed table in place)."""
    if not r.ok:
        return [r.path, f"  not predicted: {r.reason}: {r.detail}"]
    genres = context["genres"]
    width = max(len("genre"), *(len(g) for g in genres))
    lines = [r.path]
    if r.audio_missing:
        lines.append(f"  audio missing ({r.audio_reason}): {fallback_text(r, context)}")
    lines.append(f"  genres: {', '.join(r.predicted) if r.predicted else '(none above threshold)'}")
    lines.append(f"  {'genre':<{width}}  probability  threshold")
    for g, p in zip(genres, r.probabilities, strict=True):
        t = context["thresholds"][g]
        bar = "#" * int(round(float(p) * 20))
        mark = "*" if p >= t else " "
        lines.append(f"  {g:<{width}}  {p:11.3f}  {t:9.3f} {mark} {bar}")
    return lines


def table_header(context: dict[str, Any]) -> list[str]:
    """The model line (and the fallback note) every table starts with."""
    rule = "default" if context["model"] == context["default_model"] else "chosen"
    score, where = context.get("oof_auprc_macro"), context.get("oof_basis", "out-of-fold")
    if score is None:
        score, where = context["valid_auprc_macro"], "validation"
    score_text = f", {where} AU-PRC macro {score:.3f}" if score is not None else ""
    lines = [
        f"model {context['model']} ({rule}{score_text}); thresholds from the "
        f"{context['threshold_split']} split; backbone {context['backbone']['name']} "
        f"(weights {context['backbone']['weights']})"
    ]
    if context.get("fallback"):
        lines.append(f"note: {context['fallback']}")
    return lines


def counts_line(counts: dict[str, int]) -> str:
    """The table's line of counts (result.Counts.summary)."""
    return (
        f"{counts['files']} files: {counts['predicted']} predicted, {counts['failed']} failed"
        + (f", {counts['audio_missing']} without audio" if counts["audio_missing"] else "")
    )


def render_table(results: Sequence[TrailerResult], context: dict[str, Any]) -> str:
    """Per trailer: the genres above threshold, then every genre's probability."""
    lines = table_header(context)
    lines.insert(1, counts_line(summary(results)))
    for r in results:
        if r.ok:
            lines.append("")
            lines.extend(table_block(r, context))
    failed = [r for r in results if not r.ok]
    if failed:
        lines.append("")
        lines.append(f"not predicted ({len(failed)}):")
        lines.extend(f"  {r.path}: {r.reason}: {r.detail}" for r in failed)
    return "\n".join(lines) + "\n"


def as_record(r: TrailerResult, context: dict[str, Any]) -> dict[str, Any]:
    """A file's entry in the JSON document."""
    record: dict[str, Any] = {
        "path": r.path,
        "trailer_id": r.trailer_id,
        "status": "ok" if r.ok else "error",
    }
    if not r.ok:
        record.update(reason=r.reason, detail=r.detail)
        return record
    record.update(
        predicted=list(r.predicted),
        probabilities={
            g: float(p) for g, p in zip(context["genres"], r.probabilities, strict=True)
        },
        audio_missing=r.audio_missing,
        audio_reason=r.audio_reason or None,
        fallback=r.fallback or None,
        silent=r.silent,
        audio_flags=r.audio_flags or None,
        seconds=round(r.seconds, 3),
    )
    return record


def render_json(results: Sequence[TrailerResult], context: dict[str, Any]) -> str:
    """One document: the run's description, the counts, and an entry per file."""
    payload = {
        **context,
        "summary": summary(results),
        "trailers": [as_record(r, context) for r in results],
    }
    return json.dumps(payload, indent=2) + "\n"


def csv_row(r: TrailerResult, context: dict[str, Any]) -> list[str]:
    """A file's CSV row (no field holds a line break: one row is one line)."""
    row = [r.path, r.trailer_id, context["model"], "ok" if r.ok else "error"]
    row += [r.reason, r.detail, str(r.audio_missing).lower(), r.audio_reason, r.fallback]
    row += [";".join(r.predicted), context.get("bundle_id", "")]
    row = [" ".join(field.splitlines()) for field in row]
    row += [repr(float(p)) for p in r.probabilities] if r.ok else [""] * len(context["genres"])
    return row


def csv_line(fields: Sequence[str]) -> str:
    """One CSV line (with its line break)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


def render_csv(results: Sequence[TrailerResult], context: dict[str, Any]) -> str:
    """One row per file; genre columns hold probabilities (empty for failed files)."""
    lines = [csv_line([*CSV_FIXED, *context["genres"]])]
    lines += [csv_line(csv_row(r, context)) for r in results]
    return "".join(lines)


def jsonl_record(r: TrailerResult, context: dict[str, Any]) -> dict[str, Any]:
    """The JSON document's entry for a file, with the model and bundle that made it."""
    record = as_record(r, context)
    return {
        "path": record.pop("path"),
        "trailer_id": record.pop("trailer_id"),
        "model": context["model"],
        "bundle_id": context.get("bundle_id"),
        **record,
    }


def render_jsonl(results: Sequence[TrailerResult], context: dict[str, Any]) -> str:
    """JSON Lines: one object per file (the JSON document's entries, with model and bundle)."""
    return "".join(json.dumps(jsonl_record(r, context)) + "\n" for r in results)


RENDERERS = {
    "table": render_table,
    "json": render_json,
    "jsonl": render_jsonl,
    "csv": render_csv,
}
