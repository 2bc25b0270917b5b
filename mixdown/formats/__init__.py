"""Decoding and encoding of audio files, with atomic writes.

Every TwistedWave output format (wav, w64, aiff, aifc, au, caf, flac, wv, mp3, ogg, mp2, wma, aac) with
every option of the document, from an output object: :func:`parse_output` checks it against the option
table (:data:`FORMATS`), :func:`export` resamples, cuts the range and encodes. ``FORMATS.md`` beside this
file tells which route writes each format and how exactly an independent decoder gets the frames back.
"""

from mixdown.formats.atomic import atomic_path
from mixdown.formats.audio_io import DEFAULT_SUBTYPES, file_info, read, write, write_blocks
from mixdown.formats.export import ExportResult, encode, encode_blocks, export
from mixdown.formats.probe import FileSummary, probe
from mixdown.formats.spec import OutputSpec, format_for_extension, parse_output
from mixdown.formats.table import FORMATS

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
