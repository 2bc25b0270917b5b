"""TwoShot's API (``https://api.twoshot.app`` -> ``http://HOST:PORT/twoshot``): projects, renders, samples, audio."""

from __future__ import annotations

import json
import math
import mimetypes
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import ValidationError

from mixdown.api_compat.twoshot.errors import TwoShotError, from_validation
from mixdown.api_compat.twoshot.models import Project, RenderRequest
from mixdown.server.auth import require_key
from mixdown.server.bodies import json_body, json_object
from mixdown.server.library import analyse, record_tempo, store_upload
from mixdown.server.projects import measure
from mixdown.server.state import State, now_stamp
from mixdown.server.work import analyse_audio

router = APIRouter(prefix="/twoshot", tags=["TwoShot"], dependencies=[Depends(require_key)])

MAX_PROJECT_PAGE = 10
MAX_SAMPLE_PAGE = 100
#: Largest render body accepted on the event loop rather than in a thread (the demo project is 6 KB).
ACCEPT_INLINE_BYTES = 64 * 1024
#: The one local user every object belongs to.
OWNER = {"id": 1, "userName": "local", "verified": False, "featured": False, "displayPicture": None,
         "followed": False}


def _state(request: Request) -> State:
    return request.app.state.state


def _validated(body: Any) -> Project:
    try:
        return Project.model_validate(json_object(body, "project"))
    except ValidationError as error:
        raise from_validation(error) from None


def _number(value: str | None, field: str) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise TwoShotError("VALIDATION_ERROR", f"must be a number, got {value[:40]!r}", field=field) from None
    if not math.isfinite(number):
        raise TwoShotError("VALIDATION_ERROR", f"must be a finite number, got {value[:40]!r}", field=field)
    return number


def _whole(value: str | None, field: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise TwoShotError("VALIDATION_ERROR", f"must be a whole number from {low} to {high}, got {value[:40]!r}",
                           field=field)
    return int(value)


def _flag(value: str | None, field: str) -> bool | None:
    if value is None:
        return None
    if value.lower() not in ("true", "false", "1", "0"):
        raise TwoShotError("VALIDATION_ERROR", f"must be true or false, got {value[:40]!r}", field=field)
    return value.lower() in ("true", "1")


def _project_row(state: State, project_id: str) -> Any:
    row = state.one("SELECT * FROM projects WHERE id = ?", (project_id,))
    if row is None:
        raise TwoShotError("NOT_FOUND", f"no project {project_id[:80]!r}", field="id")
    return row


def _project_reply(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "owner": OWNER, "public": bool(row["public"]), "name": row["name"],
            "version": row["version"], "created": row["created"], "updated": row["updated"],
            "data": json.loads(row["data"])}


def _columns(project: Project, body: dict) -> dict[str, Any]:
    public = body.get("public")
    return {"name": project.name, "version": project.version, "tempo": project.tempo,
            "public": int(public is True), "data": json.dumps(body)}


# --- projects ---------------------------------------------------------------------------------------------


@router.post("/project", status_code=201, summary="Create project")
async def create_project(request: Request) -> dict[str, str]:
    body = await json_body(request)
    project = _validated(body)
    project_id = str(uuid.uuid4())
    values = {"id": project_id, **_columns(project, body), "created": now_stamp(), "updated": now_stamp()}
    with _state(request).transaction() as conn:
        conn.execute(f"INSERT INTO projects ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                     list(values.values()))
    measure(request.app.state, project_id)
    return {"id": project_id}


@router.get("/project", summary="Get projects (filters: name, minTempo, maxTempo, minDuration, maxDuration, public; "
                                "limit max 10, offset)")
def list_projects(request: Request) -> list[dict[str, Any]]:
    query = request.query_params
    limit = _whole(query.get("limit"), "limit", MAX_PROJECT_PAGE, 1, MAX_PROJECT_PAGE)
    offset = _whole(query.get("offset"), "offset", 0, 0, 2**62)
    where, args = [], []
    if query.get("name"):
        where.append("instr(lower(name), lower(?)) > 0")
        args.append(query["name"])
    for field, column, op in (("minTempo", "tempo", ">="), ("maxTempo", "tempo", "<="),
                              ("minDuration", "duration", ">="), ("maxDuration", "duration", "<=")):
        bound = _number(query.get(field), field)
        if bound is not None:
            where.append(f"{column} {op} ?")
            args.append(bound)
    public = _flag(query.get("public"), "public")
    if public is not None:
        where.append("public = ?")
        args.append(int(public))
    owner = query.get("owner_id")
    if owner is not None and owner != str(OWNER["id"]):
        return []
    sql = "SELECT * FROM projects" + (" WHERE " + " AND ".join(where) if where else "")
    rows = _state(request).all(sql + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*args, limit, offset])
    return [_project_reply(row) for row in rows]


@router.get("/project/{project_id}", summary="Get project")
def get_project(request: Request, project_id: str) -> dict[str, Any]:
    return _project_reply(_project_row(_state(request), project_id))


@router.put("/project/{project_id}", summary="Update project (the whole project JSON)")
async def update_project(request: Request, project_id: str) -> dict[str, Any]:
    body = await json_body(request)
    project = _validated(body)
    state = _state(request)
    _project_row(state, project_id)
    values = {**_columns(project, body), "updated": now_stamp()}
    with state.transaction() as conn:
        conn.execute(f"UPDATE projects SET {', '.join(f'{k} = ?' for k in values)}, duration = NULL WHERE id = ?",
                     [*values.values(), project_id])
    measure(request.app.state, project_id)
    return _project_reply(_project_row(state, project_id))


@router.delete("/project/{project_id}", summary="Delete project")
def delete_project(request: Request, project_id: str) -> dict[str, Any]:
    state = _state(request)
    reply = _project_reply(_project_row(state, project_id))
    with state.transaction() as conn:
        conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))
    return reply


