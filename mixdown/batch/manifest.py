"""A batch manifest: a JSONL file (one job per line) or a folder of ``.json`` files (one job each, by name).

Each job is ``{"kind": "twoshot" | "twistedwave" | "songclip", ...}`` with the body and options the single-job
command takes. Relative paths in a job are relative to the manifest's folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mixdown.errors import InvalidInputError

KINDS = ("twoshot", "twistedwave", "songclip")


@dataclass(frozen=True)
class Job:
    index: int
    body: dict
    base: Path
    source: str

    @property
    def kind(self) -> str:
        return self.body["kind"]

    @property
    def name(self) -> str:
        return str(self.body.get("id", f"{self.index:05d}"))


def _job(index: int, raw: str, base: Path, where: str) -> Job:
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"malformed JSON: {error}", field=where) from None
    if not isinstance(body, dict):
        raise InvalidInputError("a job is a JSON object", field=where)
    if body.get("kind") not in KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(KINDS)}, got {body.get('kind')!r}",
                                field=f"{where}.kind")
    return Job(index, body, base, where)


def read_manifest(path: str | Path) -> list[Job]:
    """Every job in ``path``, in order; a malformed job is an error naming its line or file."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json")
        return [_job(i, f.read_text(encoding="utf-8"), path, f.name) for i, f in enumerate(files)]
    if not path.is_file():
        raise InvalidInputError(f"no such manifest: {str(path)!r}", field="manifest")
    jobs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            jobs.append(_job(len(jobs), line, path.parent, f"line {number}"))
    return jobs
