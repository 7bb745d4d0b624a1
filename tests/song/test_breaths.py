"""Breath detection on the synthetic singer, on generated fricatives and room noise, and on real speech."""

import numpy as np
import pytest

from lipcoach.evaluate import breaths as breath_eval
from lipcoach.formats.timed_tsv import read_timed_tsv
from lipcoach.song.breaths import detect_breaths
from lipcoach.song.songmap import Line, Word

SR = 16000


@pytest.fixture(scope="module")
def song():
    from lipcoach.testing.synthetic_song import make_song

    return make_song(n_lines=4, seed=11, tempo_bpm=120.0, entrance_offsets_ms=[0.0, -60.0, 50.0, 0.0])


def words_and_lines(song):
    words = [Word(text=w.text, start=w.start, end=w.end, line=w.line) for w in song.words]
    lines = [Line(text=t, start=a, end=b) for t, (a, b) in zip(song.line_texts, song.line_spans())]
    return words, lines


def intervals(breaths):
    return [[b.start, b.end] for b in breaths]


def test_every_breath_of_the_synthetic_singer_is_found_with_its_level_and_line(song):
    words, lines = words_and_lines(song)
    found = detect_breaths(song.vocals, sr=song.sr, words=words, lines=lines)
    truth = intervals(song.breaths)
    scores = breath_eval.evaluate(truth, intervals(found))
    assert scores["f1"] == 1.0
    assert scores["onset_mae_s"] < 0.03 and scores["offset_mae_s"] < 0.08
    for r, e in breath_eval.match(truth, intervals(found)):
        assert found[e].level_db == pytest.approx(song.breaths[r].level_db, abs=2.0)
        assert found[e].before_line == song.breaths[r].before_line
        assert found[e].audible
        assert found[e].kind == ("catch" if found[e].end - found[e].start < 0.35 else "full")


def test_breaths_are_found_without_lyrics_and_in_the_mix(song):
    for signal in (song.vocals, song.mix):
        found = detect_breaths(signal, sr=song.sr)
        assert breath_eval.evaluate(intervals(song.breaths), intervals(found))["f1"] >= 0.85


def test_quiet_breaths_under_leaking_accompaniment_are_still_found():
    from lipcoach.testing.synthetic_song import make_song

    quiet = make_song(n_lines=3, seed=4, breath_levels_db=(-38.0, -30.0), accompaniment_db=-20.0)
    words, lines = words_and_lines(quiet)
    found = detect_breaths(quiet.mix, sr=quiet.sr, words=words, lines=lines)
    assert breath_eval.evaluate(intervals(quiet.breaths), intervals(found))["f1"] == 1.0


def voiced(seconds, f0=160.0, amplitude=0.2):
    t = np.arange(int(seconds * SR)) / SR
    note = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    return (amplitude * note / np.abs(note).max()).astype(np.float32)


def hiss(seconds, rng, low=4500.0, high=7500.0, amplitude=0.05):
    from scipy.signal import butter, sosfilt

    sos = butter(4, [low, high], btype="bandpass", fs=SR, output="sos")
    return (amplitude * sosfilt(sos, rng.standard_normal(int(seconds * SR))) * 4).astype(np.float32)


def test_an_s_glued_to_a_vowel_is_not_a_breath():
    rng = np.random.default_rng(1)
    room = (1e-4 * rng.standard_normal(int(4.0 * SR))).astype(np.float32)
    y = room.copy()
    # "yes ... yes": vowel, then /s/ straight after it, a short rest, and again.
    for start in (0.5, 2.0):
        v = voiced(0.5)
        s = hiss(0.18, rng)
        a = int(start * SR)
        y[a : a + len(v)] += v
        y[a + len(v) : a + len(v) + len(s)] += s
    assert detect_breaths(y, sr=SR, infer_silent=False) == []


