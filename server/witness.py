"""`openbid witness URL --state DIR`: anyone can keep a server honest.

The witness polls the server's signed checkpoint and keeps the last one it accepted in
DIR. A new checkpoint must be signed by the server's key (given, or the one it served the
first time), and grow the tree it saw: same size and the same root, or larger with a
consistency proof from the old. A smaller tree, another root at the same size, or a proof
that fails means the server showed two histories (a split view): the witness keeps both
checkpoints in DIR as evidence and exits 1.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

from auction.checkpoint import BadNote, Checkpoint, Verifier
from auction.merkle import verify_consistency
from server.receipts import fetch

__all__ = ["Fork", "run_witness", "witness_once"]


class Fork(Exception):
    """The server's new checkpoint does not extend the one the witness kept."""


def _key(url: str, state: Path, given: Path | None) -> Verifier:
    """The key checkpoints must carry: the kept one, else the given one, else the served
    one (trust on first use); kept in DIR/key from then on."""
    kept = state / "key"
    if kept.exists():
        key = Verifier(kept.read_text())
        if given is not None and Verifier(given.read_text()).key_id != key.key_id:
            raise Fork(f"{given} is not the key this witness has kept in {kept}")
        return key
    text = given.read_text() if given else fetch(f"{url}/api/log/key").decode()
    key = Verifier(text)
    _write(kept, text.strip() + "\n")
    return key


def _write(path: Path, text: str) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)


def witness_once(url: str, state: Path, given: Path | None = None) -> Checkpoint:
    """Check the server's latest checkpoint against the kept one; keep it. Raises Fork."""
    url = url.rstrip("/")
    state.mkdir(parents=True, exist_ok=True)
    key = _key(url, state, given)
    note = fetch(f"{url}/api/log/checkpoint").decode()
    try:
        new = key.checkpoint(note)
    except BadNote as error:
        raise Fork(f"the served checkpoint does not hold: {error}") from None
    kept = state / "checkpoint"
    if kept.exists():
        old_note = kept.read_text()
        old = key.checkpoint(old_note)
        if not _extends(url, old, new):
            _write(state / f"fork-{new.size}.checkpoint", note)
            raise Fork(
                f"split view: the tree of {new.size} leaves does not extend the kept tree of "
                f"{old.size} (both kept in {state})"
            )
    _write(kept, note)
    return new


def _extends(url: str, old: Checkpoint, new: Checkpoint) -> bool:
    if new.size <= old.size:
        return new.size == old.size and new.root == old.root
    found: Any = json.loads(fetch(f"{url}/api/log/consistency?from={old.size}&to={new.size}"))
    try:
        proof = [base64.b64decode(h, validate=True) for h in found["proof"]]
    except (KeyError, TypeError, ValueError):
        return False
    return verify_consistency(old.size, new.size, old.root, new.root, proof)


def run_witness(url: str, state: Path, given: Path | None, interval: float, once: bool) -> int:
    """The command: 0 while the server stays consistent (`once`: after one check), 1 on a
    fork, 2 when the server or the key cannot be read."""
    while True:
        try:
            found = witness_once(url, state, given)
        except Fork as fork:
            print(f"openbid witness: FORK: {fork}", file=sys.stderr)
            return 1
        except (OSError, ValueError, BadNote) as error:
            print(f"openbid witness: cannot check {url}: {error}", file=sys.stderr)
            if once:
                return 2
        else:
            print(f"ok: {found.origin} at {found.size} leaves", flush=True)
            if once:
                return 0
        time.sleep(interval)
