"""``mixdown serve``'s options agree with the rest of mixdown's."""

from __future__ import annotations

from mixdown.cli import _parser
from mixdown.frames import DEFAULT_MAX_DURATION_S
from mixdown.server.config import ServerConfig


def test_serve_refuses_renders_past_the_limit_render_uses():
    """One default for how long a render may be: a project ``mixdown render`` renders, the server renders."""
    parser = _parser()
    assert parser.parse_args(["serve"]).max_duration == DEFAULT_MAX_DURATION_S == 24 * 3600
    assert ServerConfig().max_duration == DEFAULT_MAX_DURATION_S
    assert parser.parse_args(["render", "p.json", "-o", "o.wav"]).max_duration is None  # None: the default
