"""Packages whose public names load on first use (PEP 562), so that importing one module of a package does
not import all of its siblings: the loudness meter without the stretcher's FFTs, a WAV reader without
PyAV. Each of the command line's imports costs every command its memory and start time.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import Any


class LazyPackage(types.ModuleType):
    """A package whose public names (``_homes``: name -> submodule) are imported when first read.

    The import system binds each submodule it loads as an attribute of its package. Where a submodule
    shares a public function's name (``mixdown.engine.render``, ``mixdown.formats.export``), the name stays
    the function, as it was when the package imported everything eagerly.
    """

    def __getattr__(self, name: str) -> Any:
        home = self.__dict__["_homes"].get(name)
        if home is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{self.__name__}.{home}"), name)
        self.__dict__[name] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in self.__dict__.get("_homes", ()):
            return
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted({*self.__dict__, *self.__dict__["_homes"]})


def load_on_first_use(package: str, homes: Mapping[str, str]) -> None:
    """Make ``package`` (already in ``sys.modules``, normally the caller's own) a :class:`LazyPackage` that
    imports each name of ``homes`` from ``package.<home>`` on first use."""
    module = sys.modules[package]
    module.__dict__["_homes"] = dict(homes)
    module.__class__ = LazyPackage