@router.post("/project/{project_id}/clone", status_code=201, summary="Clone project")
def clone_project(request: Request, project_id: str) -> dict[str, str]:
    state = _state(request)
    row = _project_row(state, project_id)
    clone_id = str(uuid.uuid4())
    with state.transaction() as conn:
        conn.execute("INSERT INTO projects (id, name, version, tempo, public, data, duration, created, updated) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (clone_id, row["name"], row["version"], row["tempo"],
                                                            row["public"], row["data"], row["duration"], now_stamp(),
                                                            now_stamp()))
    if row["duration"] is None:
        measure(request.app.state, clone_id)
    return {"id": clone_id}


# --- renders ----------------------------------------------------------------------------------------------


async def _accept(request: Request, document: dict, project_id: str | None, size: int | None = None) -> dict:
    """Validate and queue a render. A demo-sized body is accepted on the event loop (well under a
    millisecond, where a worker thread's hand-off and GIL contention cost more than the work); a large
    one in a thread, so that it never holds up other requests."""
    size = len(await request.body()) if size is None else size
    if size <= ACCEPT_INLINE_BYTES:
        return request.app.state.renders.accept(document, project_id)
    return await run_in_threadpool(request.app.state.renders.accept, document, project_id)


@router.post("/project/render", status_code=202, summary="Render project data (a project, or {project, render})")
async def render_data(request: Request) -> dict[str, Any]:
    body = json_object(await json_body(request), "project")
    wrapped = isinstance(body.get("project"), dict) and "tracks" not in body
    document = {"project": body["project"], "render": body.get("render", {})} if wrapped else \
        {"project": body, "render": {}}
    return await _accept(request, document, None)


@router.post("/project/{project_id}/render", status_code=202, summary="Render project")
async def render_project(request: Request, project_id: str) -> dict[str, Any]:
    body = json_object(await json_body(request, required=False), "body")
    try:
        RenderRequest.model_validate(body)
    except ValidationError as error:
        raise from_validation(error) from None
    row = _project_row(_state(request), project_id)
    document = {"project": json.loads(row["data"]), "render": body}
    return await _accept(request, document, project_id, len(row["data"]))


@router.get("/project/render/{job_id}", summary="Render job status (progress 0-100, audioId once completed)")
async def render_status(request: Request, job_id: str) -> dict[str, Any]:
    return request.app.state.renders.status(job_id)


# --- samples and audio ------------------------------------------------------------------------------------


@router.post("/sample/audio", status_code=201, summary="Upload sample audio (multipart: file, name, public, scale)")
async def upload_sample(request: Request, file: Annotated[UploadFile | None, File()] = None,
                        name: Annotated[str | None, Form()] = None, public: Annotated[str | None, Form()] = None,
                        scale: Annotated[str | None, Form()] = None) -> dict[str, Any]:
    if file is None or not hasattr(file, "file"):
        raise TwoShotError("VALIDATION_ERROR", "a multipart part named file with the audio is required", field="file")
    flag = _flag(public, "public")
    reply = await run_in_threadpool(store_upload, _state(request), file.file, file.filename, name=name,
                                    public=bool(flag), scale=scale)
    analyse(request.app.state, reply["audioId"])
    return reply


