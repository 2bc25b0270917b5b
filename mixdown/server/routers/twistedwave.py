"""TwistedWave's API (``https://twistedwave.com`` -> ``http://HOST:PORT/twistedwave``): jobs and documents.

Every route is the adapter's service method of the same name over the server's store
(``HOME/twistedwave``); a created job runs in a worker, so its ``state`` moves through ``importing``,
``editing``, ``exporting`` to ``completed`` while the client polls. Job urls are confined to ``--home``
and the ``--allow-root`` folders, and to public http hosts unless ``--allow-private-http``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from mixdown.api_compat.twistedwave.errors import TwistedWaveError
from mixdown.api_compat.twistedwave.service import DEFAULT_LIMIT, MAX_LIMIT, TwistedWave
from mixdown.server.auth import require_key
from mixdown.server.bodies import json_body
from mixdown.server.work import run_twistedwave

router = APIRouter(prefix="/twistedwave/online/api", tags=["TwistedWave"], dependencies=[Depends(require_key)])


def service(request: Request) -> TwistedWave:
    return request.app.state.twistedwave


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit():
        raise TwistedWaveError(f"must be a whole number from 1 to {MAX_LIMIT}, got {value[:40]!r}", param="limit")
    return int(value)


def _flag(value: str | None, param: str) -> bool:
    if value is None:
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise TwistedWaveError(f"must be true or false, got {value[:40]!r}", param=param)
    return value.lower() in ("true", "1")


def start(app_state: Any, job_id: str) -> None:
    """Run a job in a worker (its state is in the store; the worker's result needs no recording)."""
    tw: TwistedWave = app_state.twistedwave
    app_state.queue.submit(run_twistedwave, str(tw.store.folder), job_id, app_state.twistedwave_options)


@router.post("/jobs", summary="Create a new job")
async def create_job(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    job = await run_in_threadpool(service(request).create_job, body)
    try:
        start(request.app.state, job["id"])
    except BaseException:
        service(request).cancel_job(job["id"])
        raise
    return job


@router.get("/jobs", summary="List all jobs (limit, starting_after, document)")
def list_jobs(request: Request) -> dict[str, Any]:
    query = request.query_params
    return service(request).list_jobs(limit=_limit(query.get("limit")), starting_after=query.get("starting_after"),
                                      document=query.get("document"))


@router.get("/jobs/{job_id}", summary="Get a specific job")
def get_job(request: Request, job_id: str) -> dict[str, Any]:
    return service(request).get_job(job_id)


@router.put("/jobs/{job_id}/cancel", summary="Cancel a job")
def cancel_job(request: Request, job_id: str) -> dict[str, Any]:
    return service(request).cancel_job(job_id)


@router.get("/jobs/{job_id}/download", summary="Download the output from a job", response_class=FileResponse)
def download(request: Request, job_id: str) -> Any:
    folder = Path(tempfile.mkdtemp(prefix="download-", dir=request.app.state.state.folder("tmp")))
    try:
        path = service(request).download(job_id, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, filename=path.name, background=BackgroundTask(shutil.rmtree, folder, True))


@router.get("/documents", summary="List all documents (limit, starting_after, include_deleted)")
def list_documents(request: Request) -> dict[str, Any]:
    query = request.query_params
    return service(request).list_documents(limit=_limit(query.get("limit")),
                                           starting_after=query.get("starting_after"),
                                           include_deleted=_flag(query.get("include_deleted"), "include_deleted"))


@router.get("/documents/{doc_id}", summary="Get a specific document")
def get_document(request: Request, doc_id: str) -> dict[str, Any]:
    return service(request).get_document(doc_id)


@router.delete("/documents/{doc_id}", summary="Delete a document")
def delete_document(request: Request, doc_id: str) -> dict[str, Any]:
    return service(request).delete_document(doc_id)


def resume(app_state: Any) -> list[str]:
    """Release the jobs a stopped server left active, and run them again."""
    tw: TwistedWave = app_state.twistedwave
    tw.recover(resume=True)
    rows = tw.store.connection().execute(
        "SELECT id FROM jobs WHERE state IN ('pending', 'importing', 'editing', 'exporting') ORDER BY seq").fetchall()
    for row in rows:
        start(app_state, row["id"])
    return [row["id"] for row in rows]
