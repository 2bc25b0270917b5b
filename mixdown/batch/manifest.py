"""A batch manifest: a JSONL file (one job per line) or a folder of ``.json`` files (one job each, by name).

Each job is ``{"kind": "twoshot" | "twistedwave" | "songclip", ...}`` with the body and options the single-job
command takes. Relative paths in a job are relative to the manifest's folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from mixdown.api_compat.fields import shown
from mixdown.api_compat.json_input import parse_json
from mixdown.errors import InvalidInputError

if TYPE_CHECKING:
    from mixdown.api_compat.twistedwave.confine import Confinement

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


#: What each kind of job must name (any one of a tuple), and the type each of those fields holds.
REQUIRED = {"twoshot": (("project", "project_file"), ("library",)), "songclip": (("spec",), ("song",)),
            "twistedwave": (("job",),)}
PATH_FIELDS = ("project_file", "library", "song", "store", "output")


def _check_fields(body: dict, where: str) -> None:
    for names in REQUIRED[body["kind"]]:
        if not any(name in body for name in names):
            raise InvalidInputError(f"a {body['kind']} job needs {' or '.join(names)}", field=f"{where}.{names[0]}")
    for name in PATH_FIELDS:
        if name in body and (not isinstance(body[name], str) or not body[name] or "\0" in body[name]):
            raise InvalidInputError(f"must be a path (a non-empty string), got {shown(body[name])}",
                                    field=f"{where}.{name}")
    if body["kind"] == "twistedwave" and not isinstance(body["job"], dict):
        raise InvalidInputError(f"must be a TwistedWave job object, got {type(body['job']).__name__}",
                                field=f"{where}.job")
    if "output" in body:
        output = PurePath(body["output"])
        if output.is_absolute() or ".." in output.parts or output.name in ("", "."):
            raise InvalidInputError(f"must be a file name inside --out, got {shown(body['output'])}",
                                    field=f"{where}.output")


def _job(index: int, raw: bytes, base: Path, where: str) -> Job:
    body = parse_json(raw, where, name=where)
    if not isinstance(body, dict):
        raise InvalidInputError(f"a job is a JSON object, got {type(body).__name__}", field=where)
    if body.get("kind") not in KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(KINDS)}, got {shown(body.get('kind'))}",
                                field=f"{where}.kind")
    _check_fields(body, where)
    return Job(index, body, base, where)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidInputError(f"cannot read {str(path)!r}: {error.strerror or error}", field="manifest") from None


def _unique_outputs(jobs: list[Job], confinement: Confinement | None) -> None:
    """Two jobs writing one output would each report ok while one overwrote the other: refused."""
    from mixdown.batch.kinds import output_name

    seen: dict[str, Job] = {}
    for job in jobs:
        name = os.path.normcase(os.path.normpath(output_name(job.index, job.body, job.base, confinement)))
        if name in seen:
            raise InvalidInputError(f"writes {name!r}, as {seen[name].source} does", field=f"{job.source}.output")
        seen[name] = job


def read_manifest(path: str | Path, confinement: Confinement | None = None) -> list[Job]:
    """Every job in ``path``, in order; a malformed job is an error naming its line or file, and so are two
    jobs writing the same output. A job's default output name may read its TwoShot ``project_file`` for
    the format, only inside ``confinement`` when one is given (``mixdown batch --allow-root``)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        jobs = [_job(i, _read(f), path, f.name) for i, f in enumerate(files)]
    elif path.is_file():
        jobs = []
        for number, line in enumerate(_read(path).splitlines(), start=1):
            if line.strip():
                jobs.append(_job(len(jobs), line, path.parent, f"line {number}"))
    else:
        raise InvalidInputError(f"no such manifest: {str(path)!r}", field="manifest")
    _unique_outputs(jobs, confinement)
    return jobs
