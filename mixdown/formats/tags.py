"""Tags and markers in finished files: written into an encoded file before it is renamed into place, and
markers read back from WAV.

The editor's tags (``title``, ``artist``, ``album``, ``year``, ``genre``, ``comment``, ``track``) go where
each format keeps them, so that FFmpeg, players and taggers read them: ID3v2.3 in mp3 and mp2, Vorbis
comments in flac and ogg, RIFF ``LIST INFO`` in wav, an ``ID3 `` chunk in aiff and aifc, iTunes atoms in
m4a, APEv2 in wv and ASF attributes in wma. w64, au and caf carry none (their readers show none).

Markers (``[frame, name]``) are written into WAV as a ``cue `` chunk with one cue point per marker and a
``LIST adtl`` chunk of ``labl`` names (the layout Sound Forge, Audition, Wavelab and libsndfile share), and
read back from any WAV that has them. :func:`read_tags` reads the tags back from any of these formats, so
an imported file keeps its tags through the editor.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import mutagen
from mutagen import apev2, asf, flac, id3, mp4, oggvorbis
from mutagen.aiff import AIFF

from mixdown.errors import OutputError

#: RIFF INFO ids of the tags, as FFmpeg's RIFF reader maps them.
RIFF_INFO = {"title": b"INAM", "artist": b"IART", "album": b"IPRD", "year": b"ICRD", "genre": b"IGNR",
             "comment": b"ICMT", "track": b"ITRK"}
VORBIS = {"title": "TITLE", "artist": "ARTIST", "album": "ALBUM", "year": "DATE", "genre": "GENRE",
          "comment": "COMMENT", "track": "TRACKNUMBER"}
APE = {"title": "Title", "artist": "Artist", "album": "Album", "year": "Year", "genre": "Genre",
       "comment": "Comment", "track": "Track"}
MP4_ATOMS = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb", "year": "\xa9day", "genre": "\xa9gen",
             "comment": "\xa9cmt"}
ASF_NAMES = {"title": "Title", "artist": "Author", "album": "WM/AlbumTitle", "year": "WM/Year",
             "genre": "WM/Genre", "comment": "Description", "track": "WM/TrackNumber"}

#: Formats whose files carry tags (by TwistedWave format name).
TAGGED_FORMATS = ("wav", "aiff", "aifc", "flac", "ogg", "wv", "mp3", "mp2", "wma", "aac")


def _id3_frames(tags: Mapping[str, str]) -> list[id3.Frame]:
    makers = {"title": id3.TIT2, "artist": id3.TPE1, "album": id3.TALB, "year": id3.TYER, "genre": id3.TCON,
              "track": id3.TRCK}
    frames = [makers[name](encoding=id3.Encoding.UTF16, text=[value]) for name, value in tags.items()
              if name in makers]
    if "comment" in tags:
        frames.append(id3.COMM(encoding=id3.Encoding.UTF16, lang="eng", desc="", text=[tags["comment"]]))
    return frames


def _save_id3(path: Path, tags: Mapping[str, str]) -> None:
    frames = id3.ID3()
    for frame in _id3_frames(tags):
        frames.add(frame)
    frames.save(path, v2_version=3, padding=lambda info: 0)


def _save_aiff(path: Path, tags: Mapping[str, str]) -> None:
    audio = AIFF(path)
    audio.add_tags()
    for frame in _id3_frames(tags):
        audio.tags.add(frame)
    audio.save(v2_version=3)


def _save_vorbis(kind: type, path: Path, tags: Mapping[str, str]) -> None:
    audio = kind(path)
    for name, value in tags.items():
        audio[VORBIS[name]] = [value]
    audio.save()


def _track_pair(text: str) -> tuple[int, int] | None:
    number, _, total = text.partition("/")
    try:
        return int(number), int(total or 0)
    except ValueError:
        return None


def _save_mp4(path: Path, tags: Mapping[str, str]) -> None:
    audio = mp4.MP4(path)
    if audio.tags is None:
        audio.add_tags()
    for name, value in tags.items():
        if name == "track":
            pair = _track_pair(value)
            if pair is not None:
                audio.tags["trkn"] = [pair]
        else:
            audio.tags[MP4_ATOMS[name]] = [value]
    audio.save()


def _save_ape(path: Path, tags: Mapping[str, str]) -> None:
    ape = apev2.APEv2()
    for name, value in tags.items():
        ape[APE[name]] = value
    ape.save(path)


def _save_asf(path: Path, tags: Mapping[str, str]) -> None:
    audio = asf.ASF(path)
    for name, value in tags.items():
        audio[ASF_NAMES[name]] = [value]
    audio.save()


def _chunk(chunk_id: bytes, payload: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def _text(value: str) -> bytes:
    return value.encode("utf-8") + b"\0"


def riff_chunks(tags: Mapping[str, str], markers: Sequence[Sequence]) -> bytes:
    """The ``LIST INFO``, ``cue `` and ``LIST adtl`` chunks of ``tags`` and ``markers`` (each only when
    there is something to put in it)."""
    out = b""
    if tags:
        info = b"".join(_chunk(RIFF_INFO[name], _text(value)) for name, value in tags.items())
        out += _chunk(b"LIST", b"INFO" + info)
    if markers:
        points = b"".join(struct.pack("<II4sIII", index + 1, int(position), b"data", 0, 0, int(position))
                          for index, (position, _) in enumerate(markers))
        out += _chunk(b"cue ", struct.pack("<I", len(markers)) + points)
        labels = b"".join(_chunk(b"labl", struct.pack("<I", index + 1) + _text(str(name)))
                          for index, (_, name) in enumerate(markers))
        out += _chunk(b"LIST", b"adtl" + labels)
    return out


def _append_riff(path: Path, tags: Mapping[str, str], markers: Sequence[Sequence]) -> None:
    extra = riff_chunks(tags, markers)
    if not extra:
        return
    with open(path, "r+b") as handle:
        header = handle.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return  # RF64 and the like: no room for a 32-bit size, leave the file as it is
        end = handle.seek(0, os.SEEK_END)
        if end & 1:
            handle.write(b"\0")
            end += 1
        if end + len(extra) - 8 > 0xFFFFFFFF:
            return
        handle.write(extra)
        handle.seek(4)
        handle.write(struct.pack("<I", end + len(extra) - 8))


def write_tags(path: str | os.PathLike[str], format_name: str, tags: Mapping[str, str] | None = None,
               markers: Sequence[Sequence] | None = None) -> None:
    """Write ``tags`` (and, into WAV, ``markers``) into the finished file ``path`` of ``format_name``.

    Empty tag values are left out; a format that carries no tags is left as it is.

    Raises
    ------
    OutputError
        When the tagging library cannot parse or rewrite the file.
    """
    path = Path(path)
    tags = {name: value for name, value in (tags or {}).items() if value}
    markers = list(markers or [])
    if format_name == "wav":
        _append_riff(path, tags, markers)
        return
    if not tags or format_name not in TAGGED_FORMATS:
        return
    savers = {"mp3": _save_id3, "mp2": _save_id3, "aiff": _save_aiff, "aifc": _save_aiff, "aac": _save_mp4,
              "wv": _save_ape, "wma": _save_asf,
              "flac": lambda p, t: _save_vorbis(flac.FLAC, p, t),
              "ogg": lambda p, t: _save_vorbis(oggvorbis.OggVorbis, p, t)}
    try:
        savers[format_name](path, tags)
    except (mutagen.MutagenError, OSError, ValueError) as error:
        raise OutputError(f"cannot write tags into the {format_name} file: {error}", field="output") from None


def _chunks(data: bytes, start: int, stop: int) -> list[tuple[bytes, int, int]]:
    """``(id, payload start, payload end)`` of the RIFF chunks in ``data[start:stop]``."""
    found = []
    position = start
    while position + 8 <= stop:
        chunk_id, size = struct.unpack_from("<4sI", data, position)
        payload_end = min(position + 8 + size, stop)
        found.append((chunk_id, position + 8, payload_end))
        position += 8 + size + (size & 1)
    return found


def read_markers(path: str | os.PathLike[str]) -> list[list]:
    """The markers of a WAV file as sorted ``[frame, name]`` pairs: its ``cue `` points, named by the
    ``labl`` entries of ``LIST adtl`` (``Marker N`` for a point without one). Not a WAV, or a WAV without
    cue points: ``[]``."""
    path = Path(path)
    with open(path, "rb") as handle:
        header = handle.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return []
        data = header + handle.read()
    positions: dict[int, int] = {}
    names: dict[int, str] = {}
    for chunk_id, start, end in _chunks(data, 12, len(data)):
        if chunk_id == b"cue " and end - start >= 4:
            (count,) = struct.unpack_from("<I", data, start)
            for index in range(min(count, (end - start - 4) // 24)):
                point, _, _, _, _, offset = struct.unpack_from("<II4sIII", data, start + 4 + 24 * index)
                positions[point] = offset
        elif chunk_id == b"LIST" and data[start:start + 4] == b"adtl":
            for sub_id, sub_start, sub_end in _chunks(data, start + 4, end):
                if sub_id == b"labl" and sub_end - sub_start >= 4:
                    (point,) = struct.unpack_from("<I", data, sub_start)
                    raw = data[sub_start + 4:sub_end].split(b"\0", 1)[0]
                    names[point] = raw.decode("utf-8", errors="replace")
    markers = [[offset, names.get(point, "")] for point, offset in positions.items()]
    markers.sort(key=lambda marker: marker[0])
    for number, marker in enumerate(markers, start=1):
        if not marker[1]:
            marker[1] = f"Marker {number}"
    return markers


def _riff_info(path: Path) -> dict[str, str]:
    with open(path, "rb") as handle:
        data = handle.read()
    names = {chunk_id: name for name, chunk_id in RIFF_INFO.items()}
    names[b"IPRT"] = "track"
    tags: dict[str, str] = {}
    for chunk_id, start, end in _chunks(data, 12, len(data)):
        if chunk_id == b"LIST" and data[start:start + 4] == b"INFO":
            for sub_id, sub_start, sub_end in _chunks(data, start + 4, end):
                if sub_id in names:
                    text = data[sub_start:sub_end].split(b"\0", 1)[0].decode("utf-8", errors="replace").strip()
                    if text:
                        tags[names[sub_id]] = text
    return tags


def _first(values: object) -> str:
    if isinstance(values, list):
        values = values[0] if values else ""
    if isinstance(values, tuple):  # an MP4 track pair
        number, total = values
        return f"{number}/{total}" if total else str(number)
    return str(getattr(values, "value", values)).strip()


def read_tags(path: str | os.PathLike[str]) -> dict[str, str]:
    """The tags of an audio file, under the editor's names (what :func:`write_tags` writes, read from
    wherever the format keeps them). A file without tags, or whose tags do not parse, gives ``{}``."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            header = handle.read(12)
        if header[:4] == b"RIFF" and header[8:12] == b"WAVE":
            return _riff_info(path)
        audio = mutagen.File(path)
    except (mutagen.MutagenError, OSError, struct.error, ValueError):
        return {}
    tags = getattr(audio, "tags", None)
    if not tags:
        return {}
    if isinstance(tags, id3.ID3):
        frames = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "year": "TDRC", "genre": "TCON",
                  "track": "TRCK"}
        found = {name: _first(tags[frame].text) for name, frame in frames.items() if frame in tags}
        if "year" not in found and "TYER" in tags:
            found["year"] = _first(tags["TYER"].text)
        comments = tags.getall("COMM")
        if comments:
            found["comment"] = _first(comments[0].text)
    else:
        keys = {mp4.MP4Tags: {**MP4_ATOMS, "track": "trkn"}, apev2.APEv2: APE, asf.ASFTags: ASF_NAMES}.get(
            type(tags), VORBIS)
        lowered = {str(key).lower(): value for key, value in tags.items()}
        found = {name: _first(lowered[key.lower()]) for name, key in keys.items() if key.lower() in lowered}
    return {name: found[name] for name in ("title", "artist", "album", "year", "genre", "comment", "track")
            if found.get(name)}
