"""Tempo of a sample, or "no tempo": what tempo-sync stretches a clip by, so it must be right or absent.

Everything works on onset envelopes (:mod:`mixdown.engine.onsets`) of the audio with its leading silence
trimmed, and on beat grids laid over them (a grid's score is the mean envelope at its beats). Three pieces
of evidence, each reported in :class:`TempoEvidence`:

``bar-length hypothesis``
    A loop spans whole bars, so its tempo is exactly ``bars * 4 * 60 / length`` for some bar count: as
    exact as the length, not measured. The length runs from the first sound (its attack, past an encoder's
    pre-echo) to the file's end or to the sound's end when they differ, whichever one pass of the onsets
    keeps best; when neither keeps it exactly (an encoder's padding after the loop), the bars are the
    hypothesis's and the tempo the one-pass grid's. A count of 1, 2, 4, 8 or 16 bars
    whose tempo is in ``[low, high]`` is taken when the onsets support it: the tempo measured on the audio
    played as a loop is an octave of it, so closely that their grids part by at most
    :data:`LOOP_DRIFT_SECONDS` over the file, and its grid laid from the first sound is strong (a loop starts
    on its downbeat).
``onset grid fit``
    Otherwise a beat grid is fitted to the onsets, its period and phase together, near the autocorrelation's
    tempo (parabolic interpolation of the best period): an excerpt cut anywhere, off the bar lines, is
    measured by where its onsets fall, not by its length.
``autocorrelation``
    The envelope's autocorrelation (a period and its multiples together) gives the coarse beat period the
    grid is fitted around.

Octaves. Of ``T`` and ``2 T`` the slower grid is half of the faster one, so both fit. The backbeat decides
first: a snare or clap falls on beats 2 and 4, or on beat 3 in a half-time feel, never on every beat; so when
the snare band's onsets recur every beat of ``T``, the tempo is ``2 T``, and when they recur every two or
four beats of ``T``, it is ``T`` (a half-time groove is not read at double time). Without a backbeat, read at
``T`` the faster tempo's beats are eighth notes and its sixteenths thirty-second notes: when the eighths are
nearly as strong as the beats (:data:`OCTAVE_RATIO`) or thirty-seconds sound (:data:`FINE_RATIO`), ``2 T``
is taken. Patterns that put as much on the off-beats as on the beats (a reggae skank) are read at the faster
octave; nothing in the onsets says otherwise.

No tempo. A one-shot (a drum hit, a note, a chord), a sustained sound or noise has no beat to keep: fewer
than :data:`MIN_ONSETS` distinct onsets (a noise's or a vibrato's flicker is no onset, see
:mod:`mixdown.engine.onsets`), a best grid whose confidence is under :data:`MIN_CONFIDENCE`, or fewer than
:data:`MIN_BEATS` of its beats in the sound answers ``bpm = None``, and tempo-sync plays such a clip at its
own speed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.engine.onsets import FPS, Envelopes, onset_envelopes, onset_envelopes_ending
from mixdown.engine.tempo_kernels import grid_mean, grid_table
from mixdown.errors import InvalidInputError

#: Samples below this fraction of the peak (-60 dB) at either end are silence, trimmed before any reasoning.
TRIM = 1e-3
#: A trailing stretch of silence shorter than this is kept as part of the loop (a tail fading out).
TRAIL_SECONDS = 0.005
#: A loop's tempo may pass the range by this fraction (a loop at exactly ``high`` BPM, a sample long).
RANGE_SLACK = 0.002
#: A start this loud (-20 dB from the peak) within :data:`ATTACK_SECONDS` after the first sound is the
#: loop's first beat: what comes before it is an encoder's pre-echo or a fade-in.
ATTACK = 0.1
ATTACK_SECONDS = 0.03
ATTACK_RISE_SECONDS = 0.002
#: Bar counts a loop may span when the caller does not say it is a loop.
LOOP_BARS = (1, 2, 4, 8, 16)
BEATS_PER_BAR = 4
#: A loop's grid may be this late or early at its first beat (a slow attack, a few samples of lead-in).
LOOP_PHASE_SECONDS = 0.02
#: The measured beat grid may part from a loop's own grid by at most this much over the file.
LOOP_DRIFT_SECONDS = 0.03
#: ... and the grid fitted to one pass of the loop (within :data:`LOOP_SEARCH` of its tempo) by this much.
LOOP_ONCE_DRIFT_SECONDS = 0.04
LOOP_SEARCH = 0.04
#: When the sound ends before the file, a loop length whose one-pass grid drifts more than this is not
#: exact: the tempo is then the one-pass grid's.
LOOP_EXACT_SECONDS = 0.006
#: ... provided it spans this many bars (one bar's four beats measure a tempo too loosely).
PASS_BARS = 2
#: Fraction of a coarse autocorrelation tempo searched on either side by the fitted grid.
REFINE_SEARCH = 0.03
#: The faster of two octaves wins when the onsets between the slower grid's beats are at least this strong,
#: relative to those on its beats...
OCTAVE_RATIO = 0.7
#: ... or when the onsets on its thirty-second notes are at least this strong, relative to its beats.
FINE_RATIO = 0.1
#: The snare band's autocorrelation at a lag of one beat, two or four: "recurs" at least this much.
BACKBEAT_RECURS = 0.3
#: ... when the snare band's rises reach this fraction of the whole signal's largest rise ...
BACKBEAT_PRESENCE = 0.01
#: ... and the backbeat's lag beats the other by this factor to decide.
BACKBEAT_MARGIN = 1.5
#: The grid's mean onset strength must exceed the envelope's mean by this factor to count as support...
MIN_CONTRAST = 1.15
#: ... and be at least this fraction of the measured beat grid's (at the slowest octave in range)...
LOOP_STRENGTH = 0.6
#: ... and of the same grid's at its best phase.
LOOP_PHASE_STRENGTH = 0.5
#: A grid fit over many tempi first tries every this-many-th of them.
COARSE_STRIDE = 4
#: Tempi the autocorrelation is read at, log-spaced over ``[low, high]``, before the grid refines one.
COARSE_STEPS = 400
#: A loop shorter than this is repeated to this length for its measured tempo: one bar has too few beats.
LOOP_MEASURE_SECONDS = 12.0
#: A file's first onset at least this fraction of the strongest is taken to be on a beat.
START_ONSET = 0.3
#: Distinct onsets: peaks of at least this fraction of the strongest, ...
ONSET_FRACTION = 0.2
#: ... and at least this strong (dB of rise, averaged over bands: a noise floor's flicker is less), ...
ONSET_MIN = 0.05
#: ... this fraction of which stands above the lowest point within :data:`ONSET_SEPARATION_SECONDS`, ...
ONSET_PROMINENCE = 0.5
#: ... and this far from a stronger one (a clap's bursts, a flam are one onset).
ONSET_SEPARATION_SECONDS = 0.06
#: Audio whose last this many seconds hold at least :data:`END_LEVEL` of its RMS ends while sounding.
END_SECONDS = 0.05
END_LEVEL = 0.3
#: Fewer distinct onsets than this is no tempo.
MIN_ONSETS = 3
#: A tempo with fewer beats than this in the sound is no tempo (a loop holds a bar at least).
MIN_BEATS = 3.0
#: A tempo whose confidence is below this is no tempo.
MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class BarHypothesis:
    """The loop-length reading: ``bars`` whole bars over ``length`` seconds make ``bpm``.

    ``drift``: seconds by which the measured beat grid parts from the loop's own over the loop (the loop
    repeated); ``pass_drift``: the same for the grid fitted to one pass of it, whose tempo is ``pass_bpm``;
    ``downbeat``:
    the loop's grid from its first sound, as a fraction of the same grid at its best phase.
    """

    bars: int
    bpm: float
    length: float
    drift: float
    pass_drift: float
    pass_bpm: float
    downbeat: float


@dataclass(frozen=True)
class GridFit:
    """The beat grid fitted to the onsets: tempo, phase (seconds after the first sound) and strength.

    ``contrast``: the fraction of the grid's mean onset strength above the envelope's mean (0 for noise);
    ``coverage``: the fraction of its beats that carry an onset.
    """

    bpm: float
    phase: float
    contrast: float
    coverage: float


@dataclass(frozen=True)
class TempoEvidence:
    """What the answer rests on (see the module): every piece that was measured, else ``None``.

    ``start``/``end``: seconds of the sound within the file, silence trimmed; ``onsets``: distinct onsets;
    ``autocorrelation_bpm``: the coarse tempo; ``backbeat_beats``: beats of the answer between the snare
    band's onsets (2: on 2 and 4; 4: half-time), ``None`` without a clear backbeat.
    """

    start: float
    end: float
    onsets: int
    bar_hypothesis: BarHypothesis | None = None
    grid: GridFit | None = None
    autocorrelation_bpm: float | None = None
    backbeat_beats: int | None = None


@dataclass(frozen=True)
class TempoEstimate:
    """A detected tempo, or ``bpm = None``: no tempo (a one-shot, a held note, noise, silence).

    ``confidence`` in [0, 1]: the grid's contrast, times ``0.5 + 0.5 coverage``, times ``0.5 + 0.5`` the
    decisiveness of the octave choice (near 0 for noise, about 0.9 for a clean drum loop); below
    :data:`MIN_CONFIDENCE` the answer is no tempo. ``bars`` is the loop's bar count when the bar-length
    hypothesis decided. ``method``: ``"loop-length"``, ``"onset-grid"`` or ``"none"``.
    """

    bpm: float | None
    confidence: float
    bars: int | None
    method: str
    evidence: TempoEvidence

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


# --- the pieces -----------------------------------------------------------------------------------------


def _sound_span(mono: np.ndarray, rate: int) -> tuple[int, int]:
    """First and one-past-last sample at or above :data:`TRIM` of the peak; the first moved on to the attack
    (see :data:`ATTACK`)."""
    level = np.abs(mono)
    peak = float(level.max())
    loud = np.flatnonzero(level >= TRIM * peak)
    start, end = int(loud[0]), int(loud[-1]) + 1
    window = level[start : start + round(ATTACK_SECONDS * rate)]
    attack = np.flatnonzero(window >= ATTACK * peak)
    # An attack's own rise (a millisecond or so) is part of the loop; a pre-echo before it is not.
    if attack.size and attack[0] >= ATTACK_RISE_SECONDS * rate:
        start += int(attack[0])
    return start, end


def _ends_sounding(sound: np.ndarray, rate: int) -> bool:
    """Whether the last :data:`END_SECONDS` are at least :data:`END_LEVEL` of the whole sound's RMS."""
    tail = sound[-max(1, round(END_SECONDS * rate)) :]
    return float(np.sqrt(np.mean(tail * tail))) >= END_LEVEL * float(np.sqrt(np.mean(sound * sound)))