def test_inferred_inhalations_are_marked_inaudible_and_can_be_turned_off():
    rng = np.random.default_rng(2)
    # Room noise 40 dB under the voice, two phrases with a 1 s rest and no audible breath.
    y = (0.002 * rng.standard_normal(int(4.0 * SR))).astype(np.float32)
    y[int(0.5 * SR) : int(1.5 * SR)] += voiced(1.0)
    y[int(2.5 * SR) : int(3.5 * SR)] += voiced(1.0)
    found = detect_breaths(y, sr=SR)
    before_second = [b for b in found if 1.5 < b.start and b.end <= 2.5]
    assert len(before_second) == 1 and not before_second[0].audible
    assert 2.3 < before_second[0].end <= 2.5
    assert [b for b in detect_breaths(y, sr=SR, infer_silent=False) if 1.5 < b.start < 2.5] == []


def test_digital_silence_holds_no_breath():
    y = np.zeros(int(4.0 * SR), np.float32)
    y[int(0.5 * SR) : int(1.5 * SR)] += voiced(1.0)
    y[int(2.5 * SR) : int(3.5 * SR)] += voiced(1.0)
    assert detect_breaths(y, sr=SR) == []


def test_audible_flag_follows_the_accompaniment_level(song):
    words, lines = words_and_lines(song)
    loud_band = detect_breaths(song.vocals, sr=song.sr, words=words, lines=lines, accompaniment_level_db=0.0)
    assert loud_band and not any(b.audible for b in loud_band)


def test_real_speech_breaths_are_found(shared_data):
    from lipcoach.media.decode import load_audio

    folder = shared_data / "breaths" / "libritts_test_clean"
    hits = n_ref = n_est = 0
    for wav in sorted(folder.glob("*.wav")):
        audio, sr = load_audio(wav, sr=16000)
        ref = [[start_s, end_s] for start_s, end_s, _ in read_timed_tsv(wav.with_suffix(".breaths.tsv"))]
        scores = breath_eval.evaluate(ref, intervals(detect_breaths(audio, sr=sr)))
        hits, n_ref, n_est = hits + scores["true_positives"], n_ref + scores["n_reference"], n_est + scores["n_estimated"]
    # Measured 12 of 14 found with 2 false alarms (F1 0.86); see docs/benchmarks.md.
    assert hits / n_ref >= 0.8 and hits / n_est >= 0.8


# -- evaluate.breaths ----------------------------------------------------------------------

def test_evaluation_matches_by_overlap_one_to_one():
    ref = [[1.0, 1.5], [3.0, 3.3]]
    est = [[1.1, 1.6], [1.2, 1.4], [5.0, 5.4]]
    scores = breath_eval.evaluate(ref, est)
    assert scores["true_positives"] == 1
    assert scores["precision"] == pytest.approx(1 / 3) and scores["recall"] == pytest.approx(0.5)
    assert scores["onset_mae_s"] == pytest.approx(0.1)


def test_evaluation_iou_threshold_and_empty_cases():
    assert breath_eval.evaluate([[0.0, 1.0]], [[0.85, 1.85]])["f1"] == 0.0  # IoU 0.08
    assert breath_eval.evaluate([[0.0, 1.0]], [[0.6, 1.6]])["f1"] == 1.0  # IoU 0.25
    assert breath_eval.evaluate([], [])["f1"] == 1.0
    assert breath_eval.evaluate([[0.0, 1.0]], [])["recall"] == 0.0
    with pytest.raises(ValueError):
        breath_eval.evaluate([[1.0, 0.5]], [])


def test_evaluation_also_reports_the_onset_rule():
    scores = breath_eval.evaluate([[1.0, 2.0], [4.0, 4.3]], [[1.15, 1.3], [4.5, 4.8]])
    assert scores["f1"] == 0.0  # IoU 0.15 and 0: no overlap match
    assert scores["onset_true_positives"] == 1 and scores["onset_f1"] == pytest.approx(0.5)


