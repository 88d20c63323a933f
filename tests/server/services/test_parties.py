"""The party library (交易主体库) and the blacklist (失信名单) on the real app: a party
registers itself once per credit code, enrols in a lot and an opening (by its own token or
named by the host) and sees both on its page; a listed party is refused BLACKLISTED with the
entry, one listed after registering pays and does not qualify; every credit check is in the
staff's log and in no public event or frame."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from auction.parties.credit_code import ALPHABET, check_character, organisation_check
from server.cli import main
from server.store.keys import lot_keys, party_venues
from tests.conftest import ADMIN, SUPERVISOR
from tests.server.helpers import bearer, make_lot
from tests.server.services.test_openings import new_opening
from tests.server.test_verify import save
from tests.server.wsclient import client

LISTED = {"source": "最高人民法院失信被执行人名单", "from": "2020-01-01", "until": None}


def new_code() -> str:
    """A fresh valid credit code (工商, 企业, Beijing Haidian): the store is the session's."""
    body = "MA" + "".join(secrets.choice(ALPHABET) for _ in range(6))
    first = "91110108" + body + organisation_check(body)
    return first + check_character(first)


async def new_party(http: httpx.AsyncClient, code: str | None = None) -> dict[str, Any]:
    party = {"name": f"甲{secrets.token_hex(3)}建设有限公司", "credit_code": code or new_code(),
             "account": "6222 0212 3456 7890", "contact": "张三 13800000000"}  # fmt: skip
    made = await http.post("/api/parties", json=party, headers={"authorization": ""})
    assert made.status_code == 201, made.text
    made_party: dict[str, Any] = party | made.json()
    return made_party


async def blacklist(admin: httpx.AsyncClient, code: str, **entry: Any) -> None:
    row = LISTED | {"credit_code": code, "reason": "拒不履行生效判决"} | entry
    listed = await admin.post("/api/credit/blacklist", json=[row])
    assert listed.status_code == 200 and listed.json()["imported"] == 1, listed.text


