"""Decoding and encoding of audio files, with atomic writes."""

from mixdown.formats.atomic import atomic_path
from mixdown.formats.audio_io import DEFAULT_SUBTYPES, file_info, read, write, write_blocks

__all__ = ["DEFAULT_SUBTYPES", "atomic_path", "file_info", "read", "write", "write_blocks"]
