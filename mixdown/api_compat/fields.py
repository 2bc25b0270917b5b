"""Strict, finite number types the platform models share (a string or NaN where a number belongs is an error)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0.0)]
Positive = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0.0)]