async def checks(admin: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    audit = (await admin.get(f"{path}/audit")).json()
    return [row["entry"] for row in audit["entries"] if row["entry"]["kind"] == "credit_check"]


async def test_a_party_registers_itself_once_per_credit_code(public: httpx.AsyncClient) -> None:
    party = await new_party(public)
    assert party["party_id"] and party["token"]
    again = await public.post("/api/parties", json={k: party[k] for k in (
        "name", "credit_code", "account", "contact")})  # fmt: skip
    assert again.status_code == 409 and again.json()["code"] == "CONFLICT"
    wrong = party | {"credit_code": party["credit_code"][:17] + "0", "name": "乙"}
    if wrong["credit_code"] == party["credit_code"]:
        wrong["credit_code"] = party["credit_code"][:17] + "1"
    bad = await public.post("/api/parties", json=wrong)
    assert bad.status_code == 422 and bad.json()["code"] == "BAD_CREDIT_CODE"
    assert bad.json()["field"] == "credit_code"
    mine = await public.get("/api/parties/me", headers=bearer(party["token"]))
    assert mine.json()["party"]["credit_code"] == party["credit_code"]
    assert mine.json()["party"]["account"] == "6222021234567890"
    assert (await public.get("/api/parties/me")).status_code == 401


async def test_a_party_in_a_lot_and_an_opening_shows_both_on_its_page(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    party = await new_party(public)
    lot_id, opening_id = await make_lot(admin), await new_opening(admin)
    own = bearer(party["token"])
    itself = await public.post(f"/api/lots/{lot_id}/bidders", json={}, headers=own)
    assert itself.status_code == 201, itself.text
    assert set(itself.json()) >= {"bidder_id", "plate", "token"}
    named = await admin.post(f"/api/openings/{opening_id}/bidders",
                             json={"party_id": party["party_id"]})  # fmt: skip
    assert named.status_code == 201, named.text
    page = (await public.get("/api/parties/me", headers=own)).json()
    assert page["lots"] == [{"lot_id": lot_id, "bidder_id": itself.json()["bidder_id"]}]
    assert page["openings"] == [{"opening_id": opening_id, "bidder_id": named.json()["bidder_id"]}]
    tenderers = (await admin.get(f"/api/openings/{opening_id}/bidders")).json()["bidders"]
    assert [t["name"] for t in tenderers] == [party["name"]]  # the library's name
    typed = await admin.post(f"/api/lots/{lot_id}/bidders", json={"name": "丙公司"})
    assert typed.status_code == 201  # the host's typed name, as before
    other = await public.post(f"/api/lots/{lot_id}/bidders", headers=own,
                              json={"party_id": "p" + "0" * 12})  # fmt: skip
    assert other.status_code == 403  # a party registers itself, no other
    both = await admin.post(f"/api/lots/{lot_id}/bidders",
                            json={"party_id": party["party_id"], "name": "丁"})  # fmt: skip
    assert both.status_code == 422
    shown = await public.get("/parties/me")
    assert shown.status_code == 200 and "party.js" in shown.text
    assert "script-src" in shown.headers["content-security-policy"]
    passed = await checks(admin, f"/api/lots/{lot_id}")
    assert [(c["at"], c["result"], c["listing"]) for c in passed] == [("register", "passed", None)]
    assert party["credit_code"] not in str(passed)  # blinded: no name behind a plate (R9)


async def test_the_store_does_not_link_a_party_to_its_plate(
    public: httpx.AsyncClient, admin: httpx.AsyncClient, redis: Redis
) -> None:
    """Whoever reads the store (its file, a backup, a replica) cannot tell which company
    holds which plate before the close: where a party registered is sealed (R9)."""
    party = await new_party(public)
    lot_id = await make_lot(admin)
    made = await public.post(f"/api/lots/{lot_id}/bidders", json={}, headers=bearer(party["token"]))
    bidder_id = made.json()["bidder_id"]
    links = [*(await redis.hvals(lot_keys(lot_id)["parties"])),
             *(await redis.lrange(party_venues(party["party_id"]), 0, -1))]  # fmt: skip
    assert len(links) == 2
    for link in links:
        text = link.decode() if isinstance(link, bytes) else link
        words = set(re.findall(r"\w+", text))
        assert not {party["party_id"], lot_id, bidder_id} & words
    page = (await public.get("/api/parties/me", headers=bearer(party["token"]))).json()
    assert page["lots"] == [{"lot_id": lot_id, "bidder_id": bidder_id}]  # the server opens them


async def test_a_listed_party_is_refused_with_the_entry(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    party = await new_party(public)
    await blacklist(admin, party["credit_code"])
    await blacklist(admin, party["credit_code"], source="某中心黑名单", **{"from": "2099-01-01"})
    lot_id, opening_id = await make_lot(admin), await new_opening(admin)
    async with client(str(public.base_url), lot_id) as viewer:
        await viewer.hello(since=0)
        for path in (f"/api/lots/{lot_id}", f"/api/openings/{opening_id}"):
            refused = await public.post(f"{path}/bidders", json={}, headers=bearer(party["token"]))
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "BLACKLISTED"
            assert refused.json()["listing"] == LISTED  # the entry in force today, not 2099's
            (check,) = await checks(admin, path)
            assert check["result"] == "listed" and check["listing"] == LISTED
            assert check["pub"] is False and "plate" not in check
        by_host = await admin.post(f"/api/lots/{lot_id}/bidders",
                                   json={"party_id": party["party_id"]})  # fmt: skip
        assert by_host.json()["code"] == "BLACKLISTED"
        await admin.post(f"/api/lots/{lot_id}/suspend", json={"reason": "核查"})
        seen = await viewer.until(lambda m: m.get("kind") == "suspended")
    assert not any("credit" in str(m) or "listing" in m for m in seen)
    for path in (f"/api/lots/{lot_id}", f"/api/openings/{opening_id}"):
        events = (await public.get(f"{path}/events?since=0")).json()["events"]
        assert all(e["kind"] != "credit_check" for e in events)
    assert (await public.get("/api/parties/me", headers=bearer(party["token"]))).json()[
        "lots"
    ] == []


async def test_a_party_listed_after_registering_pays_and_does_not_qualify(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    clear, late = await new_party(public), await new_party(public)
    lot_id = await make_lot(admin)
    bidders = {}
    for party in (clear, late):
        made = await public.post(f"/api/lots/{lot_id}/bidders", json={},
                                 headers=bearer(party["token"]))  # fmt: skip
        bidders[party["party_id"]] = made.json()
    await blacklist(admin, late["credit_code"], until="2099-12-31")
    qualified = {}
    for party_id, bidder in bidders.items():
        paid = await admin.post(
            f"/api/lots/{lot_id}/bidders/{bidder['bidder_id']}/deposit",
            json={"amount": 10_000_000, "kind": "cash", "ref": f"bank-{bidder['bidder_id']}"},
        )
        assert paid.status_code == 200, paid.text
        qualified[party_id] = paid.json()["qualified"]
    assert qualified == {clear["party_id"]: True, late["party_id"]: False}
    late_bidder = bidders[late["party_id"]]
    async with client(str(public.base_url), lot_id) as room:
        await room.hello(token=late_bidder["token"], since=0)
        bid = {"type": "bid", "bid_id": "1", "price": 34_380_000}
        await room.send(bid)
        (nack,) = [m for m in await room.until(lambda m: m.get("type") == "nack")][-1:]
    assert nack["code"] == "NOT_QUALIFIED"
    assert not any(m.get("kind") == "credit_check" for m in room.received)  # not even its own
    at_deposit = [c for c in await checks(admin, f"/api/lots/{lot_id}") if c["at"] == "deposit"]
    found = {c["bidder_id"]: (c["result"], c["listing"]) for c in at_deposit}
    assert found == {
        bidders[clear["party_id"]]["bidder_id"]: ("passed", None),
        late_bidder["bidder_id"]: ("listed", LISTED | {"until": "2099-12-31"}),
    }


async def test_the_blacklist_imports_json_and_csv_and_a_bad_row_imports_nothing(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    first, second, third, fourth = (new_code() for _ in range(4))
    rows = [{"credit_code": code, "source": "法院", "from": "2026-01-01", "until": None,
             "reason": "欠款"} for code in (first, second)]  # fmt: skip
    assert (await admin.post("/api/credit/blacklist", json=rows)).json()["imported"] == 2
    csv = ("credit_code,source,from,until,reason\n"
           f"{third},市交易中心黑名单,2026-02-01,2026-08-01,串通投标\n")  # fmt: skip
    supervising = bearer(SUPERVISOR) | {"content-type": "text/csv"}
    imported = await public.post("/api/credit/blacklist", content=csv.encode(), headers=supervising)
    assert imported.status_code == 200 and imported.json()["imported"] == 1, imported.text
    bad = [rows[0] | {"credit_code": fourth}, rows[0] | {"credit_code": fourth[:-1] + "I"}]
    refused = await admin.post("/api/credit/blacklist", json=bad)
    assert refused.status_code == 422 and refused.json()["field"] == "rows[2].credit_code"
    bad_csv = csv.replace(third, fourth) + f"{fourth},法院,2026-13-01,,欠款\n"
    refused = await admin.post("/api/credit/blacklist", content=bad_csv.encode(),
                               headers={"content-type": "text/csv"})  # fmt: skip
    assert refused.status_code == 422 and refused.json()["field"] == "rows[2].from"
    entries = (await admin.get("/api/credit/blacklist")).json()["entries"]
    mine = {
        e["credit_code"]: e for e in entries if e["credit_code"] in (first, second, third, fourth)
    }
    assert set(mine) == {first, second, third}  # nothing of the refused imports
    assert mine[third] == {"credit_code": third, "source": "市交易中心黑名单", "from": "2026-02-01",
                           "until": "2026-08-01", "reason": "串通投标", "by": "supervisor-0",
                           "at": mine[third]["at"]}  # fmt: skip
    party = await new_party(public)
    assert (await public.get("/api/credit/blacklist")).status_code == 401
    as_party = await public.get("/api/credit/blacklist", headers=bearer(party["token"]))
    assert as_party.status_code == 403


async def test_logs_with_credit_checks_verify(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, tmp_path: Path
) -> None:
    """`openbid verify` replays every check through the rules; after the close the staff's
    export says which credit code each blinded party is, and verify checks that too."""
    listed, clear = await new_party(public), await new_party(public)
    await blacklist(admin, listed["credit_code"])
    lot_id, opening_id = await make_lot(admin), await new_opening(admin)
    for path in (f"/api/lots/{lot_id}", f"/api/openings/{opening_id}"):
        for party in (listed, clear):
            await public.post(f"{path}/bidders", json={}, headers=bearer(party["token"]))
    bidder_id = (await public.get("/api/parties/me", headers=bearer(clear["token"]))).json()[
        "lots"
    ][0]["bidder_id"]
    paid = {"amount": 10_000_000, "kind": "cash", "ref": f"r-{bidder_id}"}
    await admin.post(f"/api/lots/{lot_id}/bidders/{bidder_id}/deposit", json=paid)
    for token in (ADMIN, SUPERVISOR):  # 终止: the host asks, the supervisor agrees
        reason = {"reason": "测试"}
        await public.post(f"/api/lots/{lot_id}/terminate", json=reason, headers=bearer(token))
    lot_audit = (await admin.get(f"/api/lots/{lot_id}/audit")).json()
    assert {listed["credit_code"], clear["credit_code"]} <= set(lot_audit["clear"].values())
    assert len(await checks(admin, f"/api/lots/{lot_id}")) == 3  # two registrations, a deposit
    opening_audit = (await admin.get(f"/api/openings/{opening_id}/audit")).json()
    for name, document in (("lot", lot_audit), ("opening", opening_audit)):
        assert main(["verify", str(save(tmp_path, document, f"{name}.json"))]) == 0, name
