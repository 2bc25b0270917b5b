"""A TwistedWave output object, parsed and checked against the option table in :mod:`.table`.

Every check is generated from the table: the allowed values, the defaults, which option depends on which,
and the values listed in an error. Errors are :class:`~mixdown.errors.InvalidInputError` naming the
attribute (``field``) and, where there is a list, everything that would have been accepted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType
from typing import Any

from mixdown.engine.audio import check_sample_rate
from mixdown.errors import InvalidInputError
from mixdown.formats.table import (
    COMMON_ATTRIBUTES,
    DELIVERY_ATTRIBUTES,
    EXTENSIONS,
    FORMATS,
    IGNORED_ATTRIBUTES,
    FormatSpec,
    Option,
)
from mixdown.frames import check_addressable, whole_frames


def _json(value: Any) -> str:
    """``value`` as JSON for a message, shortened: a 100 kB bad value is shown by its first characters."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:56] + "...\""[: 4 if text.endswith('"') else 3]


def listing(values: Iterable[Any]) -> str:
    """Values as a reader would type them in JSON: ``8, 16, 24`` or ``false, true`` or ``"none", "u_law"``."""
    return ", ".join(_json(value) for value in values)


@dataclass(frozen=True)
class OutputSpec:
    """What to write: a format with every option resolved (defaults filled in), a rate, a range, a name.

    ``options`` holds exactly the options that apply (``bit_rate`` is absent from a VBR mp3); ``given`` names
    the ones the object set (a defaulted bitrate may give way at a rate that cannot carry it, a given one
    may not). The range attributes keep what was given; :meth:`frame_range` turns them into sample indices
    at the output rate. ``delivery`` carries ``url``, ``post_note``, ``public`` and ``if_modified``
    untouched for the caller that sends the file.
    """

    format: str
    options: Mapping[str, Any]
    sample_rate: int | None = None
    begin: float | None = None
    end: float | None = None
    begin_sample: int | None = None
    end_sample: int | None = None
    exported_filename: str | None = None
    dither: bool = True
    delivery: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    given: frozenset[str] = frozenset()

    @property
    def format_spec(self) -> FormatSpec:
        return FORMATS[self.format]

    @property
    def filename(self) -> str:
        """``exported_filename``, or ``export.<ext>`` for the format (``export.mp3``, ``export.m4a``)."""
        return self.exported_filename or f"export.{self.format_spec.extension}"

    def frame_range(self, frames: int, sample_rate: int) -> tuple[int, int]:
        """``(first, stop)`` sample indices of the range in audio of ``frames`` frames at ``sample_rate``.

        Seconds become samples by rounding half up at ``sample_rate`` (the output rate). The range must
        hold at least one frame and end within the audio.
        """
        first, first_field = _position(self.begin_sample, self.begin, "begin", sample_rate, 0)
        stop, stop_field = _position(self.end_sample, self.end, "end", sample_rate, frames)
        if first >= frames:
            raise InvalidInputError(
                f"starts at sample {first}, but the audio has {frames} frames at {sample_rate} Hz", field=first_field
            )
        if stop > frames:
            raise InvalidInputError(
                f"ends at sample {stop}, beyond the audio's {frames} frames at {sample_rate} Hz", field=stop_field
            )
        if stop <= first:
            raise InvalidInputError(f"ends at sample {stop}, not after the start ({first})", field=stop_field)
        return first, stop

    def to_dict(self) -> dict[str, Any]:
        """The output object with every default filled in (the form :func:`parse_output` accepts)."""
        reply: dict[str, Any] = {"format": self.format, **self.options, "exported_filename": self.filename,
                                 "dither": self.dither}
        for name in ("sample_rate", "begin", "end", "begin_sample", "end_sample"):
            if getattr(self, name) is not None:
                reply[name] = getattr(self, name)
        reply.update(self.delivery)
        return reply


def _position(sample: int | None, seconds: float | None, name: str, rate: int, default: int) -> tuple[int, str]:
    if sample is not None:
        return sample, f"{name}_sample"
    if seconds is not None:
        return whole_frames(seconds * rate, name, seconds), name
    return default, f"{name}_sample"


def format_for_extension(path_or_extension: str) -> str:
    """The format a file name's extension names (``out.m4a`` -> ``aac``); an unknown one is an error."""
    extension = PurePath(path_or_extension).suffix.lstrip(".") or path_or_extension
    name = EXTENSIONS.get(extension.lower())
    if name is None:
        raise InvalidInputError(
            f"cannot tell the output format from {path_or_extension!r}; known extensions: "
            f"{', '.join(sorted(EXTENSIONS))}",
            field="format",
        )
    return name


