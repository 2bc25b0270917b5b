"""TwoShot adapter: project JSON, sample library, render requests and replies.

The friendly entry points are in :mod:`mixdown.twoshot` (``render`` to an array, ``render_to`` a file).
"""

from mixdown.api_compat.twoshot.errors import TwoShotError
from mixdown.api_compat.twoshot.jobs import JobRegistry
from mixdown.api_compat.twoshot.library import SampleLibrary
from mixdown.api_compat.twoshot.service import parse_document, render_array, render_document
from mixdown.api_compat.twoshot.translate import translate

__all__ = ["JobRegistry", "SampleLibrary", "TwoShotError", "parse_document", "render_array", "render_document",
           "translate"]
