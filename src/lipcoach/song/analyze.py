"""The song-map pipeline: one function from a song file (and lyrics) to a :class:`SongMap`.

Stages, each a pure function in its own module: decode (``media.decode``) → vocal guide
(``media.separate``, or the user's stem) → [loudness, vocal activity and onsets
(``song.vocal``), beat grid (``song.rhythm``), file hash: in a second thread] beside [words
placed by Whisper forced alignment (``song.whisper_align``) and refined with phonemes by the
phone pass (``song.align``), each line given a calibrated confidence and flagged when unsure
(``song.confidence``) → pitch per word] → breaths (``song.breaths``) → line entrances
(``song.rhythm``).
All analysis runs at :data:`ANALYSIS_SR`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from lipcoach import __version__
from lipcoach.errors import LipcoachError
from lipcoach.fileio import file_sha256
from lipcoach.media import espeak
from lipcoach.media.decode import load_audio, probe
from lipcoach.progress import ProgressCallback, silent, subrange
from lipcoach.song.songmap import Loudness, Section, SongMap

if TYPE_CHECKING:
    from lipcoach.song.vocal import FrameFeatures

#: Sample rate of every analysis stage, Hz (PocketSphinx's en-us model is 16 kHz).
ANALYSIS_SR = 16000
#: Separation methods accepted by :func:`analyze_song`.
SEPARATIONS = ("auto", "none", "classical", "spleeter")
#: What "auto" prefers without a stem, best first: Spleeter's 2-stem network, packaged and run
#: on onnxruntime (``media.spleeter_net``, its stem cached per song by ``media.stems``); the
#: classical guide when the packaged model is missing. Measurements in docs/benchmarks.md
#: ("Vocal separation").
SEPARATION_PREFERENCE = ("spleeter", "classical")
#: How words are placed without time stamps (benchmarks/song_accuracy.py measures all three):
#: "hybrid" = Whisper anchors refined by the PocketSphinx phone pass, "whisper" = anchors alone,
#: "pocketsphinx" = the phone-level aligner alone (the method before Whisper).
ALIGNERS = ("auto", "hybrid", "whisper", "pocketsphinx")


def choose_aligner(aligner: str, *, has_stem: bool) -> str:
    """The aligner ``"auto"`` stands for: the phone-level PocketSphinx pass alone on a clean
    vocal stem, Whisper anchors refined by it (``"hybrid"``) on a mix.

    Measured on the same material in one run: on real mixes the hybrid places 86.5 % of
    word onsets within 0.3 s against 63.1 % for PocketSphinx alone (benchmarks/song_accuracy.py);
    on clean vocal stems of the synthetic singer PocketSphinx alone is the more precise
    (benchmarks/stem_aligner.py), because Whisper's coarse anchors can only narrow the phone
    pass's window there, not correct it. No real stem with word truth exists here.
    """
    if aligner != "auto":
        return aligner
    return "pocketsphinx" if has_stem else "hybrid"
#: Vocal guides a line's first-word onset is refined on before it is placed on the grid
#: (benchmarks/entrance_accuracy.py): on a vocal stem refining wins (slots right and offsets
#: within 20 ms), while on the classical guide or the mix it lands on drum and bass attacks and
#: measures worse than the aligner's onset as given, so there the onset is not refined.
REFINE_ENTRANCES_ON = ("stem", "spleeter")
#: Vocal guides breaths are read from (the others: the mix alone) ...
BREATHS_FROM_STEM = ("stem", "spleeter")
#: ... and those whose breaths must also show in the mix (``breaths.mix_check``): a separated
#: stem carries residue of the band in its rests; a studio stem does not, and on exact stems
#: the check only cost breaths (benchmarks/breath_accuracy.py, generated songs).
BREATHS_CHECKED_ON_MIX = ("spleeter",)
#: A song whose loudest 20 ms frame is below this level (dBFS) is treated as silent.
SILENCE_DB = -60.0


def _peak_db(audio: np.ndarray, *, sr: int) -> float:
    """Level of the loudest 20 ms frame, dBFS (−120 for audio shorter than a frame)."""
    from lipcoach.song.vocal import frame_levels_db

    levels = frame_levels_db(audio, sr=sr)
    return float(levels.max()) if levels.size else -120.0


def default_separation() -> str:
    """The separation "auto" uses: Spleeter when its packaged model is installed, else classical."""
    from lipcoach.errors import LipcoachError
    from lipcoach.media.spleeter_net import checkpoint_prefix

    try:
        checkpoint_prefix()
    except LipcoachError:
        return SEPARATION_PREFERENCE[1]
    return SEPARATION_PREFERENCE[0]


def load_vocal_guide(
    song_path: str | os.PathLike,
    *,
    vocals_path: str | os.PathLike | None = None,
    separation: str = "auto",
    report: Optional[ProgressCallback] = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Decode a song and produce the signal the vocal analyses run on.

    Returns
    -------
    mix : np.ndarray, float32 (n,)
        The song mixed to mono at :data:`ANALYSIS_SR`.
    vocal : np.ndarray, float32 (n,)
        The user's stem when given, else the separated vocal estimate, else the mix.
    method : str
        "stem", "none", "classical" or "spleeter": where ``vocal`` came from.
    """
    if separation not in SEPARATIONS:
        raise LipcoachError(None, f"unknown separation {separation!r}; choose one of {', '.join(SEPARATIONS)}")
    report = report or silent
    method = "stem" if vocals_path is not None else default_separation() if separation == "auto" else separation
    mix_for_model = None
    if method == "spleeter":
        # One decode at the model's 44.1 kHz serves both the separation and the analysis rate
        # (also when the stem is cached, so that a map does not change with the cache).
        import soxr

        from lipcoach.media import spleeter_net

        mix_for_model, _ = load_audio(song_path, sr=spleeter_net.SAMPLE_RATE, mono=False)
        stereo = np.ascontiguousarray(soxr.resample(mix_for_model.T, spleeter_net.SAMPLE_RATE, ANALYSIS_SR, quality="HQ").T)
        sr = ANALYSIS_SR
    else:
        stereo, sr = load_audio(song_path, sr=ANALYSIS_SR, mono=False)
    mix = stereo.mean(axis=0).astype(np.float32)
    if _peak_db(mix, sr=sr) < SILENCE_DB:
        raise LipcoachError(song_path, f"is silent (no 20 ms frame above {SILENCE_DB:.0f} dBFS)")
    if vocals_path is not None:
        stem, _ = load_audio(vocals_path, sr=ANALYSIS_SR, mono=True)
        if abs(len(stem) - len(mix)) > 5 * sr:
            raise LipcoachError(vocals_path, f"vocal stem is {len(stem) / sr:.1f} s but the song is {len(mix) / sr:.1f} s; is it the same number?")
        vocal = np.zeros_like(mix)
        vocal[: min(len(stem), len(mix))] = stem[: len(mix)]
        return mix, vocal, "stem"
    if method == "none":
        return mix, mix, "none"
    if method == "spleeter":
        # Separated from the file at 44.1 kHz (the model's rate) and cached by the file's hash,
        # so the studio's stem job, practice-track and a later map reuse it.
        from lipcoach.media.stems import vocal_stem_audio

        vocal = vocal_stem_audio(song_path, sr=sr, length=len(mix), mix=mix_for_model, report=report)
        return mix, vocal, method
    from lipcoach.media.separate import vocal_guide

    vocal = vocal_guide(stereo, sr=sr, method=method, report=report)
    return mix, vocal.astype(np.float32), method