def _typed(value: Any, kinds: tuple[type, ...], name: str) -> Any:
    """``value`` if it is one of ``kinds`` (a whole float counts as an int; a bool never counts as a number)."""
    if isinstance(value, bool):
        if bool in kinds:
            return value
    elif isinstance(value, float) and int in kinds and float not in kinds:
        if value.is_integer():
            return int(value)
    elif isinstance(value, kinds):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInputError(f"expected a finite number, got {value!r}", field=name)
        return value
    words = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    expected = " or ".join(words[kind] for kind in kinds if not (kind is int and float in kinds))
    shown = _json(value) if _jsonable(value) else repr(value)[:60]
    raise InvalidInputError(f"expected {expected}, got {shown}", field=name)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _resolve_option(fmt: FormatSpec, name: str, option: Option, given: Mapping[str, Any],
                    resolved: Mapping[str, Any]) -> tuple[bool, Any]:
    """``(applies, value)`` for one option, checking a given value against the table."""
    if option.only_when is not None:
        other, wanted = option.only_when
        if resolved.get(other) != wanted:
            if name in given:
                raise InvalidInputError(
                    f"can only be given when {other} is {_json(wanted)}, and {other} is {_json(resolved.get(other))}",
                    field=name,
                )
            return False, None
    if name not in given:
        return True, option.default
    value = _typed(given[name], (option.kind,), name)
    if value not in option.allowed:
        raise InvalidInputError(
            f"{_json(value)} is not allowed for {fmt.name}; allowed: {listing(option.allowed)}", field=name
        )
    if value in option.unavailable:
        writable = [v for v in option.allowed if v not in option.unavailable]
        raise InvalidInputError(
            f"{fmt.name} with {name} {_json(value)} cannot be written: {option.unavailable[value]}; "
            f"writable: {listing(writable)}",
            field=name,
        )
    return True, value