def count_onsets(envelope: np.ndarray, *, cut: bool) -> int:
    """Distinct onsets in ``envelope``: peaks strong against the strongest, standing out from their
    surroundings (a riser's or a swell's steady rise is no onset), and well apart (a clap's bursts are one).

    ``cut``: the audio ends while sounding, so its start, looped, is a click: the strongest onset is sought
    after the first frames.
    """
    if envelope.shape[0] < 3:
        return 0
    head = min(envelope.shape[0] - 1, 2 * round(ONSET_SEPARATION_SECONDS * FPS)) if cut else 0
    floor = max(ONSET_FRACTION * float(envelope[head:].max()), ONSET_MIN)
    inner = envelope[1:-1]
    peaks = np.flatnonzero((inner > envelope[:-2]) & (inner >= envelope[2:]) & (inner >= floor)) + 1
    if envelope[0] >= floor and envelope[0] > envelope[1]:
        peaks = np.append(0, peaks)
    gap = round(ONSET_SEPARATION_SECONDS * FPS)
    count, last, last_value = 0, -math.inf, 0.0
    for i in peaks:
        surroundings = float(envelope[max(0, i - gap) : i + gap + 1].min())
        if envelope[i] - surroundings < ONSET_PROMINENCE * envelope[i]:
            continue
        if i - last > gap:
            count += 1
            last, last_value = i, envelope[i]
        elif envelope[i] > last_value:
            last, last_value = i, envelope[i]
    return count


