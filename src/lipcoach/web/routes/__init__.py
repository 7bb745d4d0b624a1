"""The studio's routes, one module per resource; :data:`ROUTERS` is what the app includes.

Adding a resource is one module with an ``APIRouter`` named ``router`` and one line here.
"""

from __future__ import annotations

from lipcoach.web.routes import jobs, live, maps, numbers, pages, renders, seasons, songs, takes

ROUTERS = [
    pages.router,
    numbers.router,
    songs.router,
    maps.router,
    renders.router,
    takes.router,
    jobs.router,
    seasons.router,
    live.router,
]
