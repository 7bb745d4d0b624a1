"""The practice studio web app: :func:`create_app` and :func:`serve` (see :mod:`lipcoach.web.app`)."""

from __future__ import annotations


def __getattr__(name: str):
    # Imported lazily so that `import lipcoach.web` does not pull in FastAPI for CLI start-up.
    if name in ("create_app", "serve"):
        from lipcoach.web import app

        return getattr(app, name)
    raise AttributeError(name)
