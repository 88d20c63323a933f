"""`openbid serve --demo`: a land auction to play with, built through the public API.

Fixture L1 of the rules (Baoshan, 34.38万元 start, 0.5万元 steps, 10万元 deposit), in fen:
free bidding for five minutes from now, then 限时竞价 with a 60-second countdown.
"""

from __future__ import annotations

import httpx

__all__ = ["seed"]


async def seed(base: str, admin_token: str) -> str:
    admin = {"authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base, headers=admin) as http:
        now = (await http.get("/api/health")).json()["server_now"]
        config = {
            "title": "隆阳区潞江镇芒旦村 530502106215GB00047 商服用地 (demo)",
            "category": "land", "mode": "auction", "quote_unit": "元",
            "start_price": 34_380_000, "increment": 500_000, "deposit": 10_000_000,
            "opens_at": now, "free_ends_at": now + 300_000, "countdown_s": 60,
        }  # fmt: skip
        lot = (await http.post("/api/lots", json=config)).json()["lot_id"]
        lines = [f"demo lot {lot}: {base}/api/lots/{lot}"]
        for name in ("演示竞买人甲", "演示竞买人乙"):
            made = (await http.post(f"/api/lots/{lot}/bidders", json={"name": name})).json()
            deposit = {"amount": 10_000_000, "kind": "cash", "ref": f"demo-{made['bidder_id']}"}
            await http.post(f"/api/lots/{lot}/bidders/{made['bidder_id']}/deposit", json=deposit)
            lines.append(f"  bidder plate {made['plate']}: token {made['token']}")
        return "\n".join(lines)
