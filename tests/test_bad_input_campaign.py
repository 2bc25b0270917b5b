"""A bad-input campaign over every platform body and manifest (issues 13 and 18).

Each class starts from a valid document and sets one or more of its fields to a hostile value (wrong
types, NaN/Infinity, huge and tiny numbers, negative and reversed ranges, absurd sample rates, unknown ids,
path escapes), drives the adapter in this process, and asserts one of two outcomes: a refusal in the
platform's shape (exit status 2, a field named), or success with a valid output. Anything else (another
exception, an internal error, a hang) fails the test with the example that caused it.

CI runs a fixed small budget per class; ``MIXDOWN_CAMPAIGN_EXAMPLES=N`` runs N per class, and
``MIXDOWN_CAMPAIGN_REPORT=FILE`` writes the counts per class and outcome as JSON.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixdown.api_compat.json_input import MAX_DEPTH, parse_json
from mixdown.api_compat.songclip.clips import render_clips
from mixdown.api_compat.twistedwave import COMMANDS, TwistedWave
from mixdown.api_compat.twoshot.service import render_document
from mixdown.batch.manifest import read_manifest
from mixdown.errors import MixdownError
from mixdown.formats import read, write
from tests.bad_input import process, refused

SR = 8_000
EXAMPLES = int(os.environ.get("MIXDOWN_CAMPAIGN_EXAMPLES", "20"))
CAMPAIGN = settings(max_examples=EXAMPLES, deadline=None, derandomize="MIXDOWN_CAMPAIGN_EXAMPLES" not in os.environ,
                    suppress_health_check=list(HealthCheck))
COUNTS: Counter[tuple[str, str]] = Counter()


def _report() -> None:
    target = os.environ.get("MIXDOWN_CAMPAIGN_REPORT")
    if target and COUNTS:
        table: dict[str, dict[str, int]] = {}
        for (kind, outcome), count in sorted(COUNTS.items()):
            table.setdefault(kind, {})[outcome] = count
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(table, handle, indent=2)


atexit.register(_report)

# --- hostile values ------------------------------------------------------------------------------------

HUGE = [1e308, -1e308, 10**400, -(10**400), 2**63, 2**53 + 1, 1e15]
TINY = [5e-324, -5e-324, 1e-300, 0, -0.0, -1, -1e-9]
ODD = [float("nan"), float("inf"), float("-inf"), True, False, None, "", "1.5", "fast", "x" * 5000, [], [1, 2],
       {}, {"a": 1}, "../../etc/passwd", "/etc/passwd", "a\0b", "y" * 300, ".", "..", "nope", "\udcff"]
RATES = [0, 1, 7999, 8000, 44_100, 384_000, 384_001, 10**9, -44_100, 44_100.5]
VALUES = st.one_of(st.sampled_from(HUGE + TINY + ODD + RATES), st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(min_value=-(10**6), max_value=10**6), st.text(max_size=20))


def _set(document: object, path: tuple, value: object) -> object:
    """``document`` with the field at ``path`` replaced by ``value`` (missing containers are made)."""
    document = copy.deepcopy(document)
    holder = document
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return document


def _outcome(kind: str, run) -> None:
    """Run ``run()``; a refusal must be exit 2 naming a field, anything else must return normally."""
    try:
        run()
    except MixdownError as error:
        assert error.exit_code == 2, f"{type(error).__name__}: {error}"
        assert error.field or getattr(error, "data", None), f"no field named: {error}"
        assert "Traceback" not in error.message and len(error.message) < 2000
        COUNTS[(kind, "refused")] += 1
        return
    COUNTS[(kind, "ok")] += 1


# --- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("campaign")
    library = base / "lib"
    library.mkdir()
    write(library / "kick.wav", np.full((1, SR // 4), 0.2, dtype=np.float32), SR, subtype="FLOAT")
    (library / "library.json").write_text(json.dumps({"kick": {"path": "kick.wav", "bpm": 120, "sampleId": 7}}))
    song = base / "song.wav"
    write(song, np.full((2, 2 * SR), 0.1, dtype=np.float32), SR, subtype="FLOAT")
    return base


PROJECT = {"project": {"tempo": 120, "playHead": {"start": 0, "end": 4},
                       "tracks": [{"id": "t", "loopEvery": 2, "clips": [
                           {"id": 1, "position": 0, "source": {"audioId": "kick"}, "speed": 1.0,
                            "cutStart": 0, "cutEnd": 0.2, "volume": 1, "pan": 0, "pitchOffset": 0}]}]},
           "render": {"format": "wav", "quality": "low", "sampleRate": SR}}
TWOSHOT_FIELDS = [
    ("project", "tempo"), ("project", "playHead", "start"), ("project", "playHead", "end"),
    ("project", "tracks", 0, "loopEvery"), ("project", "tracks", 0, "id"), ("project", "tracks", 0, "volume"),
    ("project", "tracks", 0, "clips", 0, "position"), ("project", "tracks", 0, "clips", 0, "speed"),
    ("project", "tracks", 0, "clips", 0, "cutStart"), ("project", "tracks", 0, "clips", 0, "cutEnd"),
    ("project", "tracks", 0, "clips", 0, "pitchOffset"), ("project", "tracks", 0, "clips", 0, "pan"),
    ("project", "tracks", 0, "clips", 0, "source", "audioId"), ("project", "tracks", 0, "clips", 0, "source"),
    ("project", "tracks", 0, "clips", 0, "source", "tempo"), ("project", "soloTarget"), ("project", "tracks"),
    ("render", "startTime"), ("render", "endTime"), ("render", "sampleRate"), ("render", "format"),
    ("render", "quality"), ("render",), ("project",),
]


@given(changes=st.lists(st.tuples(st.sampled_from(TWOSHOT_FIELDS), VALUES), min_size=1, max_size=3))
@settings(CAMPAIGN)
def test_twoshot_bodies(world, changes):
    document: object = PROJECT
    for path, value in changes:
        if path == ("project",):
            document = value
        elif path == ("render",):
            document = {**document, "render": value} if isinstance(document, dict) else document
        else:
            try:
                document = _set(document, path, value)
            except (KeyError, IndexError, TypeError):  # an earlier change replaced the container
                continue
    output = world / "twoshot.wav"
    output.unlink(missing_ok=True)

    def run() -> None:
        reply = render_document(document, world / "lib", output, max_duration=30)
        audio, _ = read(output)
        assert audio.shape[1] == reply["frames"] and np.isfinite(audio).all()

    _outcome("twoshot body", run)


SPEC = {"context": {"uniqueId": "u1"}, "start": 100, "end": 900, "fadeIn": 50, "fadeOut": 50, "tags": ["a"],
        "songId": "s1"}
SONGCLIP_FIELDS = ["start", "end", "fadeIn", "fadeOut", "context", "tags", "songId"]


@given(changes=st.lists(st.tuples(st.sampled_from(SONGCLIP_FIELDS), VALUES), min_size=1, max_size=3),
       many=st.booleans())
@settings(CAMPAIGN)
def test_songclip_specs(world, changes, many):
    spec = dict(SPEC)
    for name, value in changes:
        spec[name] = value if name != "context" or not isinstance(value, (int, float)) else {"uniqueId": "u",
                                                                                              "score": value}
    document = [SPEC, spec] if many else spec
    output = world / ("clips" if many else "clip.wav")

    def run() -> None:
        reply = render_clips(document, world / "song.wav", output, fmt="wav")
        clips = reply["data"]["songclips"] if many else [reply["data"]["songclip"]]
        json.dumps(reply, allow_nan=False)
        for clip in clips:
            assert read(clip["audioUrl"].removeprefix("file://"))[0].shape[1] == clip["frames"]

    _outcome("songclip spec", run)


def _command(name: str, value: object, field: str) -> dict:
    command: dict = {"command": name, "selection": [0, 400]}
    command[field] = value
    return command


COMMAND_FIELDS = ["selection", "gain", "length", "position", "sample_rate", "speed", "unit", "level", "curve",
                  "threshold", "semitones"]
OUTPUT_FIELDS = ["format", "bit_depth", "sample_rate", "begin", "end", "begin_sample", "end_sample",
                 "exported_filename", "url", "bit_rate"]


@given(command=st.sampled_from(sorted(COMMANDS)), field=st.sampled_from(COMMAND_FIELDS), value=VALUES,
       output_field=st.sampled_from(OUTPUT_FIELDS), output_value=VALUES, where=st.sampled_from(["edit", "output"]))
@settings(CAMPAIGN)
def test_twistedwave_jobs(world, tmp_path_factory, command, field, value, output_field, output_value, where):
    body: dict = {"document": {"url": str(world / "song.wav")}, "edit": {"max_duration": 5, "commands": []}}
    if where == "edit":
        body["edit"]["commands"].append(_command(command, value, field))
    else:
        body["output"] = {"format": "wav", output_field: output_value}
        if output_field == "url" and isinstance(output_value, str):
            body["output"][output_field] = str(tmp_path_factory.mktemp("out") / "x") + output_value
    tw = TwistedWave(tmp_path_factory.mktemp("store"))

    def run() -> None:
        job = tw.submit(body)
        assert job["state"] in ("completed", "failed"), job
        assert "internal error" not in job.get("error", ""), job["error"]
        json.dumps(job, allow_nan=False)

    try:
        _outcome("twistedwave job", run)
    finally:
        tw.close()


KINDS = ["twoshot", "songclip", "twistedwave", "opera", None, 5]
MANIFEST_FIELDS = ["kind", "project", "project_file", "library", "song", "spec", "job", "output", "store", "id"]


@given(lines=st.lists(st.dictionaries(st.sampled_from(MANIFEST_FIELDS), VALUES, max_size=6), min_size=1, max_size=4),
       kinds=st.lists(st.sampled_from(KINDS), min_size=4, max_size=4))
@settings(CAMPAIGN)
def test_batch_manifests(world, lines, kinds):
    manifest = world / "manifest.jsonl"
    bodies = [{"kind": kind, "library": "lib", "project": {}, "song": "s.wav", "spec": {}, "job": {}, **line}
              for line, kind in zip(lines, kinds, strict=False)]
    manifest.write_text("\n".join(json.dumps(body) for body in bodies) + "\n")
    out = world / "out"

    def run() -> None:
        from mixdown.batch.kinds import output_name

        jobs = read_manifest(manifest)
        names = [os.path.normpath(out / output_name(job.index, job.body, job.base)) for job in jobs]
        assert len(set(names)) == len(names)
        assert all(name.startswith(str(out) + os.sep) for name in names)

    _outcome("batch manifest", run)


@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      st.integers(1, 3 * MAX_DEPTH).map(lambda n: b"[" * n + b"]" * n),
                      st.sampled_from([b"NaN", b"[Infinity]", b"1e400", b"7" * 5000, b"\xef\xbb\xbf{}"])))
@settings(CAMPAIGN)
def test_json_texts(data):
    _outcome("json text", lambda: parse_json(data, "body"))


# --- a handful through a real mixdown process ------------------------------------------------------------


def test_real_processes_refuse_in_the_platform_shape(world, tmp_path):
    project = tmp_path / "p.json"
    project.write_text(json.dumps(_set(PROJECT, ("project", "tempo"), 5e-324)))
    body = refused(process("render", project, "--library", world / "lib", "-o", tmp_path / "o.wav", "--json"),
                   "tempo")
    assert body["code"] == "VALIDATION_ERROR"
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"edit": {"max_duration": 0, "commands": [{"command": "amplify", "gain": 1e308}]}}))
    body = refused(process("job", "create", job, "--store", tmp_path / "st", "--json"), "edit.commands[0].gain")
    assert set(body) == {"error"}
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**SPEC, "end": 1e308}))
    body = refused(process("songclip", spec, "--song", world / "song.wav", "-o", tmp_path / "c.wav", "--json"),
                   "end")
    assert body["status"] == "fail"
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"kind": "twoshot", "project": {}, "library": "lib", "output": "../x.wav"}) + "\n")
    refused(process("batch", manifest, "--out", tmp_path / "out"), "line 1.output")
    assert not list(tmp_path.glob("**/.*.part*"))