# --- beat grids ---------------------------------------------------------------------------------------------


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
    """Fit a beat grid within ``bpm * (1 +- search)``; phases in ``phase_range`` frames, or any when ``None``.

    Coarse to fine: every :data:`COARSE_STRIDE`-th of ``steps`` tempi at whole-frame phases first, then the
    tempi and half-frame phases around the best of them.
    """
    tempi = bpm * np.exp(np.linspace(-search, search, steps))
    periods = 60.0 * fps / tempi
    if phase_range is None:
        low, high = 0.0, float(periods.max())
    else:
        low, high = phase_range
    if steps > 4 * COARSE_STRIDE:
        coarse = np.arange(0, steps, COARSE_STRIDE)
        i, phase, _ = _grid_search(envelope, periods[coarse], low, high, 1.0)
        centre = int(coarse[i])
        near = np.arange(max(0, centre - COARSE_STRIDE), min(steps, centre + COARSE_STRIDE + 1))
        j, phase, scores = _grid_search(envelope, periods[near], max(low, phase - 1.0), min(high, phase + 1.0), 0.5)
        i = int(near[j])
        offset = _parabolic(scores, j)
    else:
        i, phase, scores = _grid_search(envelope, periods, low, high, 0.5)
        offset = _parabolic(scores, i)
    fitted = float(tempi[i])
    if steps > 1:
        fitted *= math.exp(offset * 2.0 * search / (steps - 1))
    return _Fit(fitted, phase, float(scores.max()))


