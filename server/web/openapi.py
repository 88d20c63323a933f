"""`GET /api/openapi.json`: the OpenAPI 3.1 description of every route, made from the
operations table (server/web/api.py) when the app is made; `GET /api/docs`: the same, as a page
a person reads (no script, so it needs nothing the page policy forbids)."""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from server.web.api import Operation

__all__ = ["openapi_operations"]


async def document(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


async def docs(request: Request) -> Response:
    described: dict[str, Any] = request.app.state.openapi
    rows = []
    for path, methods in described["paths"].items():
        for method, op in methods.items():
            codes = ", ".join(f"{status} {r.get('description', '')}".strip()
                              for status, r in op["responses"].items())  # fmt: skip
            who = op.get("description", "Anyone.")
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}"
                        f"</code></td><td>{escape(op['summary'])}</td><td>{escape(who)}</td>"
                        f"<td>{escape(codes)}</td></tr>")  # fmt: skip
    body = "".join(rows)
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>OpenBid API</title>'
        '<link rel="stylesheet" href="/static/openbid.css"></head><body><main><h1>OpenBid API'
        '</h1><p>The machine-readable description: <a href="/api/openapi.json">'
        "/api/openapi.json</a> (OpenAPI 3.1).</p><table><thead><tr><th>Method</th><th>Path"
        "</th><th>What</th><th>Who</th><th>Answers</th></tr></thead><tbody>"
        f"{body}</tbody></table></main></body></html>"
    )


openapi_operations = [
    Operation(method="GET", path="/api/openapi.json", handler=document,
              summary="This description (OpenAPI 3.1)", media="application/json"),
    Operation(method="GET", path="/api/docs", handler=docs, summary="This description as a "
              "page", media="text/html"),
]  # fmt: skip
