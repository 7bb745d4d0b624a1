"""Formats: lyrics read in, karaoke and subtitle files written out."""
