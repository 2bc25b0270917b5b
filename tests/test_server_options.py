"""``mixdown serve``'s options agree with the rest of mixdown's, and its state opens homes of older versions."""

from __future__ import annotations

import pytest

from mixdown.cli import _parser
from mixdown.frames import DEFAULT_MAX_DURATION_S
from mixdown.server.config import ServerConfig
from mixdown.server.state import SCHEMA_VERSION, State, StateError


def test_serve_refuses_renders_past_the_limit_render_uses():
    """One default for how long a render may be: a project ``mixdown render`` renders, the server renders."""
    parser = _parser()
    assert parser.parse_args(["serve"]).max_duration == DEFAULT_MAX_DURATION_S == 24 * 3600
    assert ServerConfig().max_duration == DEFAULT_MAX_DURATION_S
    assert parser.parse_args(["render", "p.json", "-o", "o.wav"]).max_duration is None  # None: the default


def test_a_home_of_the_previous_schema_is_upgraded(tmp_path):
    """A version-1 database (before tempo outcomes and project durations were stored) opens and is upgraded
    in place: a sample whose analysis had finished counts as measured, one still processing does not."""
    state = State(tmp_path)
    with state.transaction() as conn:
        for audio_id, processing in (("done", 0), ("pending", 1)):
            conn.execute("INSERT INTO audio (id, path, kind, created) VALUES (?, 'library/x.wav', 'sample', 'now')",
                         (audio_id,))
            conn.execute("INSERT INTO samples (audio_id, processing, created) VALUES (?, ?, 'now')",
                         (audio_id, processing))
        conn.execute("INSERT INTO projects (id, data, created, updated) VALUES ('p', '{}', 'now', 'now')")
        conn.execute("ALTER TABLE audio DROP COLUMN bpm_measured")
        conn.execute("ALTER TABLE projects DROP COLUMN duration")
        conn.execute("PRAGMA user_version = 1")
    state.connection().close()

    upgraded = State(tmp_path)
    assert upgraded.one("PRAGMA user_version")[0] == SCHEMA_VERSION == 2
    measured = {row["id"]: row["bpm_measured"] for row in upgraded.all("SELECT id, bpm_measured FROM audio")}
    assert measured == {"done": 1, "pending": 0}
    assert upgraded.one("SELECT duration FROM projects WHERE id = 'p'")["duration"] is None


def test_a_home_of_a_newer_schema_is_refused(tmp_path):
    State(tmp_path).connection().execute("PRAGMA user_version = 99")
    with pytest.raises(StateError, match="schema version 99"):
        State(tmp_path)
