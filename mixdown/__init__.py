"""mixdown: local, offline audio rendering of platform project and job JSON."""

from mixdown.errors import (
    AudioReadError,
    InvalidInputError,
    MixdownError,
    OutputError,
)

__version__ = "0.1.0"

__all__ = [
    "AudioReadError",
    "InvalidInputError",
    "MixdownError",
    "OutputError",
    "__version__",
]
