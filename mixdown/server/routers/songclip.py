"""Songclip's API (its root -> ``http://HOST:PORT/songclip``): cut a clip of a library song, read it back.

``POST /songclips`` takes the document's create event; its ``songId`` names an audio of the server's
library by ``audioId`` or ``sampleId`` (the library ``POST /twoshot/sample/audio`` fills). The clip is cut
in a worker and the JSEND reply carries the clip, its ``audioUrl`` downloadable from this server.
"""

from __future__ import annotations

import json
import mimetypes
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from mixdown.api_compat.songclip.clips import SongclipFailError, success
from mixdown.formats import probe
from mixdown.server.auth import require_key
from mixdown.server.bodies import json_body
from mixdown.server.errors import ApiError
from mixdown.server.state import State, now_stamp
from mixdown.server.work import cut_songclip

router = APIRouter(prefix="/songclip", tags=["Songclip"], dependencies=[Depends(require_key)])
CLIP_FORMAT = "mp3"


def _state(request: Request) -> State:
    return request.app.state.state


def _song(state: State, song_id: Any) -> Any:
    """The library audio ``songId`` names (an audioId, or a sampleId)."""
    if song_id is None:
        raise SongclipFailError({"songId": "is required: the audioId or sampleId of a song in the library"})
    if isinstance(song_id, bool) or not isinstance(song_id, (str, int)):
        raise SongclipFailError({"songId": "must be a string or an integer"})
    row = state.one("SELECT audio.* FROM audio JOIN samples ON samples.audio_id = audio.id "
                    "WHERE audio.id = ? OR CAST(samples.id AS TEXT) = ?", (str(song_id), str(song_id)))
    if row is None or state.inside(row["path"]) is None:
        raise ApiError(404, f"no song {str(song_id)[:80]!r} in the library", "songId")
    return row


def _record(state: State, reply: dict, output: Any) -> dict:
    clip = dict(reply["data"]["songclip"])
    audio_id = str(uuid.uuid4())
    with state.transaction() as conn:
        old = conn.execute("SELECT audio_id FROM songclips WHERE id = ?", (clip["id"],)).fetchone()
        state.add_audio(conn, audio_id, output, "clip", probe(output), name=clip.get("title"))
        clip.pop("audioUrl", None)
        conn.execute("INSERT OR REPLACE INTO songclips (id, audio_id, reply, created) VALUES (?, ?, ?, ?)",
                     (clip["id"], audio_id, json.dumps(clip), now_stamp()))
        if old is not None:
            previous = conn.execute("SELECT path FROM audio WHERE id = ?", (old["audio_id"],)).fetchone()
            conn.execute("DELETE FROM audio WHERE id = ?", (old["audio_id"],))
            if previous is not None and (path := state.inside(previous["path"])) is not None:
                path.unlink(missing_ok=True)
    return clip


def _with_url(request: Request, clip: dict) -> dict:
    return {**clip, "audioUrl": str(request.url_for("download_songclip", clip_id=clip["id"]))}


@router.post("/songclips", summary="Create a songclip (start, end, fadeIn, fadeOut in ms; songId in the library)")
async def create_songclip(request: Request) -> JSONResponse:
    spec = await json_body(request)
    if not isinstance(spec, dict):
        raise SongclipFailError({"spec": "expected a JSON object"})
    state = _state(request)
    song = await run_in_threadpool(_song, state, spec.get("songId"))
    output = state.folder("clips") / f"{uuid.uuid4()}.{CLIP_FORMAT}"
    result = await request.app.state.queue.run(cut_songclip, spec, str(state.home / song["path"]), str(output))
    if not result.get("ok"):
        output.unlink(missing_ok=True)
        if "error" in result:
            return JSONResponse(result["error"], status_code=result["status"])
        raise ApiError(500, "the clip could not be cut")
    clip = await run_in_threadpool(_record, state, result["reply"], output)
    return JSONResponse(success({"songclip": _with_url(request, clip)}))


def _clip_row(state: State, clip_id: str) -> Any:
    row = state.one("SELECT * FROM songclips WHERE id = ?", (clip_id,))
    if row is None:
        raise ApiError(404, f"no songclip {clip_id[:80]!r}", "id")
    return row


@router.get("/songclips/{clip_id}", summary="Get Songclip audio file information")
def get_songclip(request: Request, clip_id: str) -> dict:
    row = _clip_row(_state(request), clip_id)
    return success({"songclip": _with_url(request, json.loads(row["reply"]))})


@router.get("/songclips/{clip_id}/download", summary="Download a songclip's audio", response_class=FileResponse)
def download_songclip(request: Request, clip_id: str) -> Any:
    state = _state(request)
    row = _clip_row(state, clip_id)
    audio = state.audio(row["audio_id"])
    path = state.inside(audio["path"]) if audio is not None else None
    if path is None:
        raise ApiError(404, f"songclip {clip_id[:80]!r} has no audio any more", "id")
    return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                        filename=f"{clip_id}{path.suffix}")
