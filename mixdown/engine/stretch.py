"""Time-stretch and pitch-shift in one pass: a phase vocoder with identity phase locking and transients kept.

``ratio`` is playback speed: the output has exactly ``round(frames / ratio)`` frames. ``semitones`` shifts
pitch by ``2 ** (semitones / 12)`` and keeps the duration. How it works:

1. The signal is stretched in time by ``pitch_factor / ratio`` with pitch kept, then resampled by
   ``1 / pitch_factor`` with soxr, which restores the wanted length and moves the pitch.
2. The stretch is a phase vocoder (periodic Hann or square-root Hann windows, fixed synthesis hop; see
   :class:`Preset`) with identity phase locking (Laroche and Dolson 1999): spectral peaks advance at their
   measured instantaneous frequency and carry their whole region of bins with them, on all channels alike.
3. Transients: onsets are detected by spectral flux and placed to the sample. Around each, the time map has
   slope 1 for half a window on either side (less where 16th notes leave no room), so every frame whose
   window covers the attack is placed as in the source, and in those frames the bins where the attack has
   the energy keep their analysis phases: the attack is reproduced as it was, at its exactly stretched
   time, with no pre-echo, while what sustains through it (a pad under a drum hit) keeps turning smoothly,
   with no dip before the hit. After the attack the slope-1 zone extends up to eight windows, as far as
   the next attack leaves room: a hit or a pluck decays at a new tempo as it did in the source, so the stretch
   goes to what sounds later (``draft`` keeps half a window). Between zones the map is linear, so every
   onset lands at ``onset / ratio``. The signal's start and end are treated as onsets too, so a clip
   begins and ends exactly as its source does (no click at its edges).
4. Formants: the stretched frames are reshaped before the resampling so that part of the spectral
   envelope stays where it was (``formants``; ``mixdown.engine.formants``). By default that part is what
   the source's own notes keep in place when their pitch moves (``mixdown.engine.formant_motion``).

The presets trade window length and overlap for speed (frames/hop): ``draft`` 2048/1024 with square-root
Hann windows, ``standard`` 3072/1024 and ``high`` 4096/1024 with Hann windows. When the pitch moves,
``standard`` and ``high`` both analyse with 4096-sample Hann windows at half-window hops, in float64, and
cross-fade consecutive frames over an eighth of a window (so that a vibrato does not beat between them;
``PITCH_PRESETS``): half the frames of the time-stretch presets, with a tone's residue as low.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import scipy.fft
import soxr

try:
    from soxr import soxr_ext
except ImportError:  # python-soxr before 0.5 has no such module: VHQ then
    soxr_ext = None

from mixdown.engine import stretch_kernels
from mixdown.engine.audio import as_audio, check_sample_rate
from mixdown.engine.formant_motion import envelope_motion
from mixdown.engine.formants import EnvelopeKeeper
from mixdown.errors import InvalidInputError

#: Synthesis frames per chunk: 32 keep a chunk's frames and spectra closer to the cache than 64 did (5-9%
#: less time for a whole stretch of 60 s of stereo; the output is the same).
CHUNK_FRAMES = 32
_ENVELOPE_WIDTH = 16
_ONSET_BLOCK = 256
#: Smallest onset: a mean rise of log(1 + 1000 |X|) per bin (a click reads about 6, a steady tone 0.01).
_MIN_FLUX = 0.05
#: A bin belongs to an attack when its power after the onset exceeds this many times its power before.
_TRANSIENT_RISE = 2.0
#: How much of the spectral envelope a pitch shift keeps in place when the source does not show it
#: (see :func:`formant_amount`).
FORMANTS = 0.4
RATIO_RANGE = (1 / 16, 16.0)
#: libsoxr's 24-bit recipe (``SOXR_24_BITQ``), for the pitch shift's resampling. It filters in double
#: precision, as VHQ (28-bit) does: a tone resampled leaves a residue under -150 dB, where HQ (20-bit,
#: single precision) leaves -134 dB; and it is about as fast as HQ (VHQ takes a fifth longer).
#: python-soxr's ``resample`` names only QQ to VHQ, so this goes to the split-channel call that ``resample``
#: itself makes, and to VHQ if that call is gone or answers with a length it should not.
SOXR_24_BIT = 5
SEMITONE_RANGE = (-48.0, 48.0)


@dataclass(frozen=True)
class Preset:
    """Phase vocoder settings.

    ``window`` is the analysis window, and the synthesis window too without ``crossfade``: ``"hann"`` then
    needs a hop of ``n_fft / 3`` or less (its square overlap-adds to a constant there); ``"sqrt-hann"``
    (power-complementary) works at ``n_fft / 2``, half the frames. The square-root Hann window's edges are
    not smooth: its sidelobes fall 12 dB an octave, and in the bins near 0 Hz the mirror image of a tone,
    turned with the tone's phase, leaves a residue about 90 dB under it; Hann's fall 18 dB an octave.

    ``crossfade`` (a fraction of ``n_fft``) keeps the analysis window for its frequency resolution but makes the
    product of the analysis and synthesis windows a trapezoid one hop wide whose raised-cosine edges, that wide
    (or the hop, if less), overlap-add to one, whatever the analysis window: consecutive synthesis frames
    overlap only there. It follows the hop in use, which halves for a large stretch. In a pitch shift, frames
    are analysed ``hop * stretch`` apart and placed ``hop`` apart, so a partial with vibrato has different
    frequencies in two neighbouring frames; over a whole half-window of overlap they beat, and the partial dips
    by up to 8 dB between frames (librosa counts those dips as onsets), while over an eighth of a window they
    barely do.

    ``transients`` turns onset detection and phase reset on. The stretch
    keeps an attack's decay in its own time for up to ``hold`` zone reaches (see :func:`time_map`): 16 for
    a time stretch at ``standard`` and ``high`` (the decay runs on until the next attack needs the room or
    ``drift`` ends it), 4 for pitch shifting; ``draft`` keeps 1: with one hop
    per reach, the steeper segments left between attacks brighten what comes before the next one. ``drift``
    (seconds) bounds how far off its time the hold may move a soft note that is not detected as an onset:
    30 ms for a time stretch (a voice's legato notes land within librosa's 20 ms onset tolerance, mostly),
    and 30 ms of the resampled output for pitch shifting (at -5 or +7 semitones four reaches would move
    it up to 57 ms).

    ``float64_analysis`` frames and transforms the frames to be synthesised in float64 (the lagged frames
    that give their peaks' phase change stay float32). A float32 transform's rounding sets the floor of
    what a frame carries (about -135 dB under a tone); where each output sample comes from one frame, as
    in the cross-fade's flat part, nothing averages it down (75% overlap averaged four).
    """

    n_fft: int
    hop: int
    window: str = "hann"
    transients: bool = True
    hold: int = 4
    drift: float = math.inf
    crossfade: float = 0.0
    float64_analysis: bool = False

    def __post_init__(self) -> None:
        if self.window not in ("hann", "sqrt-hann"):
            raise ValueError(f"unknown window {self.window!r}")
        if self.crossfade and not 0 < self.hop + self.crossfade * self.n_fft < self.n_fft:
            raise ValueError("the cross-fade's trapezoid must lie inside the analysis window, off its zero ends")

    def windows(self) -> np.ndarray:
        hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.n_fft) / self.n_fft)
        return np.sqrt(hann) if self.window == "sqrt-hann" else hann

    def synthesis(self, analysis: np.ndarray, hop: int) -> tuple[np.ndarray, float]:
        """The synthesis window for ``analysis`` (``windows()``) and the overlap-add gain that makes their
        product sum to one over frames ``hop`` apart (the preset's hop, or a fraction of it for a large
        stretch): the same window, or with ``crossfade`` the trapezoid's quotient by ``analysis`` (which is
        well above zero wherever the trapezoid is not)."""
        if not self.crossfade:
            return analysis, hop / float(np.sum(analysis**2))
        past_edge = np.abs(np.arange(self.n_fft) - self.n_fft / 2) - hop / 2
        width = min(self.crossfade * self.n_fft, hop)
        trapezoid = 0.5 - 0.5 * np.sin(np.pi * np.clip(past_edge / width, -0.5, 0.5))
        synthesis = np.divide(trapezoid, analysis, out=np.zeros(self.n_fft), where=trapezoid > 0)
        return synthesis, hop / float(np.sum(analysis * synthesis))


PRESETS = {
    "draft": Preset(2048, 1024, window="sqrt-hann", hold=1),
    "standard": Preset(3072, 1024, hold=16, drift=0.03),
    "high": Preset(4096, 1024, hold=16, drift=0.03),
}
#: Pitch shifting at half-window hops, frames cross-faded over an eighth of a window and analysed in
#: float64, scores as the Hann presets do on rendered instruments and on a tone (THD+N) at half the frames.
#: ``standard`` shifts as ``high`` does: at these hops 3072-sample windows saved no time, and their
#: leakage of a tone's mirror image (the bins near 0 Hz turn with the tone) left a residue 10 dB higher.
_HALF_HOP_PITCH = Preset(4096, 2048, drift=0.03, crossfade=0.125, float64_analysis=True)
PITCH_PRESETS = {"draft": PRESETS["draft"], "standard": _HALF_HOP_PITCH, "high": _HALF_HOP_PITCH}


def output_length(frames: int, ratio: float) -> int:
    """Frames a stretch of ``frames`` at speed ``ratio`` returns: ``round(frames / ratio)``."""
    return math.floor(frames / ratio + 0.5)


def _check(ratio: float, semitones: float, quality: str) -> Preset:
    for name, value, (low, high) in (("ratio", ratio, RATIO_RANGE), ("semitones", semitones, SEMITONE_RANGE)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidInputError(f"expected a number, got {value!r}", field=name)
        if not math.isfinite(value) or not low <= value <= high:
            raise InvalidInputError(f"must be finite and within [{low:g}, {high:g}], got {value}", field=name)
    if quality not in PRESETS:
        raise InvalidInputError(f"unknown quality {quality!r}; allowed: {', '.join(PRESETS)}", field="quality")
    return PRESETS[quality]


def _resample_by(audio: np.ndarray, factor: float, frames: int, quality: str | int = "VHQ") -> np.ndarray:
    """Play ``audio`` ``factor`` times faster by resampling, trimmed or padded to ``frames``.

    soxr reads the channels as they lie, one row each (``audio.T`` is its split-channel layout, and it
    treats channels independently), with no transposed copy in. ``quality`` is one of python-soxr's names
    or ``SOXR_24_BIT``."""
    converted = None
    split_channels = getattr(soxr_ext, "csoxr_split_ch_float32", None)
    if quality == SOXR_24_BIT and split_channels is not None:
        converted = split_channels(factor, 1.0, audio.T, SOXR_24_BIT).T
        if abs(converted.shape[1] - audio.shape[1] / factor) > 1:
            converted = None
    if converted is None:
        converted = soxr.resample(audio.T, factor, 1.0, quality="VHQ" if quality == SOXR_24_BIT else quality).T
    out = np.zeros((audio.shape[0], frames), dtype=np.float32)
    n = min(frames, converted.shape[1])
    out[:, :n] = converted[:, :n]
    return out


def detect_onsets(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Onset positions (frames) by log-magnitude spectral flux, each placed where the attack has risen half
    way from the envelope's low before it to its peak (in legato lines the note before is still sounding:
    half the peak alone would place the onset early, on the previous note's decay).

    Only frames wholly inside the signal are compared, so its start and end are not onsets. A flux peak
    counts when it is the largest within 50 ms and exceeds twice the local median, a tenth of the largest
    flux in the signal and an absolute floor, so steady tones, noise and slow swells yield none.
    """
    mono = np.empty(audio.shape[1], dtype=np.float32)
    half_rate = np.empty((1, audio.shape[1] // 2), dtype=np.float32)
    stretch_kernels.mono_mix(audio, mono, half_rate[0])
    n, hop = 512, 256
    if half_rate.shape[1] < n:
        return np.zeros(0, dtype=np.int64)
    window = np.hanning(n + 1)[:-1].astype(np.float32)
    centres = np.arange(n // 2, half_rate.shape[1] - n // 2 + 1, hop, dtype=np.int64)
    # In blocks of frames that stay in cache from framing to flux.
    frames = np.empty((1, min(centres.shape[0], _ONSET_BLOCK), n), dtype=np.float32)
    previous = np.zeros(n // 2 + 1, dtype=np.float32)
    flux = np.empty(centres.shape[0], dtype=np.float64)
    for lo in range(0, centres.shape[0], _ONSET_BLOCK):
        block = centres[lo : lo + _ONSET_BLOCK]
        stretch_kernels.gather_frames(half_rate, block, window, frames[:, : block.shape[0]])
        spectra = scipy.fft.rfft(frames[0, : block.shape[0]], axis=1, workers=1)
        flux[lo : lo + block.shape[0]] = stretch_kernels.spectral_flux(spectra, 1000.0, previous)
    flux[0] = 0.0
    flux /= n // 2 + 1
    if flux.max() < _MIN_FLUX:
        return np.zeros(0, dtype=np.int64)
    reach = max(1, round(0.05 * sample_rate / (2 * hop)))
    padded = np.pad(flux, reach, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1)
    is_peak = (
        (flux >= windows.max(axis=1))
        & (flux > 2.0 * np.median(windows, axis=1))
        & (flux > max(0.1 * flux.max(), _MIN_FLUX))
    )
    onsets = []
    for m in np.flatnonzero(is_peak):
        lo = max(0, 2 * (centres[m] - n // 2 - hop))
        hi = min(mono.shape[0], 2 * (centres[m] + n // 2))
        if hi <= lo:
            continue
        segment = stretch_kernels.moving_peak(mono[lo : hi + _ENVELOPE_WIDTH], _ENVELOPE_WIDTH)[: hi - lo]
        top = int(np.argmax(segment))
        low = int(np.argmin(segment[: top + 1]))
        level = segment[low] + 0.5 * (segment[top] - segment[low])
        onsets.append(lo + low + int(np.argmax(segment[low:] >= level)) + _ENVELOPE_WIDTH - 1)
    return np.unique(np.asarray(onsets, dtype=np.int64))


def time_map(
    onsets: np.ndarray, in_frames: int, out_frames: int, stretch: float, n_fft: int, hop: int, hold: int = 1,
    drift: float = math.inf,
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Anchors ``(output frame, input frame)`` of a piecewise-linear map, and the kept ``(onset, reach)``.

    The map has slope 1 within half a window and a hop of the signal's start and end (so both are
    reproduced as they are, with no click or fade) and within ``reach`` of each kept onset ``t``, which
    lands at ``t / stretch``; the reach is half a window, or less where neighbours leave no room (down to
    an eighth of a window, so 16th notes keep their attacks). Between zones the map is linear with a slope
    within [stretch / 2, 2 stretch]; an onset that does not fit even so is stretched like the rest, and a
    signal too short for the start and end zones is mapped linearly throughout.

    With ``hold`` > 1 the slope-1 zone after an onset extends up to ``hold`` times its reach, as far as the
    next onset's full zone (or the end's) still leaves a segment with a slope in that range: a drum hit or
    a pluck decays in a native recording at a slower or faster tempo exactly as it did in the source, so
    its decay is reproduced as it was and the stretch goes to what sounds later, before the next attack.
    Within the hold the output runs ``|1 - 1 / stretch|`` frames per frame away from the linear map, so a
    note that starts there too softly to be an onset lands that much off its time: the hold ends before
    that reaches ``drift`` output frames.
    """
    edge = n_fft // 2 + hop
    if onsets.shape[0]:
        # An attack just after the start may shrink the start's zone to fit.
        edge = max((edge, n_fft // 2, n_fft // 4), key=lambda e: (_zone(onsets[0], (e, e), stretch, n_fft, hop), e))
    anchors = [(-float(edge), -float(edge)), (float(edge), float(edge))]
    kept = [(0, edge)]
    end = [(float(out_frames - edge), float(in_frames - edge)), (float(out_frames + edge), float(in_frames + edge))]
    for i, onset in enumerate(onsets):
        reach = _zone(onset, anchors[-1], stretch, n_fft, hop)
        if reach:
            out_at = onset / stretch
            until = end[0] if i + 1 == onsets.shape[0] else (onsets[i + 1] / stretch - n_fft // 2,
                                                              float(onsets[i + 1] - n_fft // 2))
            longest = hold * reach if stretch == 1.0 else int(min(hold * reach, drift / abs(1.0 - 1.0 / stretch)))
            after = next((a for a in range(longest, reach, -max(hop // 4, 1))
                          if _segment_ok((out_at + a, onset + a), until, stretch, hop)), reach)
            anchors.extend([(out_at - reach, float(onset - reach)), (out_at + after, float(onset + after))])
            kept.append((int(onset), reach))
    while len(kept) > 1 and not _segment_ok(anchors[-1], end[0], stretch, hop):
        del anchors[-2:]
        kept.pop()
    if not _segment_ok(anchors[-1], end[0], stretch, hop):
        return np.asarray([(0.0, 0.0), (float(out_frames), float(in_frames))]), []
    anchors.extend(end)
    kept.append((in_frames, edge))
    return np.asarray(anchors, dtype=np.float64), kept


def _zone(onset: int, after: tuple[float, float], stretch: float, n_fft: int, hop: int) -> int:
    """The widest slope-1 reach (half a window down to an eighth) that ``onset`` can have after the
    anchor ``after``; 0 if none fits."""
    out_at = onset / stretch
    for reach in range(n_fft // 2, n_fft // 8 - 1, -max(hop // 4, 1)):
        if _segment_ok(after, (out_at - reach, onset - reach), stretch, hop):
            return reach
    return 0


def _segment_ok(a: tuple[float, float], b: tuple[float, float], stretch: float, hop: int) -> bool:
    span = b[0] - a[0]
    if span < hop:
        return False
    slope = (b[1] - a[1]) / span
    return stretch / 2 <= slope <= stretch * 2


def transient_bins(audio: np.ndarray, onsets: list[int], window: np.ndarray) -> np.ndarray:
    """Per onset, the bins where the attack, not what sustains through it, has the energy: power (summed
    over channels) in a window centred on the onset more than twice that in a window ending an eighth of
    a window before it (onsets are placed at half the attack's peak, a little after it starts)."""
    n_fft = window.shape[0]
    centres = np.asarray([[t - n_fft // 2 - n_fft // 8, t] for t in onsets], dtype=np.int64).reshape(-1)
    rising = np.empty((len(onsets), n_fft // 2 + 1), dtype=np.bool_)
    # In blocks of onsets whose frames and spectra stay in cache.
    scratch = np.empty(audio.shape[0] * min(centres.shape[0], 2 * CHUNK_FRAMES) * n_fft, dtype=np.float32)
    for lo in range(0, centres.shape[0], 2 * CHUNK_FRAMES):
        block = centres[lo : lo + 2 * CHUNK_FRAMES]
        frames = scratch[: audio.shape[0] * block.shape[0] * n_fft].reshape(audio.shape[0], block.shape[0], n_fft)
        stretch_kernels.gather_frames(audio, block, window, frames)
        spectra = scipy.fft.rfft(frames, axis=2, workers=1)
        power = (spectra.real**2 + spectra.imag**2).sum(axis=0)
        rising[lo // 2 : (lo + block.shape[0]) // 2] = power[1::2] > _TRANSIENT_RISE * power[0::2]
    return rising


def _steepest(anchors: np.ndarray, stretch: float) -> float:
    """The largest slope (input frames per output frame) of the map through ``anchors``, which runs at
    ``stretch`` beyond them."""
    spans = np.diff(anchors, axis=0)
    inner = spans[spans[:, 0] > 0]
    return max(stretch, float((inner[:, 1] / inner[:, 0]).max())) if inner.shape[0] else stretch


def _map(anchors: np.ndarray, out_positions: np.ndarray, stretch: float) -> np.ndarray:
    first, last = anchors[0], anchors[-1]
    mapped = np.interp(out_positions, anchors[:, 0], anchors[:, 1])
    before = out_positions < first[0]
    after = out_positions > last[0]
    mapped[before] = first[1] + (out_positions[before] - first[0]) * stretch
    mapped[after] = last[1] + (out_positions[after] - last[0]) * stretch
    return np.floor(mapped + 0.5).astype(np.int64)


def _with_lagged(centres: np.ndarray, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames to analyse for ``centres`` (increasing) and each one's lag ``hop`` earlier: ``centres`` then
    the lagged centres not among them (in an attack's zone the map has slope 1, so a frame's lag is the
    frame before it), and for each centre the index of its lagged frame in that list."""
    lagged = centres - hop
    found = np.minimum(np.searchsorted(centres, lagged), centres.shape[0] - 1)
    shared = centres[found] == lagged
    extra = lagged[~shared]
    index = np.where(shared, found, centres.shape[0] + np.cumsum(~shared) - 1)
    return np.concatenate((centres, extra)), index


def phase_vocoder(
    audio: np.ndarray, sample_rate: int, stretch: float, out_frames: int, preset: Preset,
    envelope: EnvelopeKeeper | None = None, progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Stretch ``audio`` (pitch kept) to exactly ``out_frames`` frames; ``stretch`` is input per output.

    ``envelope`` reshapes each frame's spectral envelope for the resampling that follows (formants).
    ``progress`` is called after each chunk with the synthesis frames done and their total."""
    n_fft = preset.n_fft
    hop = preset.hop
    onsets = detect_onsets(audio, sample_rate) if preset.transients else np.zeros(0, dtype=np.int64)
    # Frames analysed more than a window apart would skip input: the hop halves until the steepest
    # segment of the map (up to twice the stretch between attacks) keeps them within one.
    while True:
        anchors, kept = time_map(onsets, audio.shape[1], out_frames, stretch, n_fft, hop, preset.hold,
                                preset.drift * sample_rate)
        if hop <= 64 or hop * _steepest(anchors, stretch) <= n_fft:
            break
        hop //= 2
    first = -((n_fft // 2) // hop)
    last = (out_frames + n_fft // 2) // hop + 1
    out_centres = np.arange(first, last + 1, dtype=np.int64) * hop
    in_centres = _map(anchors, out_centres.astype(np.float64), stretch)
    window64 = preset.windows()
    window = window64.astype(np.float32)
    analysis_window, frame_type = (window64, np.float64) if preset.float64_analysis else (window, np.float32)
    synthesis64, scale = preset.synthesis(window64, hop)
    synthesis = synthesis64.astype(np.float32)
    bins = n_fft // 2 + 1
    inner = [t for t, _ in kept[1:-1]]
    masks = np.ones((len(kept) + 1, bins), dtype=np.bool_)
    if inner:
        masks[2:-1] = transient_bins(audio, inner, window)
    resets = np.full(out_centres.shape[0], -1, dtype=np.int64)
    for index, (onset, reach) in enumerate(kept, start=1):
        resets[np.abs(in_centres - onset) < reach] = index
    channels = audio.shape[0]
    prev_y = np.zeros((channels, bins), dtype=np.complex64)
    # Flat scratch viewed per chunk: a partial chunk is C-contiguous too, so the kernels see one layout.
    # float64 frames take twice the memory: chunks of half as many keep them as close to the cache.
    chunk_frames = CHUNK_FRAMES // 2 if preset.float64_analysis else CHUNK_FRAMES
    synth = np.empty(channels * chunk_frames * bins, dtype=np.complex64)
    powers = np.empty((chunk_frames, bins), dtype=np.float32)
    owners = np.empty((chunk_frames, bins), dtype=np.int32)
    peaks = np.empty(bins, dtype=np.int64)
    rotations = np.empty(bins, dtype=np.complex64)
    # Room for each frame's lagged frame too, where they are analysed together.
    frames = np.empty(channels * (1 if preset.float64_analysis else 2) * chunk_frames * n_fft, dtype=frame_type)
    lag_frames = np.empty(channels * chunk_frames * n_fft if preset.float64_analysis else 0, dtype=np.float32)
    out = np.zeros((channels, out_frames), dtype=np.float32)
    for lo in range(0, out_centres.shape[0], chunk_frames):
        hi = min(lo + chunk_frames, out_centres.shape[0])
        count = hi - lo
        if preset.float64_analysis:
            # The lagged frames give only their peaks' phase change, which float32 carries well enough (in
            # float64 too they gained a tone 0.4 dB at -12 semitones for about 7 ms more of transforms on a
            # minute of stereo).
            main = frames[: channels * count * n_fft].reshape(channels, count, n_fft)
            stretch_kernels.gather_frames(audio, in_centres[lo:hi], analysis_window, main)
            spectra = scipy.fft.rfft(main, axis=2, workers=1)
            lag = lag_frames[: channels * count * n_fft].reshape(channels, count, n_fft)
            stretch_kernels.gather_frames(audio, in_centres[lo:hi] - hop, window, lag)
            lagged = scipy.fft.rfft(lag, axis=2, workers=1)
            lag_index = np.arange(count)
        else:
            centres, lag_index = _with_lagged(in_centres[lo:hi], hop)
            chunk = frames[: channels * centres.shape[0] * n_fft].reshape(channels, centres.shape[0], n_fft)
            stretch_kernels.gather_frames(audio, centres, analysis_window, chunk)
            spectra = lagged = scipy.fft.rfft(chunk, axis=2, workers=1)
        synth_chunk = synth[: channels * count * bins].reshape(channels, count, bins)
        stretch_kernels.lock_phases(
            spectra[:, :count], lagged, lag_index, synth_chunk, resets[lo:hi], masks, prev_y, powers[:count], peaks,
            rotations, owners[:count] if envelope is not None else owners[:0]
        )
        if envelope is not None:
            inside = in_centres[lo:hi]
            envelope.apply(powers[:count], synth_chunk,
                           (inside >= n_fft // 2) & (inside + n_fft // 2 <= audio.shape[1]), owners[:count])
        synthesized = scipy.fft.irfft(synth_chunk, n=n_fft, axis=2, workers=1)
        stretch_kernels.overlap_add(synthesized, out_centres[lo:hi] - n_fft // 2, synthesis, scale, out)
        if progress is not None:
            progress(hi, out_centres.shape[0])
    return out


def stretch(
    audio: np.ndarray,
    sample_rate: int,
    ratio: float = 1.0,
    semitones: float = 0.0,
    quality: str = "high",
    varispeed: bool = False,
    formants: float | bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Change the speed and/or pitch of ``audio``.

    Parameters
    ----------
    audio : float32 ``(channels, frames)``
    sample_rate : the rate of ``audio`` in Hz (onset detection works in seconds)
    ratio : playback speed; 2.0 is twice as fast. The output has exactly ``round(frames / ratio)`` frames.
    semitones : pitch offset, any finite value in [-48, 48]; the duration is kept.
    quality : ``"draft"``, ``"standard"`` or ``"high"`` (the default, for offline renders).
    varispeed : resample instead, so pitch follows speed as on tape (``semitones`` must then be 0).
    formants : how much of the spectral envelope (the formants) stays in place when the pitch moves, in
        [0, 1]: 0 (or False) moves it with the pitch, as on tape; 1 (or True) keeps it where it was, as a
        voice sounds when it sings higher or lower; between, the envelope is their geometric mix. The
        default, None, follows the source: its own notes show how far its envelope moves when their pitch
        does (a voice patch sampled once moves it, a densely sampled piano keeps much of it;
        :func:`formant_amount`), and ``FORMANTS`` (0.4) is used when they do not tell. Measured on
        rendered instruments transposed natively (``benchmarks/results/stretch_real_material.md``). Only
        pitch shifting reads it.
    progress : called with the phase vocoder's frames done and their total after each chunk of them (not
        called for varispeed or an unchanged copy, which take no time worth reporting).

    Returns
    -------
    float32 ``(channels, round(frames / ratio))``

    Raises
    ------
    InvalidInputError
        For a ratio outside [1/16, 16], semitones outside [-48, 48], an unknown quality, non-finite audio,
        formants outside [0, 1], or semitones or formants with varispeed.

    Examples
    --------
    >>> import numpy as np
    >>> tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(48_000) / 48_000)).astype(np.float32)
    >>> stretch(tone, 48_000, ratio=1.25).shape, stretch(tone, 48_000, semitones=-3, quality="draft").shape
    ((1, 38400), (1, 48000))
    """
    audio = as_audio(audio)
    sample_rate = check_sample_rate(sample_rate)
    preset = _check(ratio, semitones, quality)
    amount = _formant_amount(formants)
    frames = output_length(audio.shape[1], float(ratio))
    if varispeed:
        if semitones != 0:
            raise InvalidInputError("varispeed ties pitch to speed; give a ratio only", field="semitones")
        if formants:
            raise InvalidInputError("varispeed moves formants with the pitch", field="formants")
        return audio.copy() if ratio == 1 else _resample_by(audio, float(ratio), frames)
    if ratio == 1 and semitones == 0:
        return audio.copy()
    if frames == 0 or audio.shape[1] == 0:
        return np.zeros((audio.shape[0], frames), dtype=np.float32)
    pitch = 2.0 ** (semitones / 12.0)
    stretch_factor = float(ratio) / pitch
    if pitch == 1.0:
        return phase_vocoder(audio, sample_rate, stretch_factor, frames, preset, progress=progress)
    # The stretch's output is resampled by 1 / pitch: its drift, in the stretch's frames, is pitch times
    # the drift allowed in the result.
    preset = replace(PITCH_PRESETS[quality], drift=PITCH_PRESETS[quality].drift * pitch)
    if amount is None:
        amount = _follow_source(audio, sample_rate)
    envelope = EnvelopeKeeper(preset.n_fft, sample_rate, pitch, amount) if amount > 0 else None
    stretched = phase_vocoder(audio, sample_rate, stretch_factor, output_length(audio.shape[1], stretch_factor), preset,
                              envelope, progress)
    return _resample_by(stretched, pitch, frames, SOXR_24_BIT)


def formant_amount(audio: np.ndarray, sample_rate: int, formants: float | bool | None = None) -> float:
    """How much of the spectral envelope a pitch shift of ``audio`` keeps in place for ``formants`` (see
    :func:`stretch`): a number or boolean as given; for None, the part of its envelope the source's own
    notes keep in place when their pitch moves (``1 -`` :func:`~mixdown.engine.formant_motion.envelope_motion`),
    or ``FORMANTS`` when they do not show it.

    >>> import numpy as np
    >>> formant_amount(np.zeros((1, 48_000), np.float32), 48_000), formant_amount(None, 48_000, True)
    (0.4, 1.0)
    """
    amount = _formant_amount(formants)
    return _follow_source(as_audio(audio), check_sample_rate(sample_rate)) if amount is None else amount


def _follow_source(audio: np.ndarray, sample_rate: int) -> float:
    motion = envelope_motion(audio, sample_rate)
    return FORMANTS if motion is None else round(1.0 - motion, 3)


def _formant_amount(formants: float | bool | None) -> float | None:
    if formants is None:
        return None
    if isinstance(formants, (bool, np.bool_)):
        return float(formants)
    if not isinstance(formants, (int, float, np.integer, np.floating)) or not 0.0 <= formants <= 1.0:
        raise InvalidInputError(f"expected a number in [0, 1] or a boolean, got {formants!r}", field="formants")
    return float(formants)