#: Which signal each aligner hears when the vocal guide is Spleeter's stem: "stem" (both on the
#: stem), "mix" (both on the mix, as without separation) or "whisper-mix" (Whisper's anchors
#: on the mix, the phone pass on the stem). Chosen on songs of the calibration half
#: (benchmarks/song_accuracy.py; docs/benchmarks.md, "Spleeter in the default install"):
#: Whisper places lines better on the mix it was trained on, the phone pass places onsets
#: better on the clean voice. The variable ``LIPCOACH_ALIGN_GUIDE`` overrides it for those
#: measurements.
SPLEETER_ALIGN_GUIDE = "whisper-mix"
ALIGN_GUIDES = ("stem", "mix", "whisper-mix")


def alignment_guides(method: str, *, mix: np.ndarray, vocal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The signals Whisper's anchors and the phone pass hear: (whisper, phones).

    A user's stem is heard by both; Spleeter's as :data:`SPLEETER_ALIGN_GUIDE` says; the
    classical guide and no separation leave both on the mix.
    """
    if method == "stem":
        return vocal, vocal
    if method != "spleeter":
        return mix, mix
    choice = os.environ.get("LIPCOACH_ALIGN_GUIDE") or SPLEETER_ALIGN_GUIDE
    if choice not in ALIGN_GUIDES:
        raise LipcoachError(None, f"LIPCOACH_ALIGN_GUIDE must be one of {', '.join(ALIGN_GUIDES)}, not {choice!r}")
    return (mix if choice != "stem" else vocal), (vocal if choice != "mix" else mix)


def accompaniment_level_db(mix: np.ndarray, vocal: np.ndarray, *, sr: int, reference_db: float) -> float:
    """Median level of the accompaniment (mix minus vocal) relative to the sung level, dB.

    Decides whether a breath can be heard over the band (the ``audible`` flag).
    """
    from lipcoach.song.vocal import frame_levels_db

    n = min(len(mix), len(vocal))
    levels = frame_levels_db(mix[:n] - vocal[:n], sr=sr)
    active = levels[levels > -90.0]
    return float(np.median(active) - reference_db) if active.size else -120.0


def _sections(lines, section_of_line: list[int]) -> list[Section]:
    sections: list[Section] = []
    for index in sorted(set(section_of_line)):
        members = [ln for ln, s in zip(lines, section_of_line) if s == index]
        if members:
            sections.append(Section(start=min(m.start for m in members), end=max(m.end for m in members), label=f"section {index + 1}"))
    return sections


@dataclass
class _Music:
    """What :func:`_music_features` finds (see :func:`analyze_song`)."""

    loudness: Loudness
    activity: list
    onsets: list
    tempo_bpm: float
    beats: list
    downbeats: list
    accompaniment_db: Optional[float]
    sha256: str
    features: "FrameFeatures"  #: the one frame analysis of the vocal guide


def _music_features(song_path: Path, mix: np.ndarray, vocal: np.ndarray, *, sr: int, method: str) -> _Music:
    """Everything the map needs that does not depend on the words: vocal loudness, activity and
    onsets, the beat grid, the accompaniment's level, and the file's hash."""
    from lipcoach.song import rhythm, vocal as vocal_features

    # One frame analysis of the vocal guide, read by loudness, activity, onsets and breaths.
    features = vocal_features.frame_features(vocal, sr=sr)
    loudness = vocal_features.loudness_contour(vocal, sr=sr, features=features)
    tempo_bpm, beats, downbeats = rhythm.beat_grid(mix, sr=sr)
    return _Music(
        loudness=loudness,
        activity=vocal_features.vocal_activity(vocal, sr=sr, features=features),
        onsets=vocal_features.vocal_onsets(vocal, sr=sr, features=features),
        tempo_bpm=tempo_bpm,
        beats=beats,
        downbeats=downbeats,
        accompaniment_db=accompaniment_level_db(mix, vocal, sr=sr, reference_db=loudness.reference_db) if method != "none" else None,
        sha256=file_sha256(song_path),
        features=features,
    )



def check_analyze(song: Path, *, output: Path, lyrics: Optional[Path], vocals: Optional[Path],
                  also_written: Sequence[tuple[Optional[Path], Optional[Sequence[str]], str]] = (),
                  force: bool = False) -> None:
    """Pre-flight of ``lipcoach analyze``: the map (and ``also_written``: ``(path, suffixes,
    label)`` of the other outputs, such as the plot) can be written and replace none of the inputs.

    Raises :class:`~lipcoach.errors.LipcoachError` (one line naming the file) before any decoding.
    """
    from lipcoach.fileio import check_outputs

    check_outputs([(output, None, "song map"), *also_written], inputs=[song, lyrics, vocals], force=force)

def analyze_song(
    song_path: str | os.PathLike,
    *,
    lyrics_path: str | os.PathLike | None = None,
    vocals_path: str | os.PathLike | None = None,
    language: str = "en",
    separation: str = "auto",
    aligner: str = "auto",
    model_dir: str | os.PathLike | None = None,
    diagnostics: Optional[dict] = None,
    report: Optional[ProgressCallback] = None,
) -> SongMap:
    """Map a song: words, phonemes, visemes, breaths, beats, entrances and loudness.

    Parameters
    ----------
    song_path : path
        Any audio or video file FFmpeg decodes.
    lyrics_path : path, optional
        Plain text, LRC or SRT/VTT lyrics. Without lyrics the map has no words or lines.
    vocals_path : path, optional
        An isolated vocal stem of the same song (same start); used instead of separation.
    language : str
        Language of the lyrics (ISO 639-1, e.g. "en", "fr", "es", "de").
    separation : str
        How to get a vocal guide without a stem: "auto", "classical", "spleeter" or "none".
    aligner : str
        One of :data:`ALIGNERS` (``"auto"``: see :func:`choose_aligner`); timed lyrics (LRC,
        SRT, VTT) are always aligned by their stamps.
    model_dir : path, optional
        A CTranslate2 Whisper model folder to use instead of the packaged ones (also the
        ``LIPCOACH_WHISPER_MODEL`` environment variable); see :mod:`lipcoach.media.whisper_model`.
    diagnostics : dict, optional
        Filled with alignment internals for benchmarks (see :func:`lipcoach.song.align.align_lyrics`).
    report : callable, optional
        Progress callback ``report(fraction, label)``.
    """
    from lipcoach.song import align, breaths, rhythm, vocal as vocal_features
    from lipcoach.formats.lyrics import check_lyrics_fit, read_lyrics

    report = report or silent
    song_path = Path(song_path)
    info = probe(song_path)
    if not info.has_audio:
        raise LipcoachError(song_path, "has no audio stream")
    if not espeak.has_language(language):
        raise LipcoachError(None, f"unknown language {language!r}")
    lyrics = read_lyrics(lyrics_path) if lyrics_path is not None else None
    if lyrics is not None and info.duration_s > 0:
        check_lyrics_fit(lyrics.n_words, info.duration_s, source=lyrics_path)
    if aligner not in ALIGNERS:
        raise LipcoachError(None, f"unknown aligner {aligner!r}; choose one of {', '.join(ALIGNERS)}")
    aligner = choose_aligner(aligner, has_stem=vocals_path is not None)
    use_whisper = lyrics is not None and not lyrics.timed and aligner != "pocketsphinx"
    whisper_dir = None
    if use_whisper:
        from lipcoach.media.whisper_model import describe as describe_model, model_dir_for

        whisper_dir = model_dir_for(language, model_dir)  # a bad --model fails here, before any long work

    report(0.0, "decoding")
    mix, vocal, method = load_vocal_guide(song_path, vocals_path=vocals_path, separation=separation, report=subrange(report, 0.02, 0.25))
    sr = ANALYSIS_SR
    if lyrics is not None and not info.duration_s > 0:  # the container did not say how long the song is
        check_lyrics_fit(lyrics.n_words, len(mix) / sr, source=lyrics_path)
    report(0.25, "beats and loudness")
    # The music-side analyses need only the decoded signals, so they run in a second thread
    # beside the alignment (the FFT work, the hash's file read and CTranslate2's and the
    # aligners' native code release the GIL): on two cores their time hides behind the aligner's.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lipcoach-music") as pool:
        music_job = pool.submit(_music_features, song_path, mix, vocal, sr=sr, method=method)
        words, lines = [], []
        if lyrics is not None:
            # The classical guide gained nothing for alignment (benchmarks/separation.py), so the
            # aligners hear the mix then; which of them hear a separated stem is measured
            # (docs/benchmarks.md, "Vocal separation": :func:`alignment_guides`).
            whisper_guide, phone_guide = alignment_guides(method, mix=mix, vocal=vocal)
            anchors = None
            if use_whisper:
                from lipcoach.media.whisper_model import load_model
                from lipcoach.song.whisper_align import WhisperAligner, align_words

                report(0.35, "loading the Whisper model")
                whisper = WhisperAligner(load_model(whisper_dir), language)
                anchors = align_words(
                    whisper_guide, sr=sr, words=[w for ln in lyrics.lines for w in ln.words], aligner=whisper,
                    line_starts=np.cumsum([0] + [len(ln.words) for ln in lyrics.lines[:-1]]).tolist(), report=subrange(report, 0.36, 0.6),
                )
                if diagnostics is not None:
                    diagnostics["anchors"] = anchors
            words, lines = align.align_lyrics(
                phone_guide, sr=sr, lyrics=lyrics, language=language, anchors=anchors, refine=aligner != "whisper",
                diagnostics=diagnostics, report=subrange(report, 0.6 if use_whisper else 0.35, 0.85),
            )
            report(0.85, "pitch")
            for word, pitch in zip(words, vocal_features.word_pitches(vocal, sr=sr, words=words)):
                word.pitch_midi = None if pitch is None else round(float(pitch), 2)
        music = music_job.result()
    loudness, activity, onsets = music.loudness, music.activity, music.onsets
    tempo_bpm, beats, downbeats = music.tempo_bpm, music.beats, music.downbeats
    report(0.9, "breaths")
    # A vocal stem (the user's or Spleeter's) holds the breath without the band: breaths are
    # read there, a separated stem's checked against the mix (benchmarks/breath_accuracy.py). The classical
    # guide does not lift a breath above the band, so without a stem they are sought in the mix.
    on_stem = method in BREATHS_FROM_STEM
    found_breaths = breaths.detect_breaths(
        vocal if on_stem else mix, sr=sr, words=words or None, lines=lines or None,
        features=music.features if on_stem else None,
        accompaniment_level_db=music.accompaniment_db, mix=mix if method in BREATHS_CHECKED_ON_MIX else None,
    )
    if lines:
        report(0.95, "entrances")
        refine_on = vocal if method in REFINE_ENTRANCES_ON else None
        for line, entrance in zip(lines, rhythm.line_entrances(lines, words, beats=beats, downbeats=downbeats, vocal=refine_on, sr=sr)):
            line.entrance = entrance
    section_of_line = [ln.section for ln in lines]
    report(1.0, "done")
    return SongMap(
        duration=len(mix) / sr,
        tempo_bpm=float(tempo_bpm),
        beats=[float(b) for b in beats],
        downbeats=[float(b) for b in downbeats],
        words=words,
        lines=lines,
        breaths=found_breaths,
        loudness=loudness,
        onsets=[float(t) for t in onsets],
        vocal_activity=[[float(a), float(b)] for a, b in activity],
        sections=_sections(lines, section_of_line) if lines else [],
        language=language,
        source={
            "path": str(song_path),
            "name": song_path.name,
            "sha256": music.sha256,
            "vocals": None if vocals_path is None else str(vocals_path),
            "lyrics": None if lyrics_path is None else str(lyrics_path),
            "vocal_guide": method,
            "aligner": aligner if use_whisper else ("timed" if lyrics is not None and lyrics.timed else "pocketsphinx"),
            "whisper_model": None if whisper_dir is None else describe_model(whisper_dir),
            "generator": f"lipcoach {__version__}",
        },
    )