def _sample_reply(row: Any) -> dict[str, Any]:
    duration = row["frames"] / row["sample_rate"] if row["sample_rate"] else None
    return {
        "sample": {"id": row["sample_id"], "name": row["sample_name"], "created": row["created"],
                   "audioId": row["audio_id"], "ownerId": OWNER["id"], "parentFolderId": None,
                   "public": bool(row["public"]), "scale": row["scale"], "imageId": None},
        "owner": OWNER,
        "tags": [],
        "audioInfo": {"id": row["audio_id"], "duration": duration, "bpm": row["bpm"], "free": True,
                      "licenceId": None},
        "processing": bool(row["processing"]),
        "liked": False,
        "likes": 0,
    }


@router.get("/sample", summary="Browse samples (q, bpm_min, bpm_max, duration_min, duration_max, limit, offset)")
def list_samples(request: Request) -> list[dict[str, Any]]:
    query = request.query_params
    limit = _whole(query.get("limit"), "limit", 20, 1, MAX_SAMPLE_PAGE)
    offset = _whole(query.get("offset"), "offset", 0, 0, 2**62)
    where, args = [], []
    if query.get("q"):
        where.append("instr(lower(coalesce(samples.name, '')), lower(?)) > 0")
        args.append(query["q"])
    bounds = (("bpm_min", "audio.bpm >= ?"), ("bpm_max", "audio.bpm <= ?"),
              ("duration_min", "audio.frames >= ? * audio.sample_rate"),
              ("duration_max", "audio.frames <= ? * audio.sample_rate"))
    for field, clause in bounds:
        bound = _number(query.get(field), field)
        if bound is not None:
            where.append(clause)
            args.append(bound)
    public = _flag(query.get("public"), "public")
    if public is not None:
        where.append("samples.public = ?")
        args.append(int(public))
    scale = query.get("scale")
    if scale:
        where.append("lower(samples.scale) = lower(?)")
        args.append(scale)
    sql = ("SELECT samples.id AS sample_id, samples.name AS sample_name, samples.created, samples.audio_id, "
           "samples.public, samples.scale, samples.processing, audio.frames, audio.sample_rate, audio.bpm "
           "FROM samples JOIN audio ON audio.id = samples.audio_id")
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = _state(request).all(sql + " ORDER BY samples.id LIMIT ? OFFSET ?", [*args, limit, offset])
    return [_sample_reply(row) for row in rows]


def _audio_row(state: State, audio_id: str) -> Any:
    row = state.audio(audio_id)
    if row is None or state.inside(row["path"]) is None:
        raise TwoShotError("NOT_FOUND", f"no audio {audio_id[:80]!r}", field="audioId")
    return row


def audio_reply(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "kind": row["kind"], "format": row["format"],
            "sampleRate": row["sample_rate"], "channels": row["channels"], "frames": row["frames"],
            "duration": row["frames"] / row["sample_rate"] if row["sample_rate"] else None, "bpm": row["bpm"],
            "size": row["size"], "created": row["created"], "free": True, "licenceId": None}


@router.get("/audio/{audio_id}", summary="Get audio metadata")
def get_audio(request: Request, audio_id: str) -> dict[str, Any]:
    return audio_reply(_audio_row(_state(request), audio_id))


@router.get("/audio/{audio_id}/bpm", summary="Get audio BPM")
async def get_bpm(request: Request, audio_id: str) -> dict[str, Any]:
    state = _state(request)
    row = await run_in_threadpool(_audio_row, state, audio_id)
    if row["bpm"] is None and not row["bpm_measured"]:
        result = await request.app.state.queue.run(analyse_audio, str(state.home / row["path"]))
        if not result.get("ok"):
            raise TwoShotError("INTERNAL_ERROR", "the tempo could not be measured", field="audioId")
        with state.transaction() as conn:
            record_tempo(conn, audio_id, result)
        return {"audioId": audio_id, "bpm": result["bpm"], "confidence": result["confidence"]}
    return {"audioId": audio_id, "bpm": row["bpm"], "confidence": row["bpm_confidence"]}


@router.get("/audio/{audio_id}/download", summary="Download audio", response_class=FileResponse)
def download_audio(request: Request, audio_id: str) -> Any:
    state = _state(request)
    row = _audio_row(state, audio_id)
    path = state.inside(row["path"])
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    name = f"{row['name'] or row['id']}{path.suffix}" if row["kind"] == "sample" else f"{row['id']}{path.suffix}"
    return FileResponse(path, media_type=kind, filename=name.replace("/", "_"))

