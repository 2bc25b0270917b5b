"""Decoding and encoding of audio files, with atomic writes.

Every TwistedWave output format (wav, w64, aiff, aifc, au, caf, flac, wv, mp3, ogg, mp2, wma, aac) with
every option of the document, from an output object: :func:`parse_output` checks it against the option
table (:data:`FORMATS`), :func:`export` resamples, cuts the range and encodes. ``FORMATS.md`` beside this
file tells which route writes each format and how exactly an independent decoder gets the frames back.

The names below load on first use (:mod:`mixdown.lazy`): reading a WAV does not import PyAV's encoders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixdown.lazy import load_on_first_use

if TYPE_CHECKING:
    from mixdown.formats.atomic import atomic_path
    from mixdown.formats.audio_io import DEFAULT_SUBTYPES, file_info, read, write, write_blocks
    from mixdown.formats.export import ExportResult, encode, encode_blocks, export
    from mixdown.formats.probe import FileSummary, probe
    from mixdown.formats.spec import OutputSpec, format_for_extension, parse_output
    from mixdown.formats.table import FORMATS

#: Each public name and the submodule that defines it.
_HOME = {
    "DEFAULT_SUBTYPES": "audio_io",
    "FORMATS": "table",
    "ExportResult": "export",
    "FileSummary": "probe",
    "OutputSpec": "spec",
    "atomic_path": "atomic",
    "encode": "export",
    "encode_blocks": "export",
    "export": "export",
    "file_info": "audio_io",
    "format_for_extension": "spec",
    "parse_output": "spec",
    "probe": "probe",
    "read": "audio_io",
    "write": "audio_io",
    "write_blocks": "audio_io",
}

__all__ = [
    "DEFAULT_SUBTYPES",
    "FORMATS",
    "ExportResult",
    "FileSummary",
    "OutputSpec",
    "atomic_path",
    "encode",
    "encode_blocks",
    "export",
    "file_info",
    "format_for_extension",
    "parse_output",
    "probe",
    "read",
    "write",
    "write_blocks",
]

load_on_first_use(__name__, _HOME)
