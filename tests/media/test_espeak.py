"""eSpeak NG speech: the synthetic singer's voice must be the same every time."""

import numpy as np
import pytest

from lipcoach.errors import LipcoachError
from lipcoach.media import espeak


def _say(word: str) -> np.ndarray:
    audio, sr = espeak.synthesize(word, "en", pitch=45, pitch_range=0, rate_wpm=115)
    assert sr == espeak.ESPEAK_SR and audio.dtype == np.float32 and len(audio) > 0.2 * sr
    return audio


def test_the_same_word_gives_the_same_samples_whatever_was_said_before():
    # Before the fix a word came out a few samples longer or shorter depending on the words
    # spoken before it in the process (the generator's static state carried over).
    first = _say("paper")
    _say("boats")
    _say("river")
    again = _say("paper")
    assert len(first) == len(again) and np.array_equal(first, again)


def test_a_word_in_another_process_gives_the_same_samples(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "paper.npy"
    code = ("import numpy as np; from lipcoach.media import espeak; espeak.synthesize('river', 'en');"
            f"np.save({str(out)!r}, espeak.synthesize('paper', 'en', pitch=45, pitch_range=0, rate_wpm=115)[0])")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert np.array_equal(np.load(out), _say("paper"))


def test_unknown_language_is_one_clear_error():
    with pytest.raises(LipcoachError, match="unknown language"):
        espeak.synthesize("hello", "zz-nothing")
