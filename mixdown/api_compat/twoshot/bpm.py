"""Tempo of a sample when neither the project nor the library gives it.

Everything works on an onset envelope: the log-mel spectral flux of the mono mix at 22 050 Hz, 172 frames a
second, and on beat grids laid over it (a grid's score is the mean envelope at its beats). Two methods:

``loop-length``
    A loop spans whole bars, so its tempo is exactly ``bars * 4 * 60 / duration`` for some bar count: the
    answer is as exact as the file's length, not measured. A count of 1, 2, 4, 8 or 16 bars whose tempo is
    in ``[low, high]`` is taken when the onsets support it: the tempo measured on the audio played as a loop
    is an octave of it, so closely that their grids part by at most :data:`LOOP_DRIFT_SECONDS` over the file
    (a file a tenth of a bar short or long misses by a tenth of a bar), and its grid laid from the first
    sample is strong (a loop starts on its downbeat).
``autocorrelation``
    Otherwise the envelope's autocorrelation (a period and its multiples together) gives a coarse beat
    period, and a grid fitted over tempo and phase refines it (parabolic interpolation of the peak).

Octaves. Of ``T`` and ``2 T`` the slower grid is half of the faster one, so both fit. Read at ``T``, the
faster tempo's beats are eighth notes and its sixteenths thirty-second notes: when the eighths are nearly as
strong as the beats (:data:`OCTAVE_RATIO`: kick and snare alternating) or thirty-seconds sound
(:data:`FINE_RATIO`), ``2 T`` is taken; hi-hat eighths between kicks and snares keep ``T``. Which half of the
faster grid carries the slower one's beats matters: for a loop it is the half through the first sample;
otherwise the half through the file's first strong onset (audio usually starts on a beat), else the
stronger half. Patterns that put as much on the off-beats as on the beats (a reggae skank: bass on the
beats, chords on every "and") are read at the faster octave; nothing in the onsets says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numba
import numpy as np
import scipy.fft
import soxr

from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.errors import InvalidInputError

ANALYSIS_RATE = 22_050
N_FFT = 1024
HOP = 128
N_MELS = 96
#: Frames by which the envelope is delayed: the log flux of an attack peaks about two hops before the attack
#: itself (the window's leading edge meets it first), so frame ``i`` is the one centred at ``(i - 2) * HOP``.
SHIFT = 2
#: Flux floor: bands more than this far below the loudest frame count as silent.
DYNAMIC_RANGE_DB = 80.0
#: Peak below which audio is silence (-120 dBFS).
SILENCE = 1e-6
#: Bar counts a loop may span when the caller does not say it is a loop.
LOOP_BARS = (1, 2, 4, 8, 16)
BEATS_PER_BAR = 4
#: A loop's grid may be this late or early at its first beat (a slow attack, a few samples of lead-in).
LOOP_PHASE_SECONDS = 0.02
#: The measured beat grid may part from a loop's own grid by at most this much over the file.
LOOP_DRIFT_SECONDS = 0.03
#: ... and the grid fitted to one pass of the loop (within :data:`LOOP_SEARCH` of its tempo) by this much:
#: looser, as one pass of a humanized loop measures less precisely, but it catches 50 ms of encoder padding.
LOOP_ONCE_DRIFT_SECONDS = 0.04
LOOP_SEARCH = 0.04
#: Fraction of a coarse autocorrelation tempo searched on either side by the fitted grid.
REFINE_SEARCH = 0.03
#: The faster of two octaves wins when the onsets between the slower grid's beats are at least this strong,
#: relative to those on its beats.
OCTAVE_RATIO = 0.7
#: ... or when the onsets on its thirty-second notes are at least this strong, relative to its beats.
FINE_RATIO = 0.1
#: The grid's mean onset strength must exceed the envelope's mean by this factor to count as support...
MIN_CONTRAST = 1.15
#: ... and be at least this fraction of the measured beat grid's (at the slowest octave in range)...
LOOP_STRENGTH = 0.4
#: ... and of the same grid's at its best phase.
LOOP_PHASE_STRENGTH = 0.5
#: Tempi the autocorrelation is read at, log-spaced over ``[low, high]``, before the grid refines one.
COARSE_STEPS = 400
#: A loop shorter than this is repeated to this length for its measured tempo: one bar has too few beats.
LOOP_MEASURE_SECONDS = 12.0
#: A file's first onset at least this fraction of the strongest is taken to be on a beat.
START_ONSET = 0.3


@dataclass(frozen=True)
class BpmEstimate:
    """A detected tempo.

    ``confidence`` in [0, 1]: how far the onsets on the beat grid stand above the envelope's average, times
    the fraction of beats that carry an onset, halved at most when the octave decision was close (near 0
    for noise, about 0.9 for a clean drum loop). ``bars`` is the loop's bar count when the loop-length rule
    decided, else ``None``. ``method`` is ``"loop-length"`` or ``"autocorrelation"``.
    """

    bpm: float
    confidence: float
    bars: int | None
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


def _check_range(low: float, high: float) -> tuple[float, float]:
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidInputError(f"expected a number of BPM, got {value!r}", field=name)
        if not math.isfinite(value) or value <= 0:
            raise InvalidInputError(f"must be a positive finite BPM, got {value!r}", field=name)
    if not low < high:
        raise InvalidInputError(f"must be greater than low ({low}), got {high}", field="high")
    return float(low), float(high)


# --- onset envelope -------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _mel_filters(rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """Triangular filters evenly spaced in mel (Slaney's scale), area-normalised: ``(n_mels, n_fft // 2 + 1)``."""

    def to_mel(hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, dtype=np.float64)
        above = 15.0 + 27.0 * np.log(np.maximum(hz, 1e-9) / 1000.0) / np.log(6.4)
        return np.where(hz < 1000.0, 3.0 * hz / 200.0, above)

    def to_hz(mel: np.ndarray) -> np.ndarray:
        return np.where(mel < 15.0, 200.0 * mel / 3.0, 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27.0))

    edges = to_hz(np.linspace(0.0, float(to_mel(rate / 2.0)), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lower = (bins[np.newaxis, :] - edges[:-2, np.newaxis]) / (edges[1:-1] - edges[:-2])[:, np.newaxis]
    upper = (edges[2:, np.newaxis] - bins[np.newaxis, :]) / (edges[2:] - edges[1:-1])[:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, np.newaxis]
    return weights.astype(np.float32)


@numba.njit(cache=True)
def _flux(log_mel: np.ndarray, floor: float, out: np.ndarray) -> None:
    """``out[t]``: mean over bands of the rise of ``max(log_mel, floor)`` from row ``t`` to row ``t + 1``."""
    bands = log_mel.shape[1]
    for t in range(out.shape[0]):
        total = 0.0
        for b in range(bands):
            now = max(log_mel[t + 1, b], floor)
            before = max(log_mel[t, b], floor)
            if now > before:
                total += now - before
        out[t] = total / bands


def _log_mel(padded: np.ndarray, frames: int, out: np.ndarray) -> None:
    """``out[f]``: mel power in dB of the frame of ``padded`` starting at ``f * HOP``, in blocks of frames."""
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    filters_t = np.ascontiguousarray(_mel_filters(ANALYSIS_RATE, N_FFT, N_MELS).T)
    view = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    block = 2048
    for start in range(0, frames, block):
        stop = min(frames, start + block)
        magnitude = np.abs(scipy.fft.rfft(view[start:stop] * window, axis=1))
        np.matmul(magnitude * magnitude, filters_t, out=out[start:stop])
    np.maximum(out, 1e-20, out=out)
    np.log10(out, out=out)
    out *= 10.0


@dataclass(frozen=True)
class Envelopes:
    """Onset envelopes of one signal, frame ``i`` at ``i / fps`` seconds.

    ``plain`` has silence before the first sample (audio that starts with an attack has an onset there);
    ``looped`` has the audio's own end there, as when a loop repeats (a loop's first beat is measured against
    its last bar, and a file cut mid-note gets no onset at its start). They differ in the first few frames.
    """

    plain: np.ndarray
    looped: np.ndarray
    fps: float


def onset_envelopes(mono: np.ndarray, sample_rate: int) -> Envelopes:
    """Log-mel spectral flux of ``mono``, aligned so that an onset at ``t`` seconds peaks near frame ``t * fps``.

    One value per :data:`HOP` samples at :data:`ANALYSIS_RATE`; frames are centred and the audio is followed
    by silence. Spectra are taken in blocks, so those of a long file are never all held at once.
    """
    y = np.asarray(mono, dtype=np.float32)
    if sample_rate != ANALYSIS_RATE:
        y = soxr.resample(y, sample_rate, ANALYSIS_RATE, quality="HQ").astype(np.float32, copy=False)
    frames = 1 + y.shape[0] // HOP
    # One frame more than the envelope has, before its first: the first onset needs a frame to rise from.
    lead = N_FFT // 2 + (SHIFT + 1) * HOP
    padded = np.zeros(lead + y.shape[0] + N_FFT // 2, dtype=np.float32)
    padded[lead : lead + y.shape[0]] = y
    log_mel = np.empty((frames + 1, N_MELS), dtype=np.float32)
    _log_mel(padded, frames + 1, log_mel)
    floor = float(log_mel.max()) - DYNAMIC_RANGE_DB
    plain = np.empty(frames, dtype=np.float64)
    _flux(log_mel, floor, plain)
    # The frames that see the lead-in again, now the audio's end.
    head = min(frames + 1, lead // HOP + 2)
    wrap = min(lead, y.shape[0])
    padded[lead - wrap : lead] = y[y.shape[0] - wrap :]
    looped_mel = np.empty((head, N_MELS), dtype=np.float32)
    _log_mel(padded[: (head - 1) * HOP + N_FFT], head, looped_mel)
    looped = plain.copy()
    _flux(looped_mel, floor, looped[: head - 1])
    return Envelopes(_smooth(plain), _smooth(looped), ANALYSIS_RATE / HOP)


def _smooth(envelope: np.ndarray) -> np.ndarray:
    """A 5-tap binomial smoothing: onsets a frame apart still line up, and the comb's peak is not jagged."""
    kernel = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    return np.convolve(envelope, kernel, mode="same")


# --- beat grids -----------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _grid_mean(envelope: np.ndarray, period: float, phase: float) -> float:
    """Mean of ``envelope`` (linearly interpolated) at ``phase + k * period`` for every ``k`` inside it."""
    n = envelope.shape[0]
    k = 0
    if phase < 0.0:
        k = math.ceil(-phase / period)
    total = 0.0
    count = 0
    position = phase + k * period
    while position <= n - 1:
        i = int(position)
        frac = position - i
        upper = envelope[i + 1] if i + 1 < n else envelope[i]
        total += envelope[i] * (1.0 - frac) + upper * frac
        count += 1
        k += 1
        position = phase + k * period
    return total / count if count > 0 else 0.0


@numba.njit(cache=True)
def _grid_table(envelope: np.ndarray, periods: np.ndarray, first: np.ndarray, step: np.ndarray,
                out: np.ndarray) -> None:
    """``out[i, j]``: the grid mean for ``periods[i]`` at phase ``first[i] + j * step[i]``."""
    for i in range(periods.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = _grid_mean(envelope, periods[i], first[i] + j * step[i])


def _parabolic(values: np.ndarray, index: int) -> float:
    """Offset in ``(-0.5, 0.5)`` of the vertex of the parabola through ``values[index - 1 : index + 2]``."""
    if index <= 0 or index >= values.shape[0] - 1:
        return 0.0
    a, b, c = values[index - 1], values[index], values[index + 1]
    denominator = a - 2.0 * b + c
    if denominator >= 0.0:
        return 0.0
    return float(np.clip(0.5 * (a - c) / denominator, -0.5, 0.5))


@dataclass(frozen=True)
class _Fit:
    """The beat grid that fits best: its tempo, phase (frames) and mean onset strength."""

    bpm: float
    phase: float
    score: float


def _fit_grid(envelope: np.ndarray, fps: float, bpm: float, search: float, phase_range: tuple[float, float] | None,
              steps: int = 241) -> _Fit:
    """Fit a beat grid within ``bpm * (1 +- search)``; phases in ``phase_range`` frames, or any when ``None``."""
    tempi = bpm * np.exp(np.linspace(-search, search, steps))
    periods = 60.0 * fps / tempi
    if phase_range is None:
        count = math.ceil(periods.max() * 2.0)
        first = np.zeros_like(periods)
        step = periods / count
    else:
        count = max(2, math.ceil((phase_range[1] - phase_range[0]) * 2.0) + 1)
        first = np.full_like(periods, phase_range[0])
        step = np.full_like(periods, (phase_range[1] - phase_range[0]) / (count - 1))
    table = np.empty((steps, count), dtype=np.float64)
    _grid_table(envelope, periods, first, step, table)
    best_phase = table.argmax(axis=1)
    scores = table[np.arange(steps), best_phase]
    i = int(scores.argmax())
    fitted = float(tempi[i])
    if steps > 1:
        fitted *= math.exp(_parabolic(scores, i) * 2.0 * search / (steps - 1))
    return _Fit(fitted, float(first[i] + best_phase[i] * step[i]), float(scores[i]))


def _faster_octave_evidence(envelope: np.ndarray, fps: float, bpm: float, phase: float) -> float:
    """How strongly the onsets say ``2 * bpm`` rather than ``bpm``: at least 1 means the faster octave.

    Read at ``bpm``, the faster tempo's off-beats are eighth notes and its sixteenths are thirty-seconds.
    Either is evidence: eighths nearly as strong as the beats (:data:`OCTAVE_RATIO`: kick and snare
    alternating on every eighth), or onsets on thirty-second notes (:data:`FINE_RATIO`), which a tempo in
    range hardly ever needs but the faster tempo's sixteenths produce. Strengths are counted above the
    envelope's median, so that a noise floor, which is everywhere, is no evidence.
    """
    period = 60.0 * fps / bpm
    baseline = float(np.median(envelope))
    on = _grid_mean(envelope, period, phase) - baseline
    if on <= 0.0:
        return math.inf
    eighths = max(0.0, _grid_mean(envelope, period, phase + period / 2.0) - baseline)
    thirty_seconds = sum(_grid_mean(envelope, period, phase + k * period / 8.0) for k in (1, 3, 5, 7)) / 4.0
    thirty_seconds = max(0.0, thirty_seconds - baseline)
    return max(eighths / on / OCTAVE_RATIO, thirty_seconds / on / FINE_RATIO)


def _resolve_octave(envelope: np.ndarray, fps: float, bpm: float, phase: float, high: float,
                    allowed: set[float] | None = None) -> tuple[float, float]:
    """Double ``bpm`` while the faster octave is in range (and ``allowed``) and the onsets call for it.

    Returns the tempo and the decisiveness of the last decision in [0, 1] (1 when there was no choice).
    """
    decisiveness = 1.0
    while bpm * 2.0 <= high * (1.0 + 1e-9) and (allowed is None or _member(bpm * 2.0, allowed)):
        evidence = _faster_octave_evidence(envelope, fps, bpm, phase)
        decisiveness = min(1.0, abs(math.log(max(evidence, 1e-6))) / math.log(2.0))
        if evidence < 1.0:
            break
        bpm *= 2.0
    return bpm, decisiveness


def _member(bpm: float, tempi: set[float]) -> bool:
    return any(abs(bpm / t - 1.0) < 1e-9 for t in tempi)


def _confidence(envelope: np.ndarray, fps: float, bpm: float, phase: float, decisiveness: float) -> float:
    """How clearly the onsets keep this beat, in [0, 1].

    The product of three fractions: of the grid's mean onset strength that stands above the envelope's mean
    (0 for noise), of its beats that carry an onset of at least a quarter of that mean (low for a lone hit),
    and ``0.5 + 0.5 * decisiveness`` of the octave choice (a close call halves it).
    """
    period = 60.0 * fps / bpm
    positions = np.arange(phase % period, envelope.shape[0] - 1, period)
    values = np.interp(positions, np.arange(envelope.shape[0]), envelope)
    score = float(values.mean()) if values.size else 0.0
    if score <= 0.0:
        return 0.0
    contrast = max(0.0, (score - float(envelope.mean())) / score)
    kept = float(np.mean(values >= 0.25 * score))
    return float(np.clip(contrast * kept * (0.5 + 0.5 * decisiveness), 0.0, 1.0))


# --- the two methods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    mono: np.ndarray
    rate: int
    duration: float
    low: float
    high: float


def _loop_estimate(request: _Request, envelopes: Envelopes, forced: bool) -> BpmEstimate | None:
    """The loop-length rule, or ``None`` when no bar count in range is supported by the onsets.

    A bar count is supported when its tempo is an octave of the tempo measured on the loop played over and
    over (so tightly that the two grids part by at most :data:`LOOP_DRIFT_SECONDS` over the file: a file a
    tenth of a bar short or long fails by far), and of that measured on one pass
    (:data:`LOOP_ONCE_DRIFT_SECONDS`); and when its beat grid laid from the first sample is strong: at least
    :data:`LOOP_PHASE_STRENGTH` of what the same grid collects at its best phase (a loop starts on a beat)
    and :data:`LOOP_STRENGTH` of the measured grid's onset strength.
    """
    r = request
    counts = _whole_bars(r.duration, r.low, r.high) if forced else [
        bars for bars in LOOP_BARS if r.low <= _loop_tempo(bars, r.duration) <= r.high]
    if not counts:
        return None
    envelope, fps = envelopes.looped, envelopes.fps
    candidates = {bars: _loop_tempo(bars, r.duration) for bars in counts}
    measured = _measured_loop_fit(request, envelopes)
    floor = max(MIN_CONTRAST * float(envelope.mean()), LOOP_STRENGTH * measured.score)
    reach = LOOP_PHASE_SECONDS * fps
    supported: dict[int, float] = {}
    scores: dict[int, float] = {}
    for bars, bpm in candidates.items():
        octave = 2.0 ** round(math.log2(bpm / measured.bpm))
        drift = r.duration * abs(bpm / (measured.bpm * octave) - 1.0)
        scores[bars] = _fit_grid(envelope, fps, bpm, 0.0, (-reach, reach), steps=1).score
        if drift > LOOP_DRIFT_SECONDS or scores[bars] < floor:
            continue
        # The repeats of a short loop pull the measured tempo to its length, padding and all; one pass of it
        # is less precise but not pulled.
        once = _fit_grid(envelope, fps, bpm, LOOP_SEARCH, (-reach, reach))
        at_best_phase = _fit_grid(envelope, fps, bpm, 0.0, None, steps=1).score
        if (r.duration * abs(once.bpm / bpm - 1.0) <= LOOP_ONCE_DRIFT_SECONDS
                and scores[bars] >= LOOP_PHASE_STRENGTH * at_best_phase):
            supported[bars] = bpm
    if not supported:
        if not forced:
            return None
        # Said to be a loop, but no grid stands out: the bar count nearest the measured tempo.
        estimate = _autocorrelation_estimate(request, envelopes)
        bars = min(candidates, key=lambda b: abs(math.log(candidates[b] / estimate.bpm)))
        return BpmEstimate(candidates[bars], 0.5 * estimate.confidence, bars, "loop-length")
    # The strongest grid, down to its slowest supported octave, then up again as far as the onsets ask.
    bpm = supported[max(supported, key=lambda bars: scores[bars])]
    tempi = set(supported.values())
    while _member(bpm / 2.0, tempi):
        bpm /= 2.0
    phase = _fit_grid(envelope, fps, bpm, 0.0, (-reach, reach), steps=1).phase
    bpm, decisiveness = _resolve_octave(envelope, fps, bpm, phase, r.high, tempi)
    bars = next(b for b, t in supported.items() if _member(t, {bpm}))
    return BpmEstimate(bpm, _confidence(envelope, fps, bpm, phase, decisiveness), bars, "loop-length")


def _measured_loop_fit(request: _Request, envelopes: Envelopes) -> _Fit:
    """The best free beat grid of the audio played as a loop, at least :data:`LOOP_MEASURE_SECONDS` of it.

    A bar or two holds too few beats to tell a tempo from two thirds of it, or to measure it to a fraction
    of a percent; the loop repeated (the audio tiled, so the repeats are sample-exact) holds enough. A grid
    at two thirds of the tempo also fits a loop whose eighth notes sound (every other one of its beats falls
    on an eighth): three bars at 120 BPM are two bars of 80 to the grid, but not to the measured tempo.
    """
    r = request
    repeats = math.ceil(LOOP_MEASURE_SECONDS / r.duration)
    envelope = envelopes.looped if repeats <= 1 else onset_envelopes(np.tile(r.mono, repeats), r.rate).looped
    return _free_fit(envelope, envelopes.fps, r.low, r.high)


def _loop_tempo(bars: int, duration: float) -> float:
    return bars * BEATS_PER_BAR * 60.0 / duration


def _whole_bars(duration: float, low: float, high: float) -> list[int]:
    """Every whole bar count whose tempo is in range (for audio the caller says is a loop)."""
    first = max(1, math.floor(low * duration / (BEATS_PER_BAR * 60.0)))
    last = math.ceil(high * duration / (BEATS_PER_BAR * 60.0))
    return [bars for bars in range(first, last + 1) if low <= _loop_tempo(bars, duration) <= high]


def _autocorrelation(envelope: np.ndarray) -> np.ndarray:
    """Autocorrelation of the mean-removed envelope, 1 at lag 0, corrected for the shrinking overlap."""
    centred = envelope - envelope.mean()
    n = centred.shape[0]
    size = 1 << math.ceil(math.log2(2 * n))
    spectrum = np.fft.rfft(centred, size)
    correlation = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, size)[:n]
    if correlation[0] <= 0.0:
        return np.zeros(n)
    return correlation / correlation[0] * n / (n - np.arange(n))


def _coarse_tempo(envelope: np.ndarray, fps: float, low: float, high: float) -> float:
    """The tempo in ``[low, high]`` whose beat period and its multiples (up to 4) recur most, on average."""
    correlation = _autocorrelation(envelope)
    usable = max(2, correlation.shape[0] // 2)
    tempi = np.exp(np.linspace(math.log(low), math.log(high), COARSE_STEPS))
    periods = 60.0 * fps / tempi
    total = np.zeros_like(tempi)
    count = np.zeros_like(tempi)
    for multiple in (1, 2, 3, 4):
        lags = periods * multiple
        inside = lags < usable - 1
        total += np.where(inside, np.interp(lags, np.arange(usable), correlation[:usable]), 0.0)
        count += inside
    salience = np.where(count > 0, total / np.maximum(count, 1), -np.inf)
    return float(tempi[int(salience.argmax())])


def _free_fit(envelope: np.ndarray, fps: float, low: float, high: float) -> _Fit:
    """The best beat grid at any phase near the autocorrelation's tempo, at its slowest octave in range."""
    coarse = _coarse_tempo(envelope, fps, low, high)
    while coarse / 2.0 >= low:
        coarse /= 2.0
    return _fit_grid(envelope, fps, coarse, REFINE_SEARCH, None)


def _start_phase(envelope: np.ndarray, fps: float, bpm: float, phase: float) -> float:
    """Of the grid at ``phase`` and the one half a beat later, the one on which the first strong onset falls.

    The two make one grid at the octave above, and which of them carries the beats decides the octave
    (:func:`_faster_octave_evidence`). Audio usually starts on a beat, so the first onset of at least
    :data:`START_ONSET` of the strongest picks it; when it falls on neither, the stronger grid is kept.
    """
    period = 60.0 * fps / bpm
    first = int(np.argmax(envelope >= START_ONSET * envelope.max()))
    for candidate in (phase, phase + period / 2.0):
        offset = (first - candidate) % period
        if min(offset, period - offset) <= LOOP_PHASE_SECONDS * fps:
            return candidate % period
    return phase


def _autocorrelation_estimate(request: _Request, envelopes: Envelopes) -> BpmEstimate:
    r = request
    envelope, fps = envelopes.plain, envelopes.fps
    fit = _free_fit(envelope, fps, r.low, r.high)
    bpm = fit.bpm
    while bpm < r.low:
        bpm *= 2.0
    phase = _start_phase(envelope, fps, bpm, fit.phase)
    bpm, decisiveness = _resolve_octave(envelope, fps, bpm, phase, r.high)
    # A range narrower than an octave may hold none of the tempo's octaves: then the one nearest to it.
    while bpm > r.high and bpm / 2.0 >= r.low:
        bpm /= 2.0
    if bpm > r.high and bpm / r.high > r.low / (bpm / 2.0):
        bpm /= 2.0
    # Confidence on the looped envelope: an attack at the first sample is no evidence of a beat.
    confidence = _confidence(envelopes.looped, fps, bpm, phase, decisiveness)
    return BpmEstimate(bpm, confidence, None, "autocorrelation")


def _has_rhythm(envelope: np.ndarray) -> bool:
    """At least two onsets: local maxima of a twentieth of the strongest or more."""
    if envelope.shape[0] < 3:
        return False
    inner = envelope[1:-1]
    peaks = (inner > envelope[:-2]) & (inner >= envelope[2:]) & (inner >= 0.05 * envelope.max())
    return int(np.count_nonzero(peaks)) + int(envelope[0] > envelope[1]) >= 2


# --- entry point ----------------------------------------------------------------------------------------


def detect_bpm(audio: np.ndarray, sample_rate: int, *, is_loop: bool | None = None, low: float = 70.0,
               high: float = 180.0) -> BpmEstimate:
    """Detect the tempo of ``audio`` (float32 ``(channels, frames)``, or mono 1-D) in ``[low, high]`` BPM.

    ``is_loop``: ``None`` applies the loop-length rule when a bar count of 1, 2, 4, 8 or 16 gives a tempo in
    range that the onsets support, and measures the tempo otherwise; ``False`` always measures; ``True``
    applies the rule to any whole bar count in range (the one the onsets support, else the one nearest the
    measured tempo), and measures only when no whole bar count is in range. A measured tempo is in
    ``[low, high]`` whenever one of its octaves is.

    Deterministic: the same samples give the same estimate.

    Raises
    ------
    InvalidInputError
        ``audio``: not audio, NaN or infinite samples, silent, without onsets, or shorter than one beat at
        ``high`` BPM; ``low``/``high``: not positive finite numbers with ``low < high``; ``sample_rate``:
        not a whole number of Hz.
    """
    low, high = _check_range(low, high)
    audio = as_audio(audio)
    rate = check_sample_rate(sample_rate)
    duration = audio.shape[1] / rate
    if duration < 60.0 / high:
        raise InvalidInputError(f"{duration:.3f} s is shorter than one beat at {high:g} BPM", field="audio")
    if float(np.max(np.abs(audio))) < SILENCE:
        raise InvalidInputError("audio is silent", field="audio")
    mono = audio.mean(axis=0) if audio.shape[0] > 1 else audio[0]
    envelopes = onset_envelopes(mono, rate)
    if not _has_rhythm(envelopes.looped):
        raise InvalidInputError("audio has no onsets to measure a tempo from", field="audio")
    request = _Request(mono, rate, duration, low, high)
    if is_loop is not False:
        estimate = _loop_estimate(request, envelopes, forced=bool(is_loop))
        if estimate is not None:
            return estimate
    return _autocorrelation_estimate(request, envelopes)
