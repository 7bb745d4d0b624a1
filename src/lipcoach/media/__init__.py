"""Media: decoding audio and video, vocal isolation, time-stretching, speech synthesis."""
