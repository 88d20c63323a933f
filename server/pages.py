"""The browser pages: static files served by the app, written here (no framework, no
bundler). `/lots/{lot}` is the public watch, the bidder room (with `#token=` from the
bidder's link) and, with `?screen=1`, the waiting hall's big screen.
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
    Route("/lots/{lot}", _page("lot.html")),
    Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
]
