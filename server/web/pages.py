"""The browser pages: plain files written here (no framework, no bundler), zh-CN first with
an English switch. Each page is its body (`server/web/markup/`) in one shared shell, with its
own script from `server/web/static/`; the lot's and the opening's share their top.

- `/`: the public hall, the day's lots and openings;
- `/lots/{lot}`: the public watch, the bidder room (with `#token=` from the bidder's link),
  the staff view (`?staff=1`) and the waiting hall's big screen (`?screen=1`);
- `/openings/{opening}`: the same four for a remote bid opening, the host's controls in
  the staff view;
- `/console`: the host's and the supervisor's console;
- `/keys`: a bidder's signing key, made and kept by the browser;
- `/parties/me`: a party's own record and where it registered (`#token=`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from auction.errors import CATALOGUE
from server.web.api import Operation

__all__ = ["page_operations", "static"]

STATIC = resources.files("server.web").joinpath("static")
MARKUP = resources.files("server.web").joinpath("markup")
SHELL = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenBid</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/openbid.css">
<script type="module" src="/static/{name}.js"></script>
</head>
<body>
{body}</body>
</html>
"""


ROOM_TOP = "{room_top}"  # where a room's page takes the top it shares (markup/room-top.html)


def _markup(name: str) -> str:
    return MARKUP.joinpath(f"{name}.html").read_text("utf-8")


@cache
def _html(name: str) -> str:
    body = _markup(name).replace(ROOM_TOP, _markup("room-top"))
    return SHELL.format(name=name, body=body)


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def page(request: Request) -> Response:
        return HTMLResponse(_html(name), headers={"cache-control": "no-cache"})

    return page


async def codes(request: Request) -> Response:
    """Every code the server answers with, in both languages, as the pages' module: one
    catalogue (auction/errors.py), not a copy in the pages."""
    body = f"export const CODES = {json.dumps(CATALOGUE, ensure_ascii=False)};\n"
    return Response(body, media_type="text/javascript", headers={"cache-control": "no-cache"})


page_operations = [
    Operation(method="GET", path="/", handler=_page("hall"), summary="The public hall",
              media="text/html"),
    Operation(method="GET", path="/console", handler=_page("console"),
              summary="The host's and the supervisor's console", media="text/html"),
    Operation(method="GET", path="/lots/{lot}", handler=_page("lot"),
              summary="A lot's page: the public's, a bidder's (#token=), the staff's "
              "(?staff=1), the big screen (?screen=1)", media="text/html"),
    Operation(method="GET", path="/openings/{opening}", handler=_page("opening"),
              summary="An opening's page, for the same four", media="text/html"),
    Operation(method="GET", path="/keys", handler=_page("keypage"),
              summary="A bidder's signing key: made and kept by the browser, its public half "
              "shown to register", media="text/html"),
    Operation(method="GET", path="/parties/me", handler=_page("party"),
              summary="A party's own page (#token=): its record and where it registered",
              media="text/html"),
    Operation(method="GET", path="/static/codes.js", handler=codes,
              summary="Every answer code in both languages, for the pages",
              media="text/javascript"),
]  # fmt: skip
static = Mount("/static", StaticFiles(directory=str(STATIC)), name="static")