def _grid_search(envelope: np.ndarray, periods: np.ndarray, low: float, high: float,
                 resolution: float) -> tuple[int, float, np.ndarray]:
    """The best of ``periods`` at phases ``low .. high`` frames, ``resolution`` apart: its index, its phase and
    every period's best score."""
    count = max(2, math.ceil((high - low) / resolution) + 1)
    first = np.full_like(periods, low)
    step = np.full_like(periods, (high - low) / (count - 1))
    table = np.empty((periods.shape[0], count), dtype=np.float64)
    grid_table(envelope, periods, first, step, table)
    best_phase = table.argmax(axis=1)
    scores = table[np.arange(periods.shape[0]), best_phase]
    i = int(scores.argmax())
    return i, float(first[i] + best_phase[i] * step[i]), scores


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
    on = grid_mean(envelope, period, phase) - baseline
    if on <= 0.0:
        return math.inf
    eighths = max(0.0, grid_mean(envelope, period, phase + period / 2.0) - baseline)
    thirty_seconds = sum(grid_mean(envelope, period, phase + k * period / 8.0) for k in (1, 3, 5, 7)) / 4.0
    thirty_seconds = max(0.0, thirty_seconds - baseline)
    return max(eighths / on / OCTAVE_RATIO, thirty_seconds / on / FINE_RATIO)


