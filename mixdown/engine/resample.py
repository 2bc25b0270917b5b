"""Sample-rate conversion with soxr (very high quality), the engine's one resampler."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import soxr

from mixdown.engine.audio import as_audio, check_sample_rate


def resampled_length(frames: int, from_rate: int, to_rate: int) -> int:
    """Frames after conversion: ``round(frames * to_rate / from_rate)``, computed exactly in integers."""
    return (2 * frames * to_rate + from_rate) // (2 * from_rate)


def resample(audio: np.ndarray, from_rate: int, to_rate: int, *, quality: str = "VHQ") -> np.ndarray:
    """Convert ``audio`` from ``from_rate`` to ``to_rate`` Hz.

    The result has exactly :func:`resampled_length` frames (soxr's output is trimmed or zero-padded by at
    most a frame to that count), so lengths stay predictable to the sample.
    """
    audio = as_audio(audio)
    from_rate = check_sample_rate(from_rate, field="from_rate")
    to_rate = check_sample_rate(to_rate, field="to_rate")
    if from_rate == to_rate:
        return audio.copy()
    frames = resampled_length(audio.shape[1], from_rate, to_rate)
    converted = soxr.resample(audio.T, from_rate, to_rate, quality=quality).T
    out = np.zeros((audio.shape[0], frames), dtype=np.float32)
    n = min(frames, converted.shape[1])
    out[:, :n] = converted[:, :n]
    return out


def resample_blocks(
    blocks: Iterable[np.ndarray], from_rate: int, to_rate: int, channels: int, *, quality: str = "VHQ"
) -> Iterator[np.ndarray]:
    """:func:`resample` over a signal given in blocks, holding one block at a time.

    Yields float32 ``(channels, n)`` blocks that together are exactly what :func:`resample` returns for the
    whole signal: the same samples (soxr's stream and one-shot conversions agree bit for bit) and exactly
    :func:`resampled_length` frames of the input's total.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal((2, 10_000)).astype(np.float32)
    >>> pieces = list(resample_blocks([x[:, :3_000], x[:, 3_000:]], 48_000, 44_100, 2))
    >>> np.array_equal(np.concatenate(pieces, axis=1), resample(x, 48_000, 44_100))
    True
    """
    from_rate = check_sample_rate(from_rate, field="from_rate")
    to_rate = check_sample_rate(to_rate, field="to_rate")
    if from_rate == to_rate:
        yield from (as_audio(block) for block in blocks)
        return
    stream = soxr.ResampleStream(from_rate, to_rate, channels, dtype="float32", quality=quality)
    consumed = produced = 0
    for block in blocks:
        block = as_audio(block)
        consumed += block.shape[1]
        out = stream.resample_chunk(np.ascontiguousarray(block.T), last=False).T
        out = out[:, : max(0, resampled_length(consumed, from_rate, to_rate) - produced)]
        produced += out.shape[1]
        if out.shape[1]:
            yield np.ascontiguousarray(out)
    last = stream.resample_chunk(np.zeros((0, channels), dtype=np.float32), last=True).T
    wanted = resampled_length(consumed, from_rate, to_rate)
    tail = np.zeros((channels, max(0, wanted - produced)), dtype=np.float32)
    n = min(tail.shape[1], last.shape[1])
    tail[:, :n] = last[:, :n]
    if tail.shape[1]:
        yield tail
