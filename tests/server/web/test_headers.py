"""Every page and API answer carries the security headers (review M8): a policy that runs
no inline script, no framing, no sniffing, no referrer."""

from __future__ import annotations

import httpx
import pytest

from tests.server.helpers import make_lot

PATHS = ["/", "/console", "/lots/{lot}", "/openings/x", "/api/health", "/static/openbid.js",
         "/api/lots/{lot}", "/no-such-page"]  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
async def test_every_response_has_the_security_headers(admin: httpx.AsyncClient, path: str) -> None:
    lot_id = await make_lot(admin)
    answer = await admin.get(path.format(lot=lot_id))
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in answer.headers  # plain HTTP: not ours to say