def _backbeat(envelope: np.ndarray, bpm: float) -> int | None:
    """Beats of ``bpm`` between recurrences of the backbeat: 1, 2 or 4, or ``None`` when none stands out.

    Read from the snare band's autocorrelation at lags of one, two and four beats: the lag with the strongest
    recurrence (at least :data:`BACKBEAT_RECURS`), when it beats the shorter lags by :data:`BACKBEAT_MARGIN`
    (a snare on every beat also recurs every two).
    """
    if envelope.max() < BACKBEAT_PRESENCE:
        return None
    correlation = _autocorrelation(envelope)
    usable = 3 * correlation.shape[0] // 4
    period = 60.0 * FPS / bpm
    values = {}
    for beats in (1, 2, 4):
        lag = beats * period
        if lag >= usable - 2:
            break
        # The best of a few frames around the lag: a swung or humanized backbeat is not exactly periodic.
        i = round(lag)
        values[beats] = float(correlation[max(1, i - 2) : i + 3].max())
    if not values:
        return None
    if values.get(1, 0.0) >= BACKBEAT_RECURS and all(values[1] * BACKBEAT_MARGIN >= v for v in values.values()):
        return 1
    for beats in (2, 4):
        if beats in values and values[beats] >= BACKBEAT_RECURS and values[beats] >= BACKBEAT_MARGIN * values[1]:
            if beats == 4 and 2 in values and values[2] * BACKBEAT_MARGIN >= values[4]:
                return 2
            return beats
    return None


def _resolve_octave(envelopes: Envelopes, envelope: np.ndarray, bpm: float, phase: float, high: float,
                    allowed: set[float] | None = None) -> tuple[float, float, int | None]:
    """Double ``bpm`` while the faster octave is in range (and ``allowed``) and the onsets call for it.

    Returns the tempo, the decisiveness of the last decision in [0, 1] (1 when there was no choice or the
    backbeat decided) and the backbeat's beats at the answer.
    """
    decisiveness = 1.0
    while bpm * 2.0 <= high * (1.0 + RANGE_SLACK) and (allowed is None or _member(bpm * 2.0, allowed)):
        backbeat = _backbeat(envelopes.backbeat, bpm)
        if backbeat is not None:
            decisiveness = 1.0
            if backbeat > 1:
                break
            bpm *= 2.0
            continue
        evidence = _faster_octave_evidence(envelope, FPS, bpm, phase)
        decisiveness = min(1.0, abs(math.log(max(evidence, 1e-6))) / math.log(2.0))
        if evidence < 1.0:
            break
        bpm *= 2.0
    return bpm, decisiveness, _backbeat(envelopes.backbeat, bpm)


def _member(bpm: float, tempi: set[float]) -> bool:
    return any(abs(bpm / t - 1.0) < 1e-9 for t in tempi)


def _grid_strength(envelope: np.ndarray, bpm: float, phase: float) -> tuple[float, float]:
    """Contrast and coverage of the grid (see :class:`GridFit`)."""
    period = 60.0 * FPS / bpm
    positions = np.arange(phase % period, envelope.shape[0] - 1, period)
    values = np.interp(positions, np.arange(envelope.shape[0]), envelope)
    score = float(values.mean()) if values.size else 0.0
    if score <= 0.0:
        return 0.0, 0.0
    return max(0.0, (score - float(envelope.mean())) / score), float(np.mean(values >= 0.25 * score))


def _confidence(contrast: float, coverage: float, decisiveness: float) -> float:
    """How clearly the onsets keep this beat: ``contrast x (0.5 + 0.5 coverage) x (0.5 + 0.5 decisiveness)``.

    Coverage counts half: a half-time groove leaves beats 2 and 4 empty, a sparse loop some others.
    """
    return float(np.clip(contrast * (0.5 + 0.5 * coverage) * (0.5 + 0.5 * decisiveness), 0.0, 1.0))


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


