"""What a refusal logs (auction/opening/rules.py `_described`): one private `refused` entry
naming the command, the bidder by its plate and the arguments a replay needs to decide it
again (a signature or a public key only when sent), and never a handed-over key, only its
SHA-256 (security review M1)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from auction.opening import rules as opening
from auction.opening.replay import replay_opening
from auction.opening.state import (
    NAMES,
    Advance,
    Backup,
    Cosign,
    Decrypt,
    Fault,
    OpeningCommand,
    RegisterTenderer,
    SignIn,
)
from tests.auction.opening.test_rules import DEADLINE, OPENING, Opening, decrypting, signed_in
from tests.auction.opening.test_steps import step, written

OPENS = DEADLINE + 2000
K = hashlib.sha256(b"k").hexdigest()
GIVEN = "ab" * 32
PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"


def _refusals() -> list[tuple[str, Opening, OpeningCommand, str, str | None, dict[str, Any]]]:
    return [
        ("sign in twice", signed_in("abc"), SignIn(bidder_id="b"),
         "ALREADY_SUBMITTED", "102", {}),
        ("decrypt before the window", signed_in("abc"),
         Decrypt(bidder_id="b", key="k", reason="BAD_KEY"),
         "PHASE_CLOSED", "102", {"reason": "BAD_KEY", "key_sha256": K}),
        ("decrypt a bid before the window: the bid is not kept", signed_in("abc"),
         Decrypt(bidder_id="b", key="k", bid={"price": 1}),
         "PHASE_CLOSED", "102", {"reason": "NOT_OPENED", "key_sha256": K}),
        ("a replayed decryption keeps its logged hash", signed_in("abc"),
         Decrypt(bidder_id="b", key="", reason="NOT_OPENED", key_sha256=GIVEN),
         "PHASE_CLOSED", "102", {"reason": "NOT_OPENED", "key_sha256": GIVEN}),
        ("a backup the tender does not name", decrypting("abc"),
         Backup(plate="102", key="k", reason="BAD_KEY"),
         "NO_REMEDY", "102", {"reason": "BAD_KEY", "key_sha256": K}),
        ("a fault outside the window", signed_in("abc"), Fault(plate="102", note="故障"),
         "PHASE_CLOSED", "102", {"note": "故障"}),
        ("a co-signature outside the window", signed_in("abc", backup_remedy="backup"),
         Cosign(plate="102"), "PHASE_CLOSED", "102", {}),
        ("skip a step", signed_in("abc"), Advance(to="decryption"),
         "PHASE_CLOSED", None, {"to": "decryption"}),
        ("a signed sign-in twice keeps its signature", signed_in("abc"),
         SignIn(bidder_id="b", sig="c2ln"), "ALREADY_SUBMITTED", "102", {"sig": "c2ln"}),
        ("a late registration names its bidder", signed_in("abc"),
         RegisterTenderer(bidder_id="z", plate="199", name="乙公司"),
         "PHASE_CLOSED", "199", {"name": "乙公司", "bidder_id": "z"}),
        ("a late registration keeps its key", signed_in("abc"),
         RegisterTenderer(bidder_id="z", plate="199", name="乙公司", public_key=PEM),
         "PHASE_CLOSED", "199", {"name": "乙公司", "public_key": PEM, "bidder_id": "z"}),
    ]  # fmt: skip


REFUSALS = _refusals()


@pytest.mark.parametrize(
    ("name", "o", "command", "code", "plate", "args"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_a_refusal_logs_the_command_its_plate_and_its_arguments(
    name: str,
    o: Opening,
    command: OpeningCommand,
    code: str,
    plate: str | None,
    args: dict[str, Any],
) -> None:
    now = o.state.ts + 1
    expected = written(o, now, {"kind": "refused", "pub": False, "code": code,
                                "command": NAMES[type(command)], "plate": plate,
                                "args": args})  # fmt: skip
    answer, entries = step(o, command, now)
    assert answer == {"accepted": False, "code": code}
    assert entries == expected
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


def test_a_co_signature_for_a_bid_already_opened_is_refused() -> None:
    o = decrypting("abc", backup_remedy="backup")
    o.do(Fault(plate="103", note="解密服务器故障"), OPENS + 100)
    assert o.decrypt("c", OPENS + 200)["status"] == "decrypted"  # by its own key after all
    o.decrypt("a", OPENS + 300)  # no fault declared for a
    for plate in ("103", "101"):
        refused = o.do(Cosign(plate=plate), OPENS + 400)
        assert refused == {"accepted": False, "code": "ALREADY_SUBMITTED"}


def test_what_is_not_an_opening_command_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match=r"^not an opening command: 'advance'$"):
        opening.step(Opening.new().state, "advance", DEADLINE)  # type: ignore[arg-type]
