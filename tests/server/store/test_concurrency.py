"""200 bidders race on one lot in 限时竞价: the book serialises them into one clean ladder,
through the batcher the server uses, which must have put racing bids in shared calls."""

from __future__ import annotations

import asyncio
import random
import secrets

from auction.lot.commit import created_fields, new_secrets
from auction.lot.config import LotConfig
from server.store.batcher import Batcher
from server.store.lots import LotBook
from server.store.scripts import unpack
from tests.conftest import lot_config

BIDDERS, ROUNDS = 200, 4


async def test_two_hundred_bidders_racing(book: LotBook) -> None:
    now = await book.logs.server_time()
    opens = now + 1_000  # straight into 限时, once the bidders are registered (R3)
    config = LotConfig.parse(lot_config(deposit=0, opens_at=opens, free_ends_at=opens))
    hidden, lot = new_secrets(), "race-" + secrets.token_hex(4)
    await book.create(lot, config, hidden, created_fields(config, hidden))
    for i in range(BIDDERS):
        args = {
            "bidder_id": f"b{i}",
            "plate": str(1000 + i),
            "name": f"n{i}",
            "token_hash": f"t{i}",
        }
        assert (await book.command(lot, "register", args)).answer["accepted"]
    await asyncio.sleep(max(0, opens - await book.logs.server_time()) / 1000)  # the clock: no event
    batcher = Batcher(book, lambda lot, reply: None)
    rng = random.Random(7)
    standing = {"price": config.start_price - config.increment}
    acks: list[dict[str, int]] = []

    async def bidder(i: int) -> None:
        for round_ in range(ROUNDS):
            steps = rng.randint(1, 3)  # what this bidder last saw, plus a jump: a real race
            price = standing["price"] + steps * config.increment
            args = {"bidder_id": f"b{i}", "bid_id": f"{i}-{round_}", "price": price}
            answer = await batcher.submit(lot, "bid", args)
            if answer["accepted"]:
                acks.append(answer)
                standing["price"] = max(standing["price"], answer["price"])

    await asyncio.gather(*(bidder(i) for i in range(BIDDERS)))
    log = [unpack(raw) for raw in await book.logs.log(lot)]
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))  # gapless
    accepted = [e for e in log if e["kind"] == "bid"]
    prices = [e["price"] for e in accepted]
    assert prices == sorted(set(prices)) and len(prices) == len(acks) > ROUNDS
    assert all((p - config.start_price) % config.increment == 0 for p in prices)
    by_seq = {e["seq"]: e for e in accepted}
    assert all(by_seq[ack["seq"]]["price"] == ack["price"] for ack in acks)
    refused = [e for e in log if e["kind"] == "refused"]
    assert len(refused) + len(acks) == BIDDERS * ROUNDS
    assert {e["code"] for e in refused} == {"TOO_LOW"}  # on the grid, only ever too late
    assert len({e["deadline"] for e in accepted}) > 1  # every bid reset the countdown
    assert batcher.calls < BIDDERS * ROUNDS / 4  # racing bids shared script calls
