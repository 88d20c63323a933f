"""What `openbid verify` takes and what it flags when it replays an opening's log
(auction/opening/replay.py): an honest log replays to the state the rules reached, whatever
the server found when it opened each envelope; a log that does not start as the rules start,
names a host command the rules do not have, hands a key to a bidder with no envelope, or
drops a refusal's key hash is a Discrepancy at the entry where it goes wrong."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest

from auction.log import Discrepancy, Entry, Tick
from auction.opening.replay import replay_opening
from auction.opening.state import (
    Advance,
    Backup,
    Cosign,
    Decrypt,
    Fault,
    OpeningCommand,
    RegisterTenderer,
    SignIn,
)
from tests.auction.opening.test_rules import (
    DEADLINE,
    OPENING,
    Opening,
    decrypting,
    envelope_digest,
    signed_in,
)

OPENS = DEADLINE + 2000  # decrypting() opens the window then
WRONG_KEY = base64.b64encode(bytes(32)).decode()


def discrepancy(entries: list[Entry], envelopes: dict[str, tuple[bytes, bytes]]) -> str:
    with pytest.raises(Discrepancy) as caught:
        replay_opening(OPENING, entries, envelopes)
    assert str(caught.value).startswith(f"seq {caught.value.seq}: ")
    return str(caught.value)


def forged(o: Opening, **body: Any) -> list[Entry]:
    """`o`'s log with one more entry the rules did not write, numbered on."""
    state = o.state
    added = {"seq": state.seq + 1, "pseq": state.pseq + 1, "ts": state.ts + 1, "pub": True}
    return [*o.entries, added | body]


# ---- the opening's first entry -------------------------------------------------------------


def _created() -> Entry:
    return Opening.new().entries[0]


BAD_STARTS: list[tuple[str, list[Entry], str]] = [
    ("an empty log", [],
     "seq 1: the log does not start with the opening's `created` entry"),
    ("a lot's log", [_created() | {"object": "lot"}],
     "seq 1: the log does not start with the opening's `created` entry"),
    ("a log that starts later", [_created() | {"kind": "phase"}],
     "seq 1: the log does not start with the opening's `created` entry"),
    ("a config the rules refuse", [_created() | {"config": {"title": "", "bid_deadline": 1,
                                                           "decrypt_window_s": 1}}],
     "seq 1: the opening's config does not hold: title: must be 1 to 200 chars"),
    ("no config", [{k: v for k, v in _created().items() if k != "config"}],
     "seq 1: the opening's config does not hold: config: must be a JSON object"),
    ("a private `created` entry", [_created() | {"pub": False}],
     "seq 1: the `created` entry is not what the rules write for its config"),
    ("a `created` entry with more in it", [_created() | {"note": "x"}],
     "seq 1: the `created` entry is not what the rules write for its config"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "entries", "expected"), BAD_STARTS, ids=[c[0] for c in BAD_STARTS]
)
def test_a_log_that_does_not_start_as_the_rules_do_is_flagged_at_its_first_entry(
    name: str, entries: list[Entry], expected: str
) -> None:
    assert discrepancy(entries, {}) == expected


def test_a_log_of_its_first_entry_alone_replays_to_the_created_opening() -> None:
    o = Opening.new()
    assert replay_opening(OPENING, o.entries, {}) == o.state


# ---- the host's commands -------------------------------------------------------------------


def test_a_host_command_the_rules_do_not_have_is_flagged() -> None:
    o = signed_in("abc")
    entries = forged(o, kind="phase", command="skip", phase="read_out")
    assert discrepancy(entries, o.envelopes()) == "seq 0: unknown host command skip"


# ---- envelopes opened with the handed-over key ----------------------------------------------


def _with_a_tenderer_without_envelope() -> Opening:
    o = Opening.new()
    o.do(RegisterTenderer(bidder_id="x", plate="100", name="x公司"), DEADLINE - 3_600_000)
    o.enrol("abc")
    for who in "abc":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), OPENS)
    return o


@pytest.mark.parametrize(
    ("plate", "via"),
    [("100", "key"), ("999", "key"), ("100", "backup"), ("999", "backup")],
)
def test_a_key_for_a_bidder_with_no_envelope_is_flagged_at_its_entry(plate: str, via: str) -> None:
    o = _with_a_tenderer_without_envelope()
    entries = forged(o, kind="decrypted", plate=plate, via=via, key=WRONG_KEY, bid={"price": 1})
    expected = f"seq {o.state.seq + 1}: a key for a bidder with no envelope"
    assert discrepancy(entries, o.envelopes()) == expected


