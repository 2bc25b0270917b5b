"""TwistedWave edit lists run from Python on arrays or files: :func:`render` to an array, :func:`render_to`
a file in any TwistedWave output format.

The commands are the editor's own (``amplify``, ``normalize``, ``fade-in``, ``crop``, ``delete-crossfade``,
``insert-silence``, ``convert-sampling-rate``, ``pitch-speed``, ``undo``, ``redo``, ...; see
:data:`COMMANDS`), as a job's ``edit.commands`` lists them; a selection is ``[begin, end]`` in samples, or
seconds with ``"unit": "seconds"``. Errors are :class:`TwistedWaveError` with TwistedWave's ``param``
(``edit.commands[2].level``). Jobs with a store, documents and notifications are :class:`TwistedWave`.

Examples
--------
>>> import numpy as np
>>> from mixdown import twistedwave
>>> take = np.random.default_rng(1).uniform(-0.2, 0.2, (2, 48_000)).astype(np.float32)
>>> out = twistedwave.render([{"command": "crop", "selection": [12_000, 36_000]},
...                           {"command": "normalize", "level": -1},
...                           {"command": "fade-out", "selection": [20_000, 24_000]}], take, 48_000)
>>> out.shape, round(float(20 * np.log10(np.abs(out).max())), 2)
((2, 24000), -1.0)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mixdown.api_compat.twistedwave import COMMANDS, TwistedWave, TwistedWaveError, parse_command
from mixdown.api_compat.twistedwave.edits import Take, apply
from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.errors import MixdownError
from mixdown.formats import read
from mixdown.formats.export import ExportResult, export
from mixdown.formats.spec import OutputSpec, format_for_extension

Edits = Sequence[Mapping[str, Any]] | Mapping[str, Any]
Audio = str | os.PathLike | np.ndarray | tuple[np.ndarray, int]


def _commands(edits: Edits) -> list[Any]:
    """The command list of a job (``edit.commands``), an edit object (``commands``) or a bare list."""
    if isinstance(edits, Mapping):
        edit = edits.get("edit", edits)
        raw = edit.get("commands", []) if isinstance(edit, Mapping) else None
        if not isinstance(raw, list):
            raise TwistedWaveError("expected a list of commands", param="edit.commands")
        return [parse_command(item, index) for index, item in enumerate(raw)]
    if isinstance(edits, (str, bytes)) or not isinstance(edits, Sequence):
        raise TwistedWaveError(f"expected a list of commands, got {type(edits).__name__}", param="edit.commands")
    return [parse_command(item, index) for index, item in enumerate(edits)]


def _take(audio: Audio, sample_rate: int | None) -> Take:
    try:
        if isinstance(audio, tuple):
            audio, sample_rate = audio
        if isinstance(audio, np.ndarray):
            if sample_rate is None:
                raise TwistedWaveError("an array needs its rate: pass sample_rate= or (audio, rate)",
                                       param="document")
            return Take(as_audio(audio).copy(), check_sample_rate(sample_rate))
        decoded, rate = read(audio)
        return Take(decoded, rate)
    except TwistedWaveError:
        raise
    except MixdownError as error:
        raise TwistedWaveError(error.message, param="document") from None


def apply_edits(edits: Edits, audio: Audio, sample_rate: int | None = None) -> tuple[np.ndarray, int, list[list]]:
    """Run the edit list on ``audio``; returns the audio, its rate (``convert-sampling-rate`` changes it) and
    the document's markers ``[[sample, name], ...]``.

    Examples
    --------
    >>> import numpy as np
    >>> audio, rate, markers = apply_edits(
    ...     [{"command": "add-marker", "position": 100, "name": "in"},
    ...      {"command": "convert-sampling-rate", "sample_rate": 24_000}],
    ...     np.zeros((1, 4_800), dtype=np.float32), 48_000)
    >>> audio.shape, rate, markers
    ((1, 2400), 24000, [[50, 'in']])
    """
    take = _edited(edits, audio, sample_rate)
    return take.audio, take.sample_rate, take.markers


def _edited(edits: Edits, audio: Audio, sample_rate: int | None) -> Take:
    """The document after the edit list: audio, rate, markers and the editor's state (tags, clipboard)."""
    commands = _commands(edits)
    states = [_take(audio, sample_rate)]
    position = 0
    for index, command in enumerate(commands):
        if command.command in ("undo", "redo"):
            step = -1 if command.command == "undo" else 1
            if not 0 <= position + step < len(states):
                raise TwistedWaveError(f"nothing to {command.command}", param=f"edit.commands[{index}].command")
            position += step
            continue
        changed = apply(command, states[position], index)
        del states[position + 1 :]
        states.append(changed)
        position += 1
    return states[position]


def render(edits: Edits, audio: Audio, sample_rate: int | None = None) -> np.ndarray:
    """Run a TwistedWave edit list on ``audio`` and return the result, float32 ``(channels, frames)``.

    Parameters
    ----------
    edits : list of dict, or dict
        The commands, or an edit object (``{"commands": [...]}``), or a whole job (``edit.commands``).
    audio : str, os.PathLike, np.ndarray or (np.ndarray, int)
        An audio file, an array at ``sample_rate``, or ``(array, rate)``.
    sample_rate : int, optional
        The rate of an array ``audio``.

    Returns
    -------
    np.ndarray
        The edited audio (its rate is ``sample_rate`` unless a ``convert-sampling-rate`` changed it; see
        :func:`apply_edits` for the rate and the markers).

    Raises
    ------
    TwistedWaveError
        For a command that does not validate or cannot apply; ``param`` names it.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((1, 1_000), dtype=np.float32) * 0.5
    >>> round(float(render([{"command": "amplify", "gain": -6.0206}, {"command": "reverse"}], x, 8_000).max()), 3)
    0.25
    >>> try:
    ...     render([{"command": "play"}], x, 8_000)
    ... except TwistedWaveError as error:
    ...     print(error.param)
    edit.commands[0].command
    """
    return apply_edits(edits, audio, sample_rate)[0]


def render_to(
    path: str | os.PathLike,
    edits: Edits,
    audio: Audio,
    sample_rate: int | None = None,
    *,
    output: Mapping[str, Any] | OutputSpec | str | None = None,
) -> ExportResult:
    """Run the edit list and write the result to ``path`` as the TwistedWave output object ``output``
    (default: the format ``path``'s extension names, with its default options), atomically, with the tags
    ``metadata`` set and (into WAV) the markers.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 44_100), dtype=np.float32)
    >>> done = render_to("edited.mp3", [{"command": "insert-silence", "position": 0, "length": 22_050}], x, 44_100,
    ...                  output={"format": "mp3", "bit_rate": 128})
    >>> done.format, done.frames
    ('mp3', 66150)
    """
    take = _edited(edits, audio, sample_rate)
    return export(take.audio, take.sample_rate, output or format_for_extension(str(path)), path,
                  tags=take.state.tags, markers=take.markers)


__all__ = ["COMMANDS", "TwistedWave", "TwistedWaveError", "apply_edits", "render", "render_to"]
