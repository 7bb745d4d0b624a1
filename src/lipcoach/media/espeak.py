"""eSpeak NG through its C library (shipped by the ``espeakng-loader`` wheel): IPA and speech.

Used for grapheme-to-phoneme conversion of words the CMU dictionary lacks (and of French,
Spanish and German lyrics), and to voice the synthetic singer used by tests, benchmarks and
the demo. The library keeps global state, so every call goes through one lock.
"""

from __future__ import annotations

import ctypes
import functools
import threading

import numpy as np

from lipcoach.errors import LipcoachError

#: eSpeak's native output rate, Hz.
ESPEAK_SR = 22050

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4
_LOCK = threading.Lock()
_SYNTH_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

#: Voice names for the languages lipcoach aligns.
VOICES = {"en": "en-us", "fr": "fr", "es": "es", "de": "de", "it": "it", "pt": "pt", "nl": "nl"}


class _Engine:
    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise RuntimeError("eSpeak NG failed to initialise")
        self.sr = int(rate)
        self._chunks: list[np.ndarray] = []

        @_SYNTH_CB
        def _collect(wav, n, events):  # noqa: ARG001
            if n > 0:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = _collect  # keep a reference: ctypes callbacks must outlive the C side
        self.lib.espeak_SetSynthCallback(self._callback)
        self._voice = None

    def voice(self, language: str) -> None:
        name = VOICES.get(language, language)
        if name != self._voice:
            if self.lib.espeak_SetVoiceByName(name.encode()) != 0:
                raise LipcoachError(None, f"unknown language {language!r} (eSpeak NG has no voice for it)")
            self._voice = name


@functools.lru_cache(maxsize=1)
def _engine() -> _Engine:
    return _Engine()


def has_language(language: str) -> bool:
    """True when eSpeak NG has a voice for ``language`` (ISO 639-1 code such as "fr")."""
    try:
        with _LOCK:
            _engine().voice(language)
        return True
    except LipcoachError:
        return False


@functools.lru_cache(maxsize=50_000)
def phonemize_ipa(text: str, language: str) -> str:
    """IPA transcription of ``text`` in ``language`` (stress marks kept, words space-separated)."""
    with _LOCK:
        engine = _engine()
        engine.voice(language)
        pointer = ctypes.c_char_p(text.encode("utf-8"))
        parts = []
        while pointer.value:
            out = engine.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_IPA)
            if out:
                parts.append(out.decode("utf-8"))
        return " ".join(parts).strip()


def synthesize(
    text: str,
    language: str = "en",
    *,
    pitch: int = 50,
    pitch_range: int = 0,
    rate_wpm: int = 140,
    volume: int = 100,
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with eSpeak NG.

    Parameters
    ----------
    pitch : int
        Base pitch, eSpeak units 0..100 (50 ≈ 110-120 Hz for the default voice).
    pitch_range : int
        Intonation range 0..100; 0 gives a flat, sung-like monotone.
    rate_wpm : int
        Speaking rate in words per minute (80..450); slower holds vowels longer.

    Returns
    -------
    audio : np.ndarray, float32, shape (n_samples,)
    sr : int
        :data:`ESPEAK_SR` (22050 Hz).
    """
    with _LOCK:
        engine = _engine()
        engine.voice(language)
        for param, value in ((_PARAM_RATE, rate_wpm), (_PARAM_VOLUME, volume), (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range)):
            engine.lib.espeak_SetParameter(param, int(value), 0)
        engine._chunks = []
        data = text.encode("utf-8")
        engine.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
        engine.lib.espeak_Synchronize()
        chunks, engine._chunks = engine._chunks, []
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    return audio, engine.sr
