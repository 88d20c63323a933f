"""The browser pages: static files served by the app, written here (no framework, no
bundler), zh-CN first with an English switch.

- `/`: the public hall, the day's lots and openings;
- `/lots/{lot}`: the public watch, the bidder room (with `#token=` from the bidder's link),
  the staff view (`?staff=1`) and the waiting hall's big screen (`?screen=1`);
- `/openings/{opening}`: the same four for a remote bid opening, the host's controls in
  the staff view;
- `/console`: the host's and the supervisor's console.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["page_routes"]

STATIC = resources.files("server").joinpath("static")


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        return FileResponse(str(STATIC.joinpath(name)), headers={"cache-control": "no-cache"})

    return page


page_routes = [
    Route("/", _page("hall.html")),
    Route("/console", _page("console.html")),
    Route("/lots/{lot}", _page("lot.html")),
    Route("/openings/{opening}", _page("opening.html")),
    Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
]
