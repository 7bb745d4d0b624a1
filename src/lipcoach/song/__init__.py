"""Song: the song map of a number (words, phonemes, visemes, breaths, beats, entrances, loudness)."""