def resolve_options(format_name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The format's options with defaults filled in, checked against the table (unknown names included)."""
    fmt = _format(format_name)
    for name in given:
        if name not in fmt.options:
            raise InvalidInputError(
                f"is not an option of {fmt.name}; its options: {', '.join(fmt.options) or 'none'}", field=name
            )
    resolved: dict[str, Any] = {}
    for name, option in fmt.options.items():
        applies, value = _resolve_option(fmt, name, option, given, resolved)
        if applies:
            resolved[name] = value
    return resolved


def _format(name: Any) -> FormatSpec:
    if not isinstance(name, str) or name not in FORMATS:
        shown = _json(name) if _jsonable(name) else repr(name)[:60]
        raise InvalidInputError(f"{shown} is not a format; allowed: {listing(sorted(FORMATS))}", field="format")
    return FORMATS[name]


def check_rate(fmt: FormatSpec, sample_rate: int, *, field: str = "sample_rate") -> None:
    """Refuse a sample rate the format cannot carry, listing the ones it can."""
    if sample_rate not in fmt.sample_rates:
        raise InvalidInputError(
            f"{fmt.name} cannot carry {sample_rate} Hz; allowed: {fmt.sample_rates.describe()}", field=field
        )


def check_encodable(format_name: str, options: Mapping[str, Any], sample_rate: int, channels: int,
                    given: Iterable[str] = ()) -> dict[str, Any]:
    """The options to encode with at this rate, after refusing what the format cannot hold.

    The format must carry ``sample_rate`` (reported against ``sample_rate``: set it to resample) and
    ``channels``. An option whose values depend on the rate (MPEG bitrates) must be available at this
    rate when it is in ``given``; a defaulted one becomes the nearest available value (mp3's default 128
    kbps is 64 kbps at 8 kHz).
    """
    fmt = _format(format_name)
    check_rate(fmt, sample_rate)
    if fmt.max_channels is not None and channels > fmt.max_channels:
        raise InvalidInputError(
            f"{fmt.name} holds at most {fmt.max_channels} channels; the audio has {channels}", field="audio"
        )
    resolved = dict(options)
    for name in fmt.per_rate:
        if name in resolved:
            allowed = fmt.allowed_at(name, sample_rate)
            if resolved[name] in allowed:
                continue
            if name in given:
                raise InvalidInputError(
                    f"{_json(resolved[name])} is not available for {fmt.name} at {sample_rate} Hz; allowed at "
                    f"that rate: {listing(allowed)}",
                    field=name,
                )
            wanted = resolved[name]
            resolved[name] = min(allowed, key=lambda value: (abs(value - wanted), value))
    return resolved


def _range_values(given: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for seconds, samples in (("begin", "begin_sample"), ("end", "end_sample")):
        if seconds in given and samples in given:
            raise InvalidInputError(f"give {seconds} or {samples}, not both", field=samples)
        if seconds in given:
            value = _typed(given[seconds], (int, float), seconds)
            if value < 0:
                raise InvalidInputError(f"must be at least 0 seconds, got {value}", field=seconds)
            check_addressable(value, seconds, seconds=True)
            values[seconds] = float(value)
        if samples in given:
            value = _typed(given[samples], (int,), samples)
            if value < 0:
                raise InvalidInputError(f"must be at least 0, got {value}", field=samples)
            check_addressable(value, samples, seconds=False)
            values[samples] = value
    if "begin_sample" in values and "end_sample" in values and values["end_sample"] <= values["begin_sample"]:
        raise InvalidInputError(
            f"{values['end_sample']} is not after begin_sample {values['begin_sample']}", field="end_sample"
        )
    if "begin" in values and "end" in values and values["end"] <= values["begin"]:
        raise InvalidInputError(f"{values['end']} is not after begin {values['begin']}", field="end")
    return values


#: Longest file name (bytes) the file systems mixdown writes to accept.
NAME_MAX = 255


def _filename(value: str) -> str:
    if (not value or value in (".", "..") or "/" in value or "\\" in value or "\0" in value
            or len(value.encode(errors="surrogatepass")) > NAME_MAX):
        raise InvalidInputError(f"must be a plain file name of at most {NAME_MAX} bytes, got {value[:60]!r}",
                                field="exported_filename")
    return value


def parse_output(output: Mapping[str, Any]) -> OutputSpec:
    """Parse a TwistedWave output object into an :class:`OutputSpec`, defaults filled in.

    Parameters
    ----------
    output
        The output object as decoded from JSON, e.g. ``{"format": "mp3", "vbr": true, "vbr_quality": 0}``.

    Raises
    ------
    InvalidInputError
        Naming the attribute (``field``) for a missing or unknown format, an unknown attribute, a value of
        the wrong type or outside the document's allowed values (the message lists them), an option given
        where it does not apply (``vbr_quality`` on a CBR mp3, ``bit_depth`` with a codec), a value the
        document lists that no encoder here writes (aifc ``ms_adpcm``), a sample rate the format cannot
        carry, or a range that ends before it begins.

    Examples
    --------
    >>> dict(parse_output({"format": "flac", "bit_depth": 24}).options)
    {'compression_level': 5, 'bit_depth': 24}
    """
    if not isinstance(output, Mapping):
        raise InvalidInputError(f"expected an output object, got {type(output).__name__}", field="output")
    if "format" not in output:
        raise InvalidInputError(f"is required; allowed: {listing(sorted(FORMATS))}", field="format")
    fmt = _format(output["format"])
    option_values = {name: value for name, value in output.items() if name in fmt.options}
    for name in output:
        if name not in fmt.options and name not in COMMON_ATTRIBUTES:
            raise InvalidInputError(
                f"is not an attribute of a {fmt.name} output; allowed: "
                f"{', '.join([*fmt.options, *(a for a in COMMON_ATTRIBUTES if a not in IGNORED_ATTRIBUTES)])}",
                field=name,
            )
    common = {name: _typed(value, COMMON_ATTRIBUTES[name], name) for name, value in output.items()
              if name in COMMON_ATTRIBUTES and name != "format"}
    sample_rate = common.get("sample_rate")
    if sample_rate is not None:
        sample_rate = check_sample_rate(sample_rate)
        check_rate(fmt, sample_rate)
    return OutputSpec(
        format=fmt.name,
        options=MappingProxyType(resolve_options(fmt.name, option_values)),
        sample_rate=sample_rate,
        exported_filename=_filename(common["exported_filename"]) if "exported_filename" in common else None,
        dither=common.get("dither", True),
        delivery=MappingProxyType({name: common[name] for name in DELIVERY_ATTRIBUTES if name in common}),
        given=frozenset(option_values),
        **_range_values(common),
    )
