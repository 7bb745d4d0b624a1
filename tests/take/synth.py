"""Drawn-face takes for the take tests (moved to :mod:`lipcoach.testing.faces`, shared with benchmarks)."""

from lipcoach.testing.faces import SR, draw_face, envelope_from_level, write_take  # noqa: F401
