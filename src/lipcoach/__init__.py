"""lipcoach: a lip-sync coach for screen musicals.

Stages, each a sub-package: ``media`` (decode, separate, stretch, synthesise) →
``song`` (the song map of a number) → ``take`` (mouth track, sync, grades) →
``production`` (catalogue, edit lists); ``web`` and ``cli`` sit on top and hold no logic.
"""

__version__ = "0.1.0"
