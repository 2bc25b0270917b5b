"""A TwistedWave job as one job of a batch: run it to its end, its output landing at the batch's target."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from mixdown.api_compat.twistedwave.confine import Confinement
from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.api_compat.twistedwave.service import TwistedWave
from mixdown.formats.probe import probe
from mixdown.formats.spec import parse_output


def _local(base: Path, url: str) -> str:
    """A relative path in a manifest is relative to the manifest's folder; URLs pass through."""
    if "://" in url or Path(url).is_absolute():
        return url
    return str(base / url)


def run_batch_job(body: dict[str, Any], base: Path, target: Path,
                  confinement: Confinement | None = None) -> tuple[dict, float, Path]:
    """Run ``body["job"]`` on the store ``body["store"]`` (default: beside the outputs) to its end.

    With a ``confinement`` (``mixdown batch --allow-root``), the job's urls and its store must lie inside
    its roots, and its http hosts be public, as for ``mixdown job``: a manifest from elsewhere can read
    and write only where it was allowed to.

    An output without a ``url`` is written to ``target`` (given the format's extension). Returns the
    finished job object, the seconds of audio exported and the file written (``target`` unless the job
    names its own local ``url``; nothing for an http one); a job that ends failed or cancelled raises
    :class:`TwistedWaveError` with its error.
    """
    job = copy.deepcopy(body.get("job"))
    if not isinstance(job, dict):
        raise TwistedWaveError("a twistedwave batch job needs a job object", param="job")
    document = job.get("document")
    if isinstance(document, dict) and isinstance(document.get("url"), str):
        document["url"] = _local(base, document["url"])
    output = job.get("output")
    if isinstance(output, dict):
        if "url" in output and isinstance(output["url"], str):
            output["url"] = _local(base, output["url"])
        else:
            if not target.suffix:
                target = target.with_suffix(Path(parse_output(output).filename).suffix)
            output["url"] = str(target)
    store = Path(_local(base, body["store"])) if "store" in body else target.parent / ".twistedwave-store"
    if confinement is not None:
        store = confinement.check_path(store, "store")
    service = TwistedWave(store, confinement=confinement)
    try:
        reply = service.submit(job)
    finally:
        service.close()
    if reply["state"] != "completed":
        raise TwistedWaveError(f"job {reply['id']} ended {reply['state']}: {reply.get('error')}", param="job")
    url = (reply.get("output") or {}).get("url") or ""
    written = Path(url.removeprefix("file://")) if "://" not in url or url.startswith("file://") else target
    seconds = probe(written).duration if written.is_file() else 0.0
    return reply, seconds, written