def test_a_silent_vocal_has_no_breaths_even_with_lyrics():
    y = np.zeros(3 * SR, np.float32)
    assert detect_breaths(y, sr=SR, words=[Word(text="la", start=1.0, end=2.0, line=0)], lines=[Line(text="la", start=1.0, end=2.0)]) == []


# -- breaths over a band, from a recipe that is not the synthetic singer's ----------------------

def bright_band(seconds, *, rng, chord_hz=(196.0, 246.9, 293.7), level=0.05, hats=True):
    """A strummed, bright chord (sawtooth partials to 6 kHz, restruck every 0.5 s) plus soft hi-hats."""
    from scipy.signal import butter, sosfilt

    n = int(seconds * SR)
    t = np.arange(n) / SR
    y = np.zeros(n)
    for f0 in chord_hz:
        for k in range(1, int(6000 / f0)):
            y += np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k
    y *= 0.6 + 0.4 * np.exp(-(t % 0.5) / 0.15)  # restruck every half second, decaying between
    y = level * y / np.sqrt(np.mean(y**2))
    if hats:
        sos = butter(4, 6000, btype="highpass", fs=SR, output="sos")
        for start in np.arange(0.25, seconds, 0.5):
            a = int(start * SR)
            m = min(n - a, int(0.05 * SR))
            y[a : a + m] += 0.3 * level * sosfilt(sos, rng.standard_normal(m)) * np.exp(-np.arange(m) / (0.012 * SR))
    return y


def sung(seconds, f0=220.0, amplitude=0.2):
    """A sung vowel: 20 harmonics, 5 Hz vibrato, 20 ms fades."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / SR
    note = sum(np.sin(k * phase) / k**1.2 for k in range(1, 21))
    fade = np.minimum(1.0, np.minimum(t / 0.02, (t[-1] - t) / 0.02))
    return amplitude * note / np.sqrt(np.mean(note**2)) * fade


def inhalation(seconds, *, rng):
    """An inhalation unlike the synthetic singer's: pink noise through two resonances (1.1 and
    3.4 kHz), a quick swell and a slow, trembling fade."""
    from scipy.signal import iirpeak, lfilter

    n = int(seconds * SR)
    white = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SR)
    pink = np.fft.irfft(white / np.sqrt(np.maximum(freqs, 300.0)), n)
    shaped = 0.3 * pink
    for centre, q in ((1100.0, 2.0), (3400.0, 3.0)):
        b, a = iirpeak(centre, q, fs=SR)
        shaped = shaped + lfilter(b, a, pink)
    x = np.linspace(0.0, 1.0, n)
    envelope = np.where(x < 0.3, x / 0.3, ((1 - x) / 0.7) ** 0.8) * (1 + 0.2 * np.sin(2 * np.pi * 7 * x * seconds))
    return shaped * envelope


def band_power_db(x):
    from scipy.signal import butter, sosfiltfilt

    return 10 * np.log10(np.mean(sosfiltfilt(butter(4, [1000, 6000], btype="bandpass", fs=SR, output="sos"), x) ** 2))


def song_over_a_band(*, breath_over_band_db=None, seed=5):
    """Two sung lines (0.5–2.5 s, 3.8–5.8 s) over a bright band; optionally an inhalation ending
    0.1 s before the second line, its 1–6 kHz power this many dB over the band's there."""
    rng = np.random.default_rng(seed)
    y = bright_band(7.0, rng=rng)
    words, lines = [], []
    for line, (a_s, b_s) in enumerate(((0.5, 2.5), (3.8, 5.8))):
        for k in range(4):
            start, end = a_s + k * 0.5, a_s + k * 0.5 + 0.42
            y[int(start * SR) : int(start * SR) + int(0.42 * SR)] += sung(0.42, f0=220.0 * 2 ** (k / 12))
            words.append(Word(text="la", start=start, end=end, line=line))
        lines.append(Line(text="la la la la", start=a_s, end=a_s + 1.92))
    truth = None
    if breath_over_band_db is not None:
        breath = inhalation(0.5, rng=rng)
        end = 3.8 - 0.1
        a = int((end - 0.5) * SR)
        here = band_power_db(y[a : a + len(breath)])
        breath *= 10 ** ((here + breath_over_band_db - band_power_db(breath)) / 20)
        y[a : a + len(breath)] += breath
        truth = [a / SR, a / SR + 0.5]
    return y.astype(np.float32), words, lines, truth


