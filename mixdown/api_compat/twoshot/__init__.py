"""TwoShot adapter: project JSON, sample library, render requests and replies.

The friendly entry points are in :mod:`mixdown.twoshot` (``render`` to an array, ``render_to`` a file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixdown.lazy import load_on_first_use

if TYPE_CHECKING:
    from mixdown.api_compat.twoshot.errors import TwoShotError
    from mixdown.api_compat.twoshot.jobs import JobRegistry
    from mixdown.api_compat.twoshot.library import SampleLibrary
    from mixdown.api_compat.twoshot.service import parse_document, render_array, render_document
    from mixdown.api_compat.twoshot.translate import translate

_HOME = {"JobRegistry": "jobs", "SampleLibrary": "library", "TwoShotError": "errors", "parse_document": "service",
         "render_array": "service", "render_document": "service", "translate": "translate"}
__all__ = [
    "JobRegistry", "SampleLibrary", "TwoShotError", "parse_document", "render_array", "render_document", "translate",
]

load_on_first_use(__name__, _HOME)
