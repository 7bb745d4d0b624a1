"""eSpeak NG through its C library (shipped by the ``espeakng-loader`` wheel): IPA and speech.

Used for grapheme-to-phoneme conversion of words the CMU dictionary lacks (and of French,
Spanish and German lyrics), and to voice the synthetic singer used by tests, benchmarks and
the demo. The library keeps global state, so every call goes through one lock.

Speech is rendered deterministically: eSpeak NG's wave generator keeps static state from one
utterance to the next (voicing phase, pitch flutter, echo buffer; not its random seed, which
``espeak_ng_SetRandSeed`` fixes without effect here), so the same word came out a few
samples longer or shorter depending on what was said before it in the process. Every
:func:`synthesize` call therefore loads a private copy of the library, initialises it, speaks,
and unloads it (about 5 ms): the same text and parameters give the same samples, in any
process, in any order.
"""

from __future__ import annotations

import _ctypes
import contextlib
import ctypes
import functools
import os
import shutil
import signal
import tempfile
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
    """The long-lived instance used for phonemisation and voice checks (never to speak)."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise RuntimeError("eSpeak NG failed to initialise")
        self.sr = int(rate)
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
    name = VOICES.get(language, language)
    with _LOCK:
        _engine().voice(language)  # one clear error for an unknown language
        lib = ctypes.CDLL(_private_library_path())
        chunks: list[np.ndarray] = []

        @_SYNTH_CB
        def collect(wav, n, events):  # noqa: ARG001
            if n > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        try:
            import espeakng_loader

            if lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0) <= 0:
                raise RuntimeError("eSpeak NG failed to initialise")
            lib.espeak_SetSynthCallback(collect)
            if lib.espeak_SetVoiceByName(name.encode()) != 0:
                raise LipcoachError(None, f"unknown language {language!r} (eSpeak NG has no voice for it)")
            for param, value in ((_PARAM_RATE, rate_wpm), (_PARAM_VOLUME, volume), (_PARAM_PITCH, pitch), (_PARAM_RANGE, pitch_range)):
                lib.espeak_SetParameter(param, int(value), 0)
            data = text.encode("utf-8")
            with _interrupts_held():
                lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
                lib.espeak_Synchronize()
                lib.espeak_Terminate()
        finally:
            # Unloading drops the generator's static state; the next call starts afresh.
            _ctypes.dlclose(lib._handle)
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    return audio, ESPEAK_SR


@contextlib.contextmanager
def _interrupts_held():
    """Hold Ctrl-C and SIGTERM back while eSpeak NG runs (milliseconds per word).

    The synthesis calls back into Python; an interrupt raised inside that C callback cannot
    leave it, so Python prints its traceback and goes on. While held, a signal is only noted;
    it is raised again, to its own handler, as soon as the synthesis returns (the command then
    says its one line).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # Python handles signals on the main thread only: none can arrive in this callback
        return
    noted: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, _frame: noted.append(signum)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if noted:
            signal.raise_signal(noted[0])


@functools.lru_cache(maxsize=1)
def _private_library_path() -> str:
    """A copy of the eSpeak NG library under its own name, so it loads with fresh static state.

    (Loading the original path again would return the already loaded instance that
    :func:`_engine` keeps for phonemisation.)
    """
    import atexit

    import espeakng_loader

    folder = tempfile.mkdtemp(prefix="lipcoach-espeak-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    original = espeakng_loader.get_library_path()
    path = os.path.join(folder, "libespeak-ng-synth" + os.path.splitext(original)[1])
    shutil.copyfile(original, path)
    return path