def audible_in(found, a_s, b_s):
    return [b for b in found if b.audible and b.start < b_s and b.end > a_s]


@pytest.mark.parametrize("over_band_db", [0.0, 6.0])
def test_an_inhalation_over_a_band_is_found_where_it_is(over_band_db):
    y, words, lines, truth = song_over_a_band(breath_over_band_db=over_band_db)
    found = detect_breaths(y, sr=SR, words=words, lines=lines)
    heard = audible_in(found, 2.42, 3.8)
    assert len(heard) == 1, found
    assert breath_eval.iou_matrix([truth], [[heard[0].start, heard[0].end]])[0, 0] >= 0.5
    # The fading tail sinks under the band first: the end may come a little early.
    assert abs(heard[0].start - truth[0]) <= 0.1 and -0.15 <= heard[0].end - truth[1] <= 0.05
    assert heard[0].before_line == 1


def test_the_same_rest_without_a_breath_gets_no_audible_breath():
    y, words, lines, _ = song_over_a_band(breath_over_band_db=None)
    found = detect_breaths(y, sr=SR, words=words, lines=lines)
    assert audible_in(found, 2.42, 3.8) == []
    # The lyrics still say the singer inhales before line 2: an inferred, inaudible mark.
    assert [b.before_line for b in found if not b.audible and 2.42 < b.end <= 3.8] == [1]


def drum_kit_intro(seconds, *, rng):
    """Kick, snare and hi-hat on a 120 bpm grid, and a strummed chord on every beat."""
    from scipy.signal import butter, sosfilt

    n = int(seconds * SR)
    y = np.zeros(n)
    hat = butter(4, 5000, btype="highpass", fs=SR, output="sos")
    snare = butter(2, [1000, 5000], btype="bandpass", fs=SR, output="sos")
    t_hit = np.arange(int(0.25 * SR)) / SR
    for k, start in enumerate(np.arange(0.0, seconds - 0.3, 0.25)):
        a = int(start * SR)
        m = len(t_hit)
        y[a : a + m] += 0.06 * sosfilt(hat, rng.standard_normal(m)) * np.exp(-t_hit / 0.02)
        if k % 4 == 0:
            y[a : a + m] += 0.5 * np.sin(2 * np.pi * 60 * t_hit * np.exp(-t_hit / 0.1)) * np.exp(-t_hit / 0.12)
        if k % 4 == 2:
            y[a : a + m] += 0.4 * sosfilt(snare, rng.standard_normal(m)) * np.exp(-t_hit / 0.06)
        if k % 2 == 0:  # a strum: six strings struck 12 ms apart, ringing 0.4 s
            t = np.arange(int(0.45 * SR)) / SR
            for s_k, f0 in enumerate((82.4, 110.0, 146.8, 196.0, 246.9, 329.6)):
                b0 = a + int(s_k * 0.012 * SR)
                m2 = min(len(t), n - b0)
                y[b0 : b0 + m2] += 0.05 * sum(np.sin(2 * np.pi * f0 * h * t[:m2]) / h for h in range(1, 15)) * np.exp(-t[:m2] / 0.15)
    return y


