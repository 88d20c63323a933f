"""`openbid serve --demo`: a land auction and a remote bid opening to play with, built
through the public API.

The lot is Fixture L1 of the rules (Baoshan, 34.38万元 start, 0.5万元 steps, 10万元 deposit),
in fen: free bidding for five minutes from now, then 限时竞价 with a 60-second countdown.
The opening's bid deadline is ten minutes from now; three demo bidders have sealed their
bids as their own clients would, and the printout gives each one's token and key.
"""

from __future__ import annotations

import base64

import httpx

from auction.opening.envelope import seal

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
        lines = [f"hall: {base}/", f"console: {base}/console (with the admin token)"]
        lines += [f"demo lot {lot}: {base}/api/lots/{lot}", f"  watch: {base}/lots/{lot}"]
        for name in ("演示竞买人甲", "演示竞买人乙"):
            made = (await http.post(f"/api/lots/{lot}/bidders", json={"name": name})).json()
            deposit = {"amount": 10_000_000, "kind": "cash", "ref": f"demo-{made['bidder_id']}"}
            await http.post(f"/api/lots/{lot}/bidders/{made['bidder_id']}/deposit", json=deposit)
            lines.append(f"  bidder plate {made['plate']}: token {made['token']}")
            lines.append(f"    room: {base}/lots/{lot}#token={made['token']}")
        lines += await _opening(http, base, now)
        return "\n".join(lines)


async def _opening(http: httpx.AsyncClient, base: str, now: int) -> list[str]:
    config = {"title": "某市政道路工程施工（演示标段）", "bid_deadline": now + 600_000,
              "decrypt_window_s": 1800, "min_bidders": 3}  # fmt: skip
    opening = (await http.post("/api/openings", json=config)).json()["opening_id"]
    lines = [f"demo opening {opening}: {base}/api/openings/{opening}",
             f"  watch: {base}/openings/{opening}"]  # fmt: skip
    prices = {"演示投标人甲": 41_980_000_00, "演示投标人乙": 42_350_000_00,
              "演示投标人丙": 40_770_000_00}  # fmt: skip
    for name, price in prices.items():
        made = (await http.post(f"/api/openings/{opening}/bidders", json={"name": name})).json()
        sealed = seal(opening, made["bidder_id"], {"price": price, "duration_days": 540}, None)
        auth = {"authorization": f"Bearer {made['token']}"}
        await http.post(f"/api/openings/{opening}/envelopes", json=sealed.upload(), headers=auth)
        key = base64.b64encode(sealed.key).decode()
        lines.append(f"  bidder plate {made['plate']}: token {made['token']} key {key}")
        lines.append(f"    room: {base}/openings/{opening}#token={made['token']}")
    return lines
