"""The output object: the document's defaults and allowed values, and errors that name the field and list
what is allowed. The expectations restate the TwistedWave document ("Outputs", "File formats")."""

from __future__ import annotations

import pytest

from mixdown.errors import InvalidInputError
from mixdown.formats import FORMATS, format_for_extension, parse_output
from mixdown.formats.spec import check_encodable

DEFAULTS = {
    "wav": {"codec": "none", "bit_depth": 16},
    "w64": {"codec": "none", "bit_depth": 16},
    "aiff": {"bit_depth": 16},
    "aifc": {"codec": "none", "bit_depth": 16},
    "au": {"codec": "none", "bit_depth": 16},
    "caf": {"codec": "none", "bit_depth": 16},
    "flac": {"compression_level": 5, "bit_depth": 16},
    "wv": {"compression_level": 0, "bit_depth": 16},
    "mp3": {"vbr": False, "joint_stereo": True, "bit_rate": 128, "quality": 2},
    "ogg": {"vbr": False, "bit_rate": 128},
    "mp2": {"bit_rate": 128},
    "wma": {"bit_rate": 128},
    "aac": {"bit_rate": 128},
}
FILENAMES = {"mp3": "export.mp3", "aac": "export.m4a", "aifc": "export.aifc", "wv": "export.wv", "wma": "export.wma"}


def error_for(output: dict) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as info:
        parse_output(output)
    return info.value


def test_every_document_format_is_in_the_table():
    assert set(FORMATS) == set(DEFAULTS)


@pytest.mark.parametrize("fmt", sorted(DEFAULTS))
def test_defaults_are_the_documents(fmt):
    spec = parse_output({"format": fmt})
    assert dict(spec.options) == DEFAULTS[fmt]
    assert spec.filename == FILENAMES.get(fmt, f"export.{fmt}")
    assert spec.dither is True and spec.sample_rate is None


def test_options_that_depend_on_another_switch_with_it():
    assert dict(parse_output({"format": "mp3", "vbr": True}).options) == {
        "vbr": True, "joint_stereo": True, "vbr_quality": 2, "quality": 2}
    assert dict(parse_output({"format": "ogg", "vbr": True}).options) == {"vbr": True, "vbr_quality": 7}
    assert dict(parse_output({"format": "wav", "codec": "ima4"}).options) == {"codec": "ima4"}
    assert dict(parse_output({"format": "au", "codec": "u_law"}).options) == {"codec": "u_law"}


@pytest.mark.parametrize("output,field,listed", [
    ({"format": "mp3", "bit_rate": 100}, "bit_rate", "allowed: 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, "
                                                     "160, 192, 224, 256, 320"),
    ({"format": "wav", "bit_depth": 20}, "bit_depth", "allowed: 8, 16, 24, 32"),
    ({"format": "flac", "bit_depth": 32}, "bit_depth", "allowed: 16, 20, 24"),
    ({"format": "flac", "compression_level": 9}, "compression_level", "allowed: 0, 1, 2, 3, 4, 5, 6, 7, 8"),
    ({"format": "wv", "compression_level": 4}, "compression_level", "allowed: 0, 1, 2, 3"),
    ({"format": "ogg", "vbr": True, "vbr_quality": 11}, "vbr_quality", "allowed: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"),
    ({"format": "mp3", "vbr": True, "vbr_quality": 10}, "vbr_quality", "allowed: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9"),
    ({"format": "mp2", "bit_rate": 8}, "bit_rate", "allowed: 32, 40"),
    ({"format": "au", "codec": "a_law"}, "codec", 'allowed: "none", "u_law"'),
    ({"format": "caf", "codec": "ima4"}, "codec", 'allowed: "none", "u_law", "a_law"'),
    ({"format": "ogg", "bit_rate": 8}, "bit_rate", "allowed: 32, 40"),
])
def test_values_outside_the_document_name_the_field_and_list_what_is_allowed(output, field, listed):
    error = error_for(output)
    assert error.field == field
    assert listed in error.message
    assert str(output[field]) in error.message


@pytest.mark.parametrize("output,field,reason", [
    ({"format": "mp3", "vbr_quality": 3}, "vbr_quality", "only be given when vbr is true"),
    ({"format": "mp3", "vbr": True, "bit_rate": 192}, "bit_rate", "only be given when vbr is false"),
    ({"format": "ogg", "vbr_quality": 3}, "vbr_quality", "only be given when vbr is true"),
    ({"format": "wav", "codec": "ima4", "bit_depth": 16}, "bit_depth", 'only be given when codec is "none"'),
    ({"format": "w64", "codec": "u_law", "bit_depth": 8}, "bit_depth", 'and codec is "u_law"'),
])
def test_options_given_where_they_do_not_apply_are_refused(output, field, reason):
    error = error_for(output)
    assert error.field == field and reason in error.message


def test_the_one_document_value_no_encoder_writes_says_so():
    error = error_for({"format": "aifc", "codec": "ms_adpcm"})
    assert error.field == "codec"
    assert "cannot be written" in error.message and 'writable: "none", "u_law", "a_law", "ima4"' in error.message


