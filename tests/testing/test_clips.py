"""Song maps made from clip word timings (used by the take benchmarks)."""

import numpy as np

from lipcoach.testing.clips import songmap_from_words


def test_placeholder_words_get_no_made_up_sounds():
    audio = np.random.default_rng(0).normal(0, 0.1, 16000 * 3).astype(np.float32)
    sm = songmap_from_words(audio, sr=16000, words=[(0.2, 1.0, "[speech]"), (1.2, 1.6, "blue")])
    # "[speech]" is a span of unknown words: inventing its phonemes would give the take
    # scorer fake m/b/p closures to look for.
    assert sm.words[0].phonemes == []
    assert [p.viseme for p in sm.words[1].phonemes][0] == "closed"