def test_drums_hi_hats_and_strums_in_an_intro_are_not_breaths():
    rng = np.random.default_rng(8)
    y = drum_kit_intro(7.0, rng=rng)
    words = []
    for k in range(4):  # the singer comes in at 4 s, over the band
        start = 4.0 + k * 0.6
        y[int(start * SR) : int(start * SR) + int(0.5 * SR)] += sung(0.5, f0=196.0)
        words.append(Word(text="oh", start=start, end=start + 0.5, line=0))
    found = detect_breaths(y.astype(np.float32), sr=SR, words=words, lines=[Line(text="oh oh oh oh", start=4.0, end=6.3)])
    assert audible_in(found, 0.0, 4.0) == []
    # Kept as the actor's cue: one inferred inhalation right before the entrance.
    assert [(b.audible, b.before_line) for b in found] == [(False, 0)]


def test_breath_onset_metrics_agree_with_mir_eval():
    import mir_eval

    ref = [[1.0, 1.4], [3.0, 3.3], [6.0, 6.5]]
    est = [[1.1, 1.5], [3.35, 3.6], [6.15, 6.4], [8.0, 8.2]]
    ours = breath_eval.evaluate(ref, est)
    f, p, r = mir_eval.onset.f_measure(np.array(ref)[:, 0], np.array(est)[:, 0], window=breath_eval.ONSET_TOLERANCE_S)
    assert (ours["onset_f1"], ours["onset_precision"], ours["onset_recall"]) == pytest.approx((f, p, r))
    assert list(ours)[:3] == ["precision", "recall", "f1"]
    assert ours["true_positives"] == 2  # IoU ≥ 0.2: the first and third pairs
    with pytest.raises(ValueError, match="estimate"):
        breath_eval.validate(ref, [[2.0, float("nan")]])


def test_real_inhalations_in_a_real_mix_are_heard(shared_data):
    """A hand-labelled LibriTTS inhalation, added 3 dB over the band before five lines of a real
    mix (a calibration song of benchmarks/breath_accuracy.py), is found at four or more of them."""
    from scipy.signal import butter, sosfiltfilt

    from lipcoach.media.decode import load_audio

    folder = shared_data / "songs_en" / "fairybot_heaven_cant_wait"
    mix, _ = load_audio(folder / "audio.ogg", sr=SR)
    rows = read_timed_tsv(folder / "words_timed.tsv")
    spans = read_timed_tsv(folder / "lines_timed.tsv")
    line_starts = np.array([start_s for start_s, _, _ in spans])
    words = [Word(text=text, start=a, end=b, line=int(np.searchsorted(line_starts, a + 0.05) - 1)) for a, b, text in rows]
    lines = [Line(text=text, start=a, end=b) for a, b, text in spans]
    speech, _ = load_audio(shared_data / "breaths" / "libritts_test_clean" / "1089_134686_000034_000003.wav", sr=SR)
    breath = sosfiltfilt(butter(4, 100, btype="highpass", fs=SR, output="sos"), speech.astype(np.float64))[int(11.01 * SR) : int(11.49 * SR)]
    breath[:160] *= np.linspace(0, 1, 160)
    breath[-160:] *= np.linspace(1, 0, 160)
    y = mix.astype(np.float64).copy()
    truth = []
    ends = np.array([w.end for w in words])
    for k in range(1, len(lines)):
        onset = min(w.start for w in words if w.line == k)
        if len(truth) == 5 or onset - ends[ends < onset].max() < 0.85:
            continue
        a = int((onset - 0.1) * SR) - len(breath)
        gain_db = band_power_db(mix[a : a + len(breath)].astype(np.float64)) + 3.0 - band_power_db(breath)
        y[a : a + len(breath)] += 10 ** (gain_db / 20) * breath
        truth.append([a / SR, (a + len(breath)) / SR])
    assert len(truth) == 5
    found = [[b.start, b.end] for b in detect_breaths(y.astype(np.float32), sr=SR, words=words, lines=lines) if b.audible]
    assert len(breath_eval.match(truth, found)) >= 4



