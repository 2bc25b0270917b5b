"""Cut Songclip clips out of a song, sample-exactly, with fades, and answer in JSEND.

Start and end (milliseconds) are rounded to samples once, at the output rate: a clip from ``start`` to
``end`` has exactly ``round(end * rate / 1000) - round(start * rate / 1000)`` frames. Fades use the
engine's curves (equal-power by default). A list of specs is cut from one decode of the song.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from mixdown.api_compat.fields import non_finite, unknown_field_warnings, unknown_fields, warn_unknown, whole_frames
from mixdown.api_compat.fields import problems as validation_problems
from mixdown.api_compat.songclip.models import ClipSpec
from mixdown.api_compat.songclip.presets import PRESETS, Preset
from mixdown.engine import Fade, apply_fades, resample
from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.engine.resample import resampled_length
from mixdown.errors import InvalidInputError, MixdownError
from mixdown.files import read_span
from mixdown.formats import atomic_path
from mixdown.formats.atomic import STDIO
from mixdown.formats.export import encode_blocks
from mixdown.formats.naming import resolve_output
from mixdown.formats.stream import AudioFile, reported, split


class SongclipFailError(MixdownError):
    """Bad input, answered as JSEND ``fail`` with a message per field."""

    exit_code = 2

    def __init__(self, data: Mapping[str, str]) -> None:
        first = next(iter(data.items()))
        super().__init__(first[1], field=first[0])
        self.data = dict(data)

    def __str__(self) -> str:
        return "; ".join(f"{field}: {message}" for field, message in self.data.items())


def success(data: dict) -> dict:
    return {"status": "success", "data": data}


def fail(data: Mapping[str, str]) -> dict:
    return {"status": "fail", "data": dict(data)}


def error(message: str) -> dict:
    return {"status": "error", "message": message}


def _path(location: tuple, prefix: str) -> str:
    text = prefix
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_specs(document: object) -> tuple[list[ClipSpec | None], dict[str, str], bool]:
    """The create event(s) in ``document`` (one object or a list), their field problems, and whether it
    was a list. A spec that does not validate is ``None``; every failure of every spec is reported, each
    under its field path (``start``, ``[2].fadeIn``). :func:`unknown_spec_fields` lists unknown fields."""
    many = isinstance(document, list)
    items = document if many else [document]
    if many and not items:
        raise SongclipFailError({"spec": "the list of clips is empty"})
    specs: list[ClipSpec | None] = []
    problems: dict[str, str] = {}
    for index, item in enumerate(items):
        prefix = f"[{index}]" if many else ""
        where = non_finite(item, text=True)
        if where is not None:
            specs.append(None)
            key = (f"{prefix}.{where}" if where else prefix) if prefix else (where or "spec")
            problems.setdefault(key, "is NaN, Infinity or not text (a lone surrogate): it cannot be written back "
                                     "as JSON")
            continue
        try:
            specs.append(ClipSpec.model_validate(item))
        except ValidationError as failure:
            specs.append(None)
            for location, message in validation_problems(failure, item):
                problems.setdefault(_path(location, prefix) or prefix or "spec", message)
    return specs, problems, many


def unknown_spec_fields(specs: list[ClipSpec | None], many: bool) -> list[str]:
    """Field paths (``[1].fadeout``) of the unknown fields of the specs that validated."""
    return [_path(location, f"[{index}]" if many else "")
            for index, spec in enumerate(specs) if spec is not None for location in unknown_fields(spec)]


@dataclass(frozen=True)
class Limits:
    min_length: float | None = None
    max_length: float | None = None


def to_frames(milliseconds: float, rate: int, field: str = "end") -> int:
    """Milliseconds at ``rate``, rounded half up (refused, naming ``field``, past any timeline)."""
    return whole_frames(milliseconds * rate / 1000, field, milliseconds)


def check_spec(spec: ClipSpec, song_frames: int, rate: int, limits: Limits, prefix: str = "") -> dict[str, str]:
    """Field messages for a spec that cannot be cut from this song (empty when it can)."""
    problems: dict[str, str] = {}
    for name in ("start", "end", "fadeIn", "fadeOut"):
        try:
            to_frames(getattr(spec, name), rate, name)
        except InvalidInputError as refusal:
            problems[f"{prefix}{name}"] = refusal.message
    if problems:
        return problems
    first, last = to_frames(spec.start, rate), to_frames(spec.end, rate)
    length = (spec.end - spec.start) / 1000
    if spec.end <= spec.start or last <= first:
        problems[f"{prefix}end"] = f"end ({spec.end:g} ms) must be after start ({spec.start:g} ms)"
    elif last > song_frames:
        problems[f"{prefix}end"] = (f"end ({spec.end:g} ms) is past the end of the song "
                                    f"({1000 * song_frames / rate:.3f} ms)")
    else:
        if limits.min_length is not None and length < limits.min_length:
            problems[f"{prefix}end"] = f"the clip lasts {length:g} s, less than the {limits.min_length:g} s minimum"
        if limits.max_length is not None and length > limits.max_length:
            problems[f"{prefix}end"] = f"the clip lasts {length:g} s, more than the {limits.max_length:g} s maximum"
        for name in ("fadeIn", "fadeOut"):
            if to_frames(getattr(spec, name), rate) > last - first:
                problems[f"{prefix}{name}"] = f"{name} ({getattr(spec, name):g} ms) is longer than the clip"
    return problems


def clip_id(song: Path, spec: ClipSpec) -> str:
    """A stable numeric id (the document's ids are decimal strings) from the song and the spec."""
    digest = hashlib.sha256(f"{song.name}|{spec.model_dump_json()}".encode()).hexdigest()
    return str(int(digest[:15], 16))


def estimate_bytes(spec: Mapping[str, Any], frames: int, rate: int, channels: int) -> int | None:
    """An upper estimate of the encoded size from the encoder settings, or ``None`` when unknowable."""
    seconds = frames / rate
    if spec["format"] in ("wav", "flac", "aiff"):
        return 4096 + frames * channels * math.ceil(spec.get("bit_depth", 16) / 8)
    if "bit_rate" in spec:
        return 65_536 + math.ceil(spec["bit_rate"] * 1000 / 8 * seconds * 1.02)
    return None


def song_tags(path: Path) -> dict[str, str | None]:
    """Artist and title from the song's own tags where the container has them."""
    try:
        import av

        with av.open(str(path)) as container:
            tags = {k.lower(): v for k, v in container.metadata.items()}
    except Exception:  # tags are a courtesy: any reader failure means none
        tags = {}
    return {"artist": tags.get("artist"), "title": tags.get("title") or path.stem}


@dataclass
class Song:
    """The song at the clips' rate: its length, and the audio of ``[offset, offset + audio.shape[1])``.

    A song given as an array is held whole. A song file is only opened: :meth:`load` decodes the span the
    clips use (reading forward through the resampler when the rate changes), so a clip from a 10-hour file
    costs the memory of the clip.
    """

    rate: int
    frames: int
    channels: int
    path: Path
    artist: str | None
    title: str
    audio: np.ndarray
    offset: int = 0
    file_rate: int | None = None
    mono: bool = False

    def load(self, first: int, last: int) -> None:
        """Hold ``[first, last)`` (frames at :attr:`rate`) of a song file."""
        if self.file_rate is None:
            return
        try:
            audio, _ = read_span(self.path, first, last, self.rate, mono=self.mono)
        except MixdownError as failure:
            raise SongclipFailError({"song": failure.message}) from None
        self.audio, self.offset = audio, first


#: A song given from Python: a file, or float audio ``(channels, frames)`` with its rate.
SongSource = str | Path | tuple[np.ndarray, int]


def load_song(song: SongSource, preset: Preset | None, artist: str | None, title: str | None,
              sample_rate: int | None = None) -> Song:
    """The song (a file only opened, see :class:`Song`), downmixed and resampled as the preset (or
    ``sample_rate``) asks."""
    mono = bool(preset and preset.channels == 1)
    wanted = (preset.sample_rate if preset else None) or sample_rate
    if isinstance(song, tuple):
        if len(song) != 2:
            raise SongclipFailError({"song": "expected (audio, sample_rate)"})
        try:
            audio, rate = as_audio(song[0], field="song"), check_sample_rate(song[1], field="song")
        except MixdownError as failure:
            raise SongclipFailError({"song": failure.message}) from None
        if mono and audio.shape[0] > 1:
            audio = np.ascontiguousarray(audio.mean(axis=0, keepdims=True))
        if wanted and wanted != rate:
            audio, rate = resample(audio, rate, wanted), wanted
        return Song(rate, audio.shape[1], audio.shape[0], Path("song"), artist, title or "song", audio)
    path = Path(song)
    try:
        with AudioFile(path) as reader:
            file_rate, channels, file_frames = reader.sample_rate, reader.channels, reader.frames
    except MixdownError as failure:
        raise SongclipFailError({"song": failure.message}) from None
    rate = wanted or file_rate
    channels = 1 if mono else channels
    frames = file_frames if rate == file_rate else resampled_length(file_frames, file_rate, rate)
    tags = song_tags(path)
    return Song(rate, frames, channels, path, artist or tags["artist"], title or tags["title"],
                np.empty((channels, 0), dtype=np.float32), file_rate=file_rate, mono=mono and channels == 1)


def load_span(song: Song, specs: list[ClipSpec | None]) -> None:
    """Decode the part of a song file the specs cut from (they have been checked against it)."""
    spans = [(to_frames(spec.start, song.rate), to_frames(spec.end, song.rate)) for spec in specs if spec]
    if spans:
        song.load(min(first for first, _ in spans), max(last for _, last in spans))


def output_spec(fmt: str | None, preset: Preset | None, output: Path | None) -> dict[str, Any]:
    """The TwistedWave output object for this clip: the preset's entry for the format, else the format.

    The format is ``fmt``, else (one clip) the output name's extension, else the preset's default, else mp3:
    a ``.wav`` name never receives MP3 data.
    """
    fallback = preset.default_format if preset else "mp3"
    if output is None:
        name = (fmt or fallback).lower()
    else:
        try:
            name = resolve_output(output, fmt, fallback)[1]
        except MixdownError as failure:
            raise SongclipFailError({failure.field or "output": failure.message}) from None
    if preset is None:
        return {"format": name}
    if name not in preset.formats:
        allowed = ", ".join(preset.formats)
        raise SongclipFailError({"format": f"{name!r} is not one of this preset's formats: {allowed}"})
    return dict(preset.formats[name])


def cut(song: Song, spec: ClipSpec, curve: str) -> np.ndarray:
    first, last = to_frames(spec.start, song.rate) - song.offset, to_frames(spec.end, song.rate) - song.offset
    return apply_fades(song.audio[:, first:last], Fade(to_frames(spec.fadeIn, song.rate), curve),
                       Fade(to_frames(spec.fadeOut, song.rate), curve))


def clip_audio(
    document: object,
    song: SongSource,
    *,
    preset_name: str | None = None,
    curve: str = "equal-power",
    sample_rate: int | None = None,
    min_length: float | None = None,
    max_length: float | None = None,
) -> np.ndarray | list[np.ndarray]:
    """The clip (or, for a list of specs, the clips) ``document`` cuts from ``song``, as float32 arrays:
    the samples :func:`render_clips` encodes. Raises :class:`SongclipFailError` for any bad spec."""
    preset = _preset(preset_name)
    limits = _limits(preset, min_length, max_length)
    specs, problems, many = parse_specs(document)
    warn_unknown(unknown_spec_fields(specs, many), "Songclip spec")
    loaded = load_song(song, preset, None, None, sample_rate)
    for index, spec in enumerate(specs):
        if spec is not None:
            problems |= check_spec(spec, loaded.frames, loaded.rate, limits, f"[{index}]." if many else "")
    if problems:
        raise SongclipFailError(problems)
    load_span(loaded, specs)
    clips = [cut(loaded, spec, curve) for spec in specs]
    return clips if many else clips[0]


def _preset(name: str | None) -> Preset | None:
    preset = PRESETS.get(name) if name else None
    if name and preset is None:
        raise SongclipFailError({"preset": f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}"})
    return preset


def _limits(preset: Preset | None, min_length: float | None, max_length: float | None) -> Limits:
    return Limits(
        min_length if min_length is not None else (preset.min_length if preset else None),
        max_length if max_length is not None else (preset.max_length if preset else None),
    )


def render_clips(
    document: object,
    song_path: SongSource,
    output: str | Path,
    *,
    fmt: str | None = None,
    preset_name: str | None = None,
    curve: str = "equal-power",
    min_length: float | None = None,
    max_length: float | None = None,
    artist: str | None = None,
    title: str | None = None,
    options: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Cut every clip ``document`` asks for and return the JSEND success reply.

    ``options`` are TwistedWave output options (``{"bit_depth": 24}``, ``{"bit_rate": 256}``) laid over
    the format's preset entry. ``progress``, when given, is called with the clip frames encoded so far
    and the total of every clip, a block at a time.

    One spec writes ``output``; a list writes ``clip-001.<ext>``... into the folder ``output``. Raises
    :class:`SongclipFailError` (nothing written) for any bad spec.
    """
    preset = _preset(preset_name)
    limits = _limits(preset, min_length, max_length)
    specs, problems, many = parse_specs(document)
    output = Path(output)
    spec_out = {**output_spec(fmt, preset, None if many else output), **(options or {})}
    extension = _extension(spec_out["format"])
    song = load_song(song_path, preset, artist, title)
    for index, spec in enumerate(specs):
        if spec is None:
            continue
        prefix = f"[{index}]." if many else ""
        found = check_spec(spec, song.frames, song.rate, limits, prefix)
        problems |= found
        if preset and preset.max_bytes and not found:
            frames = to_frames(spec.end, song.rate) - to_frames(spec.start, song.rate)
            estimate = estimate_bytes(spec_out, frames, song.rate, song.channels)
            if estimate is not None and estimate > preset.max_bytes:
                problems[f"{prefix}end"] = (f"this clip would encode to about {estimate / 2**20:.0f} MB, over the "
                                            f"{preset.max_bytes / 2**20:.0f} MB upload limit")
    if problems:
        raise SongclipFailError(problems)
    load_span(song, specs)
    if many:
        _make_folder(output)
        targets = [output / f"clip-{i + 1:03d}.{extension}" for i in range(len(specs))]
    else:
        targets = [Path(resolve_output(output, spec_out["format"], spec_out["format"])[0])]
    clips = _write_all(song, specs, targets, spec_out, preset, curve, many, _Encoded(specs, song.rate, progress))
    data: dict[str, Any] = {"songclips": clips} if many else {"songclip": clips[0]}
    return success({**data, "warnings": unknown_field_warnings(unknown_spec_fields(specs, many))})


def _extension(format_name: str) -> str:
    from mixdown.formats.table import EXTENSIONS

    return EXTENSIONS.get(format_name, format_name)


def _make_folder(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise SongclipFailError({"output": f"{str(output)!r} is a file; a list of clips needs a folder"})
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        raise SongclipFailError({"output": f"cannot make the folder {str(output)!r}: "
                                           f"{problem.strerror or problem}"}) from None


class _Encoded:
    """The frames encoded so far across every clip, told to a progress callback a block at a time."""

    #: Frames handed to the encoder at once, so the count moves within a long clip.
    BLOCK_FRAMES = 1 << 18

    def __init__(self, specs: list, rate: int, progress: Callable[[int, int], None] | None) -> None:
        self.total = sum(to_frames(spec.end, rate) - to_frames(spec.start, rate) for spec in specs)
        self.done = 0
        self.progress = progress

    def blocks(self, audio: np.ndarray) -> Iterator[np.ndarray]:
        yield from reported(split(audio, self.BLOCK_FRAMES), self.progress, self.total, self.done)
        self.done += audio.shape[1]


def _write_all(song: Song, specs: list, targets: list[Path], spec_out: dict, preset: Preset | None, curve: str,
               many: bool, encoded: _Encoded) -> list[dict]:
    """Encode every clip to a temporary file beside its target, and only when all are encoded and within the
    preset's limits rename them into place: a failure at any clip leaves every earlier output untouched."""
    with contextlib.ExitStack() as staged:
        clips = []
        for index, (spec, target) in enumerate(zip(specs, targets, strict=True)):
            temp = staged.enter_context(atomic_path(target))
            sidecar = target.with_name(target.name + ".json") if preset and preset.metadata else None
            sidecar_temp = staged.enter_context(atomic_path(sidecar)) if sidecar else None
            clips.append(_write(song, spec, spec_out, target, temp, preset, curve, f"[{index}]." if many else "",
                                encoded))
            if sidecar and sidecar_temp:
                sidecar_temp.write_text(json.dumps({
                    "title": song.title, "description": "", "tags": spec.tags, "mediaType": "audio",
                    "size": clips[-1]["size"]}, indent=2) + "\n", encoding="utf-8")
                clips[-1]["metadataUrl"] = _url(sidecar)
    return clips


def _url(path: Path) -> str | None:
    return None if str(path) == STDIO else path.resolve().as_uri()


def _write(song: Song, spec: ClipSpec, spec_out: dict, target: Path, temp: Path, preset: Preset | None,
           curve: str, prefix: str, encoded: _Encoded) -> dict:
    audio = cut(song, spec, curve)
    frames = audio.shape[1]
    encode_blocks(temp, encoded.blocks(audio), song.rate, audio.shape[0], spec_out, frames=frames)
    size = temp.stat().st_size
    if preset and preset.max_bytes and size > preset.max_bytes:
        raise SongclipFailError({f"{prefix}end": f"the clip encoded to {size / 2**20:.1f} MB, over the "
                                            f"{preset.max_bytes / 2**20:.0f} MB upload limit"})
    clip = {
        "id": clip_id(song.path, spec),
        "artist": song.artist,
        "title": song.title,
        "duration": round(frames / song.rate, 3),
        "audioUrl": _url(target),
        "coverUrl": None,
        "context": spec.context.model_dump(),
        "tags": spec.tags,
        "songId": spec.songId,
        "start": spec.start,
        "end": spec.end,
        "frames": frames,
        "sampleRate": song.rate,
        "format": spec_out["format"],
        "size": size,
    }
    return clip