def _coarse_tempo(envelope: np.ndarray, low: float, high: float) -> float:
    """The tempo in ``[low, high]`` whose beat period and its multiples (up to 4) recur most, on average."""
    correlation = _autocorrelation(envelope)
    usable = max(2, correlation.shape[0] // 2)
    tempi = np.exp(np.linspace(math.log(low), math.log(high), COARSE_STEPS))
    periods = 60.0 * FPS / tempi
    total = np.zeros_like(tempi)
    count = np.zeros_like(tempi)
    for multiple in (1, 2, 3, 4):
        lags = periods * multiple
        inside = lags < usable - 1
        total += np.where(inside, np.interp(lags, np.arange(usable), correlation[:usable]), 0.0)
        count += inside
    salience = np.where(count > 0, total / np.maximum(count, 1), -np.inf)
    return float(tempi[int(salience.argmax())])


def _free_fit(envelope: np.ndarray, low: float, high: float) -> tuple[_Fit, float]:
    """The best beat grid at any phase near the autocorrelation's tempo, at its slowest octave in range; and
    the autocorrelation's tempo."""
    coarse = _coarse_tempo(envelope, low, high)
    slowest = coarse
    while slowest / 2.0 >= low:
        slowest /= 2.0
    return _fit_grid(envelope, FPS, slowest, REFINE_SEARCH, None), coarse


def _start_phase(envelope: np.ndarray, bpm: float, phase: float) -> float:
    """Of the grid at ``phase`` and the one half a beat later, the one on which the first strong onset falls.

    The two make one grid at the octave above, and which of them carries the beats decides the octave
    (:func:`_faster_octave_evidence`). Audio usually starts on a beat, so the first onset of at least
    :data:`START_ONSET` of the strongest picks it; when it falls on neither, the stronger grid is kept.
    """
    period = 60.0 * FPS / bpm
    first = int(np.argmax(envelope >= START_ONSET * envelope.max()))
    for candidate in (phase, phase + period / 2.0):
        offset = (first - candidate) % period
        if min(offset, period - offset) <= LOOP_PHASE_SECONDS * FPS:
            return candidate % period
    return phase


# --- the two readings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    low: float
    high: float
    forced: bool


@dataclass(frozen=True)
class _Reading:
    bpm: float
    decisiveness: float
    bars: int | None
    phase: float
    envelope: np.ndarray
    evidence: dict


def _pass_drift(reading: _Reading) -> float:
    return reading.evidence["bar_hypothesis"].pass_drift


def _loop_counts(length: float, request: _Request) -> list[int]:
    if request.forced:
        first = max(1, math.floor(request.low * length / (BEATS_PER_BAR * 60.0)))
        last = math.ceil(request.high * length / (BEATS_PER_BAR * 60.0))
        counts = range(first, last + 1)
    else:
        counts = LOOP_BARS
    slack = 1.0 + RANGE_SLACK
    return [bars for bars in counts if request.low / slack <= _loop_tempo(bars, length) <= request.high * slack]


def _loop_tempo(bars: int, length: float) -> float:
    return bars * BEATS_PER_BAR * 60.0 / length


def _loop_reading(envelopes: Envelopes, length: float, request: _Request) -> _Reading | None:
    """The bar-length hypothesis over ``length`` seconds, or ``None`` when no bar count in range is supported.

    A bar count is supported when its tempo is an octave of the tempo measured on the loop played over and
    over (so tightly that the two grids part by at most :data:`LOOP_DRIFT_SECONDS` over the file: a file a
    tenth of a bar short or long fails by far), and of that measured on one pass
    (:data:`LOOP_ONCE_DRIFT_SECONDS`); and when its beat grid laid from the first sound is strong: at least
    :data:`LOOP_PHASE_STRENGTH` of what the same grid collects at its best phase (a loop starts on a beat)
    and :data:`LOOP_STRENGTH` of the measured grid's onset strength.
    """
    counts = _loop_counts(length, request)
    if not counts:
        return None
    envelope = envelopes.looped
    candidates = {bars: _loop_tempo(bars, length) for bars in counts}
    # A bar or two holds too few beats to tell a tempo from two thirds of it; the loop repeated holds enough.
    measured, _ = _free_fit(envelopes.tiled(LOOP_MEASURE_SECONDS * FPS), request.low, request.high)
    floor = max(MIN_CONTRAST * float(envelope.mean()), LOOP_STRENGTH * measured.score)
    reach = LOOP_PHASE_SECONDS * FPS
    supported: dict[int, BarHypothesis] = {}
    scores: dict[int, float] = {}
    for bars, bpm in candidates.items():
        octave = 2.0 ** round(math.log2(bpm / measured.bpm))
        drift = length * abs(bpm / (measured.bpm * octave) - 1.0)
        scores[bars] = _fit_grid(envelope, FPS, bpm, 0.0, (-reach, reach), steps=1).score
        if drift > LOOP_DRIFT_SECONDS or scores[bars] < floor:
            continue
        # The repeats of a short loop pull the measured tempo to its length, padding and all; one pass of it
        # is less precise but not pulled.
        once = _fit_grid(envelope, FPS, bpm, LOOP_SEARCH, (-reach, reach))
        at_best_phase = _fit_grid(envelope, FPS, bpm, 0.0, None, steps=1).score
        downbeat = scores[bars] / at_best_phase if at_best_phase > 0 else 0.0
        pass_drift = length * abs(once.bpm / bpm - 1.0)
        if pass_drift <= LOOP_ONCE_DRIFT_SECONDS and downbeat >= LOOP_PHASE_STRENGTH:
            supported[bars] = BarHypothesis(bars, bpm, length, drift, pass_drift, once.bpm, downbeat)
    if not supported:
        return None
    # The strongest grid, down to its slowest supported octave, then up again as far as the onsets ask.
    bpm = supported[max(supported, key=lambda bars: scores[bars])].bpm
    tempi = {h.bpm for h in supported.values()}
    while _member(bpm / 2.0, tempi):
        bpm /= 2.0
    phase = _fit_grid(envelope, FPS, bpm, 0.0, (-reach, reach), steps=1).phase
    bpm, decisiveness, backbeat = _resolve_octave(envelopes, envelope, bpm, phase, request.high, tempi)
    hypothesis = next(h for h in supported.values() if _member(h.bpm, {bpm}))
    return _Reading(bpm, decisiveness, hypothesis.bars, phase, envelope,
                    {"bar_hypothesis": hypothesis, "autocorrelation_bpm": measured.bpm, "backbeat_beats": backbeat})


def _grid_reading(envelopes: Envelopes, request: _Request) -> _Reading:
    """The onset grid fit: period and phase together, near the autocorrelation's tempo."""
    envelope = envelopes.plain
    fit, coarse = _free_fit(envelope, request.low, request.high)
    bpm = fit.bpm
    while bpm < request.low:
        bpm *= 2.0
    phase = _start_phase(envelope, bpm, fit.phase)
    bpm, decisiveness, backbeat = _resolve_octave(envelopes, envelope, bpm, phase, request.high)
    # A range narrower than an octave may hold none of the tempo's octaves: then the one nearest to it.
    high = request.high * (1.0 + RANGE_SLACK)
    while bpm > high and bpm / 2.0 >= request.low:
        bpm /= 2.0
    if bpm > high and bpm / request.high > request.low / (bpm / 2.0):
        bpm /= 2.0
    # Judged on the looped envelope: an attack at the first sample is no evidence of a beat.
    return _Reading(bpm, decisiveness, None, phase, envelopes.looped,
                    {"autocorrelation_bpm": coarse, "backbeat_beats": backbeat})


# --- entry point ----------------------------------------------------------------------------------------


def _no_tempo(evidence: TempoEvidence) -> TempoEstimate:
    return TempoEstimate(None, 0.0, None, "none", evidence)


def detect_bpm(audio: np.ndarray, sample_rate: int, *, is_loop: bool | None = None, low: float = 70.0,
               high: float = 180.0, progress: Callable[[int, int], None] | None = None) -> TempoEstimate:
    """Detect the tempo of ``audio`` (float32 ``(channels, frames)``, or mono 1-D) in ``[low, high]`` BPM.

    ``is_loop``: ``None`` takes the bar-length hypothesis when a bar count of 1, 2, 4, 8 or 16 gives a tempo
    in range that the onsets support, and fits the onset grid otherwise; ``False`` always fits the grid;
    ``True`` considers any whole bar count in range. A measured tempo is in ``[low, high]`` whenever one of
    its octaves is. Silence, audio shorter than a beat at ``high``, a one-shot, a held sound or noise answer
    ``bpm = None`` (see the module).

    Deterministic: the same samples give the same estimate. ``progress``, when given, is called with the
    onset analysis's frames done and their total as it goes (most of the time on a long file).

    Raises
    ------
    InvalidInputError
        ``audio``: not audio, or NaN or infinite samples; ``low``/``high``: not positive finite numbers with
        ``low < high``; ``sample_rate``: not a whole number of Hz.
    """
    low, high = _check_range(low, high)
    audio = as_audio(audio)
    rate = check_sample_rate(sample_rate)
    mono = audio.mean(axis=0) if audio.shape[0] > 1 else audio[0]
    if float(np.max(np.abs(mono), initial=0.0)) < 1e-6:
        return _no_tempo(TempoEvidence(0.0, 0.0, 0))
    start, end = _sound_span(mono, rate)
    if mono.shape[0] - end <= TRAIL_SECONDS * rate:
        end = mono.shape[0]
    evidence = TempoEvidence(start / rate, end / rate, 0)
    if (end - start) / rate < 60.0 / high:
        return _no_tempo(evidence)
    sound = mono[start:end]
    whole = None
    if end < mono.shape[0]:
        envelopes, whole = onset_envelopes_ending(mono[start:], rate, (end - start, mono.shape[0] - start),
                                                  progress)
    else:
        envelopes = onset_envelopes(sound, rate, progress)
    onsets = count_onsets(envelopes.looped, cut=_ends_sounding(sound, rate))
    evidence = TempoEvidence(start / rate, end / rate, onsets)
    if onsets < MIN_ONSETS:
        return _no_tempo(evidence)
    request = _Request(low, high, bool(is_loop))
    reading = None
    if is_loop is not False:
        reading = _loop_reading(envelopes, (end - start) / rate, request)
        if whole is not None:
            # The sound ends early: padding after a loop, or a loop whose last bar fades out. Of the two
            # lengths, the one whose grid one pass of the onsets keeps best.
            to_end = _loop_reading(whole, (mono.shape[0] - start) / rate, request)
            if to_end is not None and (reading is None or _pass_drift(to_end) < _pass_drift(reading)):
                reading = to_end
                evidence = TempoEvidence(start / rate, mono.shape[0] / rate, onsets)
            if (reading is not None and _pass_drift(reading) > LOOP_EXACT_SECONDS
                    and reading.bars >= PASS_BARS):
                # Neither length is the loop's (an encoder's padding after it): its bars, the onsets' tempo.
                reading = replace(reading, bpm=reading.evidence["bar_hypothesis"].pass_bpm)
    if reading is None:
        reading = _grid_reading(envelopes, request)
    contrast, coverage = _grid_strength(reading.envelope, reading.bpm, reading.phase)
    grid = GridFit(reading.bpm, reading.phase / FPS, contrast, coverage)
    confidence = _confidence(contrast, coverage, reading.decisiveness)
    evidence = TempoEvidence(evidence.start, evidence.end, onsets, grid=grid, **reading.evidence)
    if confidence < MIN_CONFIDENCE or (evidence.end - evidence.start) * reading.bpm / 60.0 < MIN_BEATS:
        return TempoEstimate(None, confidence, None, "none", evidence)
    return TempoEstimate(reading.bpm, confidence, reading.bars, "loop-length" if reading.bars else "onset-grid",
                         evidence)