@pytest.mark.parametrize("output,field,words", [
    ({}, "format", 'required; allowed: "aac", "aifc"'),
    ({"format": "opus"}, "format", '"opus" is not a format; allowed:'),
    ({"format": 3}, "format", "3 is not a format"),
    ({"format": "wav", "bit_rate": 128}, "bit_rate", "not an attribute of a wav output; allowed: codec, bit_depth"),
    ({"format": "mp3", "vbr": "true"}, "vbr", 'expected true or false, got "true"'),
    ({"format": "mp3", "bit_rate": "128"}, "bit_rate", "expected a whole number"),
    ({"format": "mp3", "bit_rate": True}, "bit_rate", "expected a whole number, got true"),
    ({"format": "wav", "bit_depth": 16.5}, "bit_depth", "expected a whole number, got 16.5"),
    ({"format": "wav", "sample_rate": 44_100.5}, "sample_rate", "expected a whole number"),
    ({"format": "wav", "sample_rate": 0}, "sample_rate", "1..768000"),
    ({"format": "mp3", "sample_rate": 96_000}, "sample_rate", "mp3 cannot carry 96000 Hz; allowed: 8000, 11025"),
    ({"format": "wma", "sample_rate": 96_000}, "sample_rate", "allowed: 8000 to 48000 Hz"),
    ({"format": "wav", "begin": -1}, "begin", "at least 0"),
    ({"format": "wav", "begin": float("inf")}, "begin", "finite"),
    ({"format": "wav", "begin_sample": 10, "end_sample": 10}, "end_sample", "not after begin_sample 10"),
    ({"format": "wav", "begin": 2.0, "end": 1.0}, "end", "not after begin 2.0"),
    ({"format": "wav", "begin": 1.0, "begin_sample": 5}, "begin_sample", "give begin or begin_sample, not both"),
    ({"format": "wav", "exported_filename": "../x.wav"}, "exported_filename", "plain file name"),
    ({"format": "wav", "dither": 1}, "dither", "true or false"),
])
def test_bad_attributes_name_their_field(output, field, words):
    error = error_for(output)
    assert error.field == field
    assert words in error.message
    assert str(error).startswith(f"{field}: ")


def test_whole_floats_from_json_count_as_integers():
    assert parse_output({"format": "mp3", "bit_rate": 192.0}).options["bit_rate"] == 192


def test_read_only_and_delivery_attributes_are_accepted():
    spec = parse_output({"format": "wav", "state": "completed", "file_size": 339722, "url": "s3://b/k.wav",
                         "public": True, "post_note": False, "if_modified": True, "exported_filename": "k.wav"})
    assert dict(spec.delivery) == {"url": "s3://b/k.wav", "post_note": False, "public": True, "if_modified": True}
    assert spec.filename == "k.wav"
    again = parse_output(spec.to_dict())
    assert again.delivery == spec.delivery and again.options == spec.options and again.filename == "k.wav"


def test_a_parsed_spec_round_trips_through_its_dict():
    spec = parse_output({"format": "mp3", "vbr": True, "vbr_quality": 0, "sample_rate": 22_050, "begin": 1.5,
                         "end_sample": 90_000, "dither": False})
    again = parse_output(spec.to_dict())
    assert again.options == spec.options and again.begin == 1.5 and again.end_sample == 90_000
    assert again.sample_rate == 22_050 and again.dither is False


@pytest.mark.parametrize("output,frames,rate,expected", [
    ({"begin_sample": 1000, "end_sample": 45_100}, 50_000, 44_100, (1000, 45_100)),
    ({"begin": 0.5, "end": 1.0}, 48_000, 48_000, (24_000, 48_000)),
    ({"begin": 1 / 3}, 3, 3, (1, 3)),
    ({"end": 0.5 / 44_100}, 10, 44_100, (0, 1)),
    ({}, 7, 8000, (0, 7)),
])
def test_ranges_become_sample_indices_at_the_output_rate(output, frames, rate, expected):
    assert parse_output({"format": "wav", **output}).frame_range(frames, rate) == expected


@pytest.mark.parametrize("output,field,words", [
    ({"begin_sample": 500}, "begin_sample", "starts at sample 500, but the audio has 500 frames"),
    ({"end_sample": 501}, "end_sample", "beyond the audio's 500 frames"),
    ({"end": 1.0}, "end", "ends at sample 8000"),
    ({"begin": 0.01, "end_sample": 80}, "end_sample", r"not after the start \(80\)"),
])
def test_ranges_outside_the_audio_are_refused(output, field, words):
    spec = parse_output({"format": "wav", **output})
    with pytest.raises(InvalidInputError, match=words) as info:
        spec.frame_range(500, 8000)
    assert info.value.field == field


def test_mpeg_bitrates_depend_on_the_rate_and_a_default_gives_way():
    assert check_encodable("mp3", {"bit_rate": 320}, 44_100, 2, {"bit_rate"})["bit_rate"] == 320
    with pytest.raises(InvalidInputError, match="at 22050 Hz; allowed at that rate: 8, 16") as info:
        check_encodable("mp3", {"bit_rate": 320}, 22_050, 2, {"bit_rate"})
    assert info.value.field == "bit_rate"
    with pytest.raises(InvalidInputError, match="40 is not available for mp2 at 44100 Hz"):
        check_encodable("mp2", {"bit_rate": 40}, 44_100, 2, {"bit_rate"})
    assert check_encodable("mp3", {"bit_rate": 128}, 8_000, 1)["bit_rate"] == 64
    with pytest.raises(InvalidInputError, match="at most 2 channels; the audio has 6") as info:
        check_encodable("mp3", {"bit_rate": 128}, 44_100, 6)
    assert info.value.field == "audio"


@pytest.mark.parametrize("name,fmt", [("a.MP3", "mp3"), ("x.m4a", "aac"), ("x.aac", "aac"), ("x.aif", "aiff"),
                                      ("x.aifc", "aifc"), ("x.oga", "ogg"), ("x.wv", "wv"), ("wav", "wav")])
def test_extensions_name_formats(name, fmt):
    assert format_for_extension(name) == fmt


def test_an_unknown_extension_lists_the_known_ones():
    with pytest.raises(InvalidInputError, match="known extensions: aac, aif") as info:
        format_for_extension("x.xyz")
    assert info.value.field == "format"
