"""Figures: pictures of a song map (matplotlib, drawn on demand)."""