@pytest.mark.parametrize("seed", [11, 12])
def test_an_inhalation_that_stalls_halfway_is_one_breath(seed):
    # A real inhalation often comes in two pulls (in-rush, a 90 ms stall, the tail); each pull
    # alone is shorter than a breath over the band may be, so judged apart one or both were lost.
    rng = np.random.default_rng(seed)
    y, words, lines, _ = song_over_a_band(breath_over_band_db=None)
    pull = inhalation(0.13, rng=rng)
    start_s = 3.8 - 0.1 - 0.35
    for offset_s in (0.0, 0.22):
        a = int((start_s + offset_s) * SR)
        here = band_power_db(y[a : a + len(pull)])
        y[a : a + len(pull)] += (pull * 10 ** ((here + 6.0 - band_power_db(pull)) / 20)).astype(np.float32)
    found = detect_breaths(y, sr=SR, words=words, lines=lines)
    heard = audible_in(found, 2.42, 3.8)
    assert len(heard) == 1, found
    assert breath_eval.iou_matrix([[start_s, start_s + 0.35]], [[heard[0].start, heard[0].end]])[0, 0] >= 0.5


# -- a vocal stem with the mix as a check -------------------------------------------------------

def stem_and_mix(*, breath: bool, leak: bool, seed=6):
    """Two sung lines over a band with a steady noise bed (a shaker wash, 1–6 kHz). The stem
    holds the voice, and optionally an inhalation before line 2 (also in the mix) and a 0.4 s
    leak of the wash at 2.7–3.1 s (separation residue: in the stem only, since the mix has the
    wash throughout)."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    y, words, lines, _ = song_over_a_band(breath_over_band_db=None, seed=seed)
    n = len(y)
    wash = 0.02 * sosfilt(butter(4, [1000, 6000], btype="bandpass", fs=SR, output="sos"), rng.standard_normal(n))
    voice = np.zeros(n)
    for w in words:
        a = int(w.start * SR)
        voice[a : a + int(0.42 * SR)] += sung(0.42, f0=220.0)
    band = y - voice  # song_over_a_band mixed the same notes; keep one copy of them
    stem = voice.copy()
    mix = voice + band + wash
    if breath:
        b = 0.04 * inhalation(0.5, rng=rng) / 0.02
        a = int(3.2 * SR)
        stem[a : a + len(b)] += b
        mix[a : a + len(b)] += b
    if leak:
        a, b = int(2.7 * SR), int(3.1 * SR)
        stem[a:b] += 0.7 * wash[a:b] * np.hanning(b - a)
    return stem.astype(np.float32), mix.astype(np.float32), words, lines


def test_separation_residue_in_a_stem_is_not_a_breath_when_the_mix_does_not_show_it():
    stem, mix, words, lines = stem_and_mix(breath=False, leak=True)
    alone = detect_breaths(stem, sr=SR, words=words, lines=lines)
    assert len(audible_in(alone, 2.42, 3.8)) == 1  # the stem alone takes the leak for a breath
    checked = detect_breaths(stem, sr=SR, words=words, lines=lines, mix=mix)
    assert audible_in(checked, 2.42, 3.8) == []
    assert [b.before_line for b in checked if not b.audible and 2.42 < b.end <= 3.8] == [1]


def test_an_inhalation_in_the_stem_and_the_mix_is_kept():
    stem, mix, words, lines = stem_and_mix(breath=True, leak=False)
    heard = audible_in(detect_breaths(stem, sr=SR, words=words, lines=lines, mix=mix), 2.42, 3.8)
    assert len(heard) == 1
    assert abs(heard[0].start - 3.2) <= 0.1 and heard[0].before_line == 1


def test_one_inhalation_per_rest_the_last_before_the_line():
    from lipcoach.song.breaths import latest_per_rest

    starts = np.array([1.0, 5.0])
    found = [(0.2, 0.5, True), (2.0, 2.3, True), (4.0, 4.6, True), (4.2, 4.8, False)]
    assert sorted(latest_per_rest(found, starts)) == [(0.2, 0.5, True), (4.0, 4.6, True), (4.2, 4.8, False)]
