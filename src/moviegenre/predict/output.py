"""`predict --output FILE`: written as each trailer finishes, resumed by the next run."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

from moviegenre.atomic import write_text_atomic
from moviegenre.predict.render import (
    CSV_FIXED,
    as_record,
    counts_line,
    csv_line,
    csv_row,
    jsonl_record,
    table_block,
    table_header,
)
from moviegenre.predict.result import Counts, TrailerResult

#: --format json with --output: the document is rewritten (atomically) after this many new
#: trailers or seconds, and at the end
JSON_EVERY, JSON_EVERY_S = 10, 30.0


class OutputMismatch(RuntimeError):
    """--output holds rows another bundle or model made (or is not a predict output)."""


def _key(path: str) -> str:
    """What matches a file recorded in --output with an input: its absolute path."""
    return os.path.normpath(os.path.abspath(path))


class OutputFile:
    """`predict --output FILE`: each trailer's result is written when it is scored, so a
    killed run keeps the trailers already done, and the same command run again skips them.

    csv and jsonl get one line per trailer (one write call, flushed and fsynced: a kill
    leaves at most a partial last line, which the next run drops); table gets its blocks as
    they finish and the counts at the end; json, a single document, is rewritten atomically
    every JSON_EVERY trailers or JSON_EVERY_S seconds and at the end. Rows record the model
    and the bundle (bundle_id); rows of another bundle or model are refused (OutputMismatch)
    unless ``redo``, which starts the file afresh.
    """

    def __init__(self, path: Path, fmt: str, context: dict[str, Any], redo: bool = False):
        self.path, self.format, self.context, self.redo = path, fmt, context, redo
        self.done: dict[str, tuple[bool, bool]] = {}  # key -> (ok, audio_missing)
        self._keep = 0  # bytes of the existing file to keep (a torn last line is dropped)
        self._records: list[dict[str, Any]] = []  # json only: the document's entries
        self._fd: int | None = None
        self._unsaved, self._saved_at = 0, time.monotonic()

    # -- what is there already --

    def read(self) -> None:
        """Read what a previous run left (nothing with ``redo``); OutputMismatch if its rows
        are not this bundle's and model's."""
        if self.redo or not self.path.is_file() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        try:
            if self.format == "json":
                self._read_json(data.decode("utf-8"))
                return
            self._keep = data.rfind(b"\n") + 1  # a partial last line is dropped
            text = data[: self._keep].decode("utf-8")
            {"csv": self._read_csv, "jsonl": self._read_jsonl, "table": self._read_table}[
                self.format
            ](text)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._mismatch(f"it is not a {self.format} output of predict ({exc})") from exc

    def _mismatch(self, what: str) -> OutputMismatch:
        return OutputMismatch(
            f"--output {self.path} was not made with this bundle and model "
            f"(model {self.context['model']}, bundle {self.context['bundle']} "
            f"{self.context['bundle_id']}): {what}; use --redo to start it afresh, "
            "or another --output"
        )

    def _check(self, model: Any, bundle: Any) -> None:
        if model != self.context["model"] or bundle != self.context["bundle_id"]:
            raise self._mismatch(f"it holds rows of model {model}, bundle {bundle}")

    def _record(self, path: str, ok: bool, audio_missing: bool) -> None:
        self.done[_key(path)] = (ok, audio_missing)

    def _read_csv(self, text: str) -> None:
        lines = text.splitlines()
        if not lines:
            return
        header = next(csv.reader([lines[0]]))
        if header != [*CSV_FIXED, *self.context["genres"]]:
            raise self._mismatch("its columns are not this bundle's")
        for row in csv.reader(lines[1:]):
            if len(row) != len(header):
                raise ValueError(f"a row has {len(row)} fields, not {len(header)}")
            rec = dict(zip(header, row, strict=True))
            self._check(rec["model"], rec["bundle_id"])
            self._record(rec["path"], rec["status"] == "ok", rec["audio_missing"] == "true")

    def _read_jsonl(self, text: str) -> None:
        for line in text.splitlines():
            rec = json.loads(line)
            self._check(rec["model"], rec["bundle_id"])
            self._record(rec["path"], rec["status"] == "ok", bool(rec.get("audio_missing")))

    def _read_json(self, text: str) -> None:
        payload = json.loads(text)
        self._check(payload["model"], payload.get("bundle_id"))
        self._records = list(payload["trailers"])
        for rec in self._records:
            self._record(rec["path"], rec["status"] == "ok", bool(rec.get("audio_missing")))

    def _read_table(self, text: str) -> None:
        lines = text.split("\n")[:-1]
        header = [*table_header(self.context), self._bundle_line()]
        if lines[: len(header)] != header:
            raise self._mismatch("its first lines name another model or bundle")
        offset = sum(len(line.encode()) + 1 for line in lines[: len(header)])
        self._keep = offset  # up to the end of the last whole block: counts lines go
        for i in range(len(header), len(lines)):
            offset += len(lines[i].encode()) + 1
            line = lines[i]
            if not line.startswith("  "):
                continue
            self._keep = offset
            if lines[i - 1] and not lines[i - 1].startswith(" ") and not lines[i - 2]:
                failed = line.startswith("  not predicted: ")
                self._record(lines[i - 1], not failed, line.startswith("  audio missing"))

    def _bundle_line(self) -> str:
        return f"bundle {self.context['bundle']} ({self.context['bundle_id']})"

    def skips(self, path: str | Path) -> tuple[bool, bool] | None:
        """(ok, audio_missing) of a file this output already holds, else None."""
        return self.done.get(_key(str(path)))

    # -- writing --

    def open(self) -> None:
        """Start writing: the file afresh (or cut to its whole lines), and its header."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "json":
            self._save()
            return
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.ftruncate(self._fd, self._keep)
        if self._keep == 0:
            if self.format == "csv":
                self._write(csv_line([*CSV_FIXED, *self.context["genres"]]))
            elif self.format == "table":
                self._write("\n".join([*table_header(self.context), self._bundle_line()]) + "\n")

    def _write(self, text: str) -> None:
        """One write call, then to disk: a kill leaves whole lines and at most one torn."""
        assert self._fd is not None
        data = text.encode("utf-8")
        while data:
            data = data[os.write(self._fd, data) :]
        os.fsync(self._fd)

    def add(self, r: TrailerResult) -> None:
        """Write one file's result (json: into the document, saved now and then)."""
        if self.format == "csv":
            self._write(csv_line(csv_row(r, self.context)))
        elif self.format == "jsonl":
            self._write(json.dumps(jsonl_record(r, self.context)) + "\n")
        elif self.format == "table":
            self._write("\n" + "\n".join(table_block(r, self.context)) + "\n")
        else:
            self._records.append(as_record(r, self.context))
            self._unsaved += 1
            late = time.monotonic() - self._saved_at >= JSON_EVERY_S
            if self._unsaved >= JSON_EVERY or late:
                self._save()

    def _save(self) -> None:
        """Rewrite the JSON document (atomically) with every entry so far and its counts."""
        counts = Counts()
        for r in self._records:
            counts.add(r["status"] == "ok", bool(r.get("audio_missing")))
        payload = {**self.context, "summary": counts.summary(), "trailers": self._records}
        write_text_atomic(self.path, json.dumps(payload, indent=2) + "\n")
        self._unsaved, self._saved_at = 0, time.monotonic()

    def close(self, counts: dict[str, int]) -> None:
        """The end of the run: the counts (table), the whole document (json)."""
        if self.format == "json":
            self._save()
        elif self.format == "table":
            self._write("\n" + counts_line(counts) + "\n")
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