def _decrypted(backup: bool, key: bytes | None = None, reason: str | None = None) -> Opening:
    """c's envelope opened by its own key or, after a platform fault, by backup: with `key`
    (its own when None), as the server found it, or failed for `reason` when given."""
    o = decrypting("abc", backup_remedy="backup")
    found = o.decrypt_command("c", key)
    if reason is not None:
        found = replace(found, bid=None, reason=reason)
    command: OpeningCommand = found
    if backup:
        o.do(Fault(plate="103", note="解密服务器故障"), OPENS + 100)
        o.do(Cosign(plate="103"), OPENS + 200)
        command = Backup(plate="103", key=found.key, bid=found.bid, reason=found.reason)
    assert o.do(command, OPENS + 300)["accepted"]
    return o


@pytest.mark.parametrize("backup", [False, True], ids=["by key", "by backup"])
@pytest.mark.parametrize(
    ("key", "status"), [(None, "decrypted"), (bytes(32), "failed")], ids=["own", "wrong"]
)
def test_a_decryption_replays_by_opening_the_exported_envelope_again(
    backup: bool, key: bytes | None, status: str
) -> None:
    o = _decrypted(backup, key)
    assert o.state.tenderers["c"].status == status
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


@pytest.mark.parametrize("backup", [False, True], ids=["by key", "by backup"])
def test_a_logged_failure_the_envelope_disproves_is_flagged(backup: bool) -> None:
    o = _decrypted(backup, reason="BAD_KEY")  # the own key, logged as failing
    assert discrepancy(o.entries, o.envelopes()).startswith(f"seq {o.state.seq}: ")


def _stored(o: Opening, how: str) -> dict[str, tuple[bytes, bytes]]:
    """o's envelopes as an export might hold them: c's as uploaded, lost, or altered."""
    envelopes = o.envelopes()
    c = envelope_digest(o.sealed["c"])
    if how == "lost":
        del envelopes[c]
    elif how == "altered":
        nonce, ciphertext = envelopes[c]
        envelopes[c] = (nonce, ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]))
    return envelopes


@pytest.mark.parametrize("backup", [False, True], ids=["by key", "by backup"])
@pytest.mark.parametrize("how", ["lost", "altered"])
def test_an_envelope_the_store_lost_or_altered_replays_as_the_platforms_failure(
    backup: bool, how: str
) -> None:
    o = _decrypted(backup, reason="STORAGE_MISMATCH")
    failed = o.entries[-1]
    assert (failed["kind"], failed["side"]) == ("decrypt_failed", "platform")
    assert replay_opening(OPENING, o.entries, _stored(o, how)) == o.state
    # with the envelope intact, the key opens it: a storage failure was not so
    assert discrepancy(o.entries, o.envelopes()).startswith(f"seq {failed['seq']}: ")


# ---- refusals ------------------------------------------------------------------------------


def _refused_decryption(command: str) -> Opening:
    if command == "decrypt":  # before the window
        o = signed_in("abc")
        refused = o.do(Decrypt(bidder_id="a", key="k", reason="BAD_KEY"), DEADLINE + 10)
    else:  # the tender names no backup
        o = decrypting("abc")
        refused = o.do(Backup(plate="101", key="k", reason="BAD_KEY"), OPENS + 10)
    assert not refused["accepted"] and o.entries[-1]["command"] == command
    return o


@pytest.mark.parametrize("command", ["decrypt", "backup"])
def test_a_refused_decryption_replays_from_its_key_hash_alone(command: str) -> None:
    o = _refused_decryption(command)
    assert "key" not in o.entries[-1]["args"]
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


@pytest.mark.parametrize("command", ["decrypt", "backup"])
def test_a_refused_decryption_stripped_of_its_key_hash_is_flagged(command: str) -> None:
    o = _refused_decryption(command)
    entries = [dict(e) for e in o.entries]
    entries[-1]["args"] = {"reason": "BAD_KEY"}
    assert discrepancy(entries, o.envelopes()).startswith(f"seq {o.state.seq}: ")


def test_a_refused_late_registration_replays() -> None:
    """A refused registration logs the bidder it names (it has no tenderer to name it by
    plate yet), so `openbid verify` replays an honest log that holds one."""
    o = Opening.new(min_bidders=1)
    o.enrol("a")
    late = o.do(RegisterTenderer(bidder_id="z", plate="199", name="乙公司"), DEADLINE + 5)
    assert late == {"accepted": False, "code": "PHASE_CLOSED"}
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state
