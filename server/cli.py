"""The `openbid` command: `serve`, `verify`, `witness` and `staff`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from auction.checkpoint import BadNote, Verifier
from auction.errors import BadMessage
from auction.log import Discrepancy
from server import serving
from server.limits import Limits
from server.receipts import read_receipt, receipt_in_export, receipt_online
from server.services.anchoring import INTERVAL_S
from server.services.staff import add_person
from server.services.transparency import ORIGIN
from server.store.embedded import DataDirInUse, EmbeddedValkey
from server.store.replicated import MASTER, ReplicatedSet
from server.store.staff import StaffBook
from server.timestamps import read_certificates
from server.verify import verify_file
from server.web.app import connect
from server.witness import run_witness
from server.workers import worker_count

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openbid")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path, default=Path("openbid-data"))
    serve.add_argument("--redis-url", default=os.environ.get("OPENBID_REDIS_URL"))
    serve.add_argument(
        "--sentinel", metavar="HOST:PORT[,HOST:PORT...]",
        help="the store's Sentinels: follow the primary they name (with --master)",
    )  # fmt: skip
    serve.add_argument("--master", default=MASTER, help=f"the primary's name (default {MASTER})")
    serve.add_argument(
        "--ack-replicas", type=int, default=0, metavar="N",
        help="acknowledge a decision only once N replicas wrote it to their AOF (WAITAOF)",
    )  # fmt: skip
    serve.add_argument("--demo", action="store_true", help="seed a demo lot")
    serve.add_argument("--certfile", type=Path, help="serve HTTPS: the certificate chain (PEM)")
    serve.add_argument("--keyfile", type=Path, help="serve HTTPS: the certificate's key (PEM)")
    serve.add_argument(
        "--viewers-per-address", type=int, default=Limits().public_per_address, metavar="N",
        help="public viewers one client address may hold open, and sockets it may hold "
             "before hello, on the whole server (with --workers N each worker keeps 1/N); "
             "0 for no cap (a load test from one machine)",
    )  # fmt: skip
    serve.add_argument(
        "--allow-origin", action="append", default=[], metavar="ORIGIN",
        help="a browser origin allowed to open WebSockets besides this server's own",
    )  # fmt: skip
    serve.add_argument(
        "--log-origin", default=os.environ.get("OPENBID_LOG_ORIGIN"),
        help="the transparency log's name in its checkpoints (a host/path the centre owns; "
             f"by default its key's name, {ORIGIN} for a new key)",
    )  # fmt: skip
    serve.add_argument(
        "--tsa", default=os.environ.get("OPENBID_TSA_URL") or None, metavar="URL",
        help="an RFC 3161 time-stamping authority: anchor the log's checkpoints there",
    )  # fmt: skip
    serve.add_argument(
        "--anchor-interval", type=float, default=INTERVAL_S, metavar="SECONDS",
        help=f"ask the TSA once in this long at most (default {INTERVAL_S:.0f})",
    )  # fmt: skip
    serve.add_argument(
        "--workers", type=worker_count, default=1, metavar="N",
        help="serve from N processes on the one port and store ('auto': one per core)",
    )  # fmt: skip
    serve.add_argument(
        "--metrics-port", type=int, metavar="BASE",
        help="also serve each worker's /metrics alone on BASE plus its index (0 to N-1)",
    )  # fmt: skip
    serve.add_argument(
        "--metrics-host", help="the address of the --metrics-port listeners (default --host)"
    )
    check = commands.add_parser("verify", help="check an exported audit log, or a receipt")
    check.add_argument("audit_file", type=Path, nargs="?")
    check.add_argument("--key", type=Path, help="the server's key (GET /api/log/key)")
    check.add_argument("--receipt", type=Path, help="a receipt: is it in the export (or --url)?")
    check.add_argument("--url", help="with --receipt and no export: ask this server for proof")
    check.add_argument(
        "--tsa-cert",
        type=Path,
        help="with --key: the log must be anchored by "
        "the TSA this certificate (PEM: the TSA's or its CA's) certifies",
    )
    check.add_argument(
        "--anchor",
        type=Path,
        help="with --tsa-cert: this anchor (GET "
        "/api/log/anchor?consistent_with=SIZE) instead of the export's own",
    )
    watch = commands.add_parser("witness", help="keep a server's checkpoints; fail on a fork")
    watch.add_argument("url", help="the server, e.g. https://bid.example.cn")
    watch.add_argument("--state", type=Path, required=True, help="where the checkpoints stay")
    watch.add_argument("--key", type=Path, help="the server's key; else trusted on first use")
    watch.add_argument("--interval", type=float, default=10.0, help="seconds between polls")
    watch.add_argument("--once", action="store_true", help="check the latest checkpoint, stop")
    people = commands.add_parser("staff", help="the staff's personal credentials")
    people.add_argument("action", choices=["add"])
    people.add_argument("name")
    people.add_argument("--role", required=True, choices=["host", "supervisor", "bank", "issuer"])
    people.add_argument("--data-dir", type=Path, default=Path("openbid-data"))
    people.add_argument("--redis-url", default=os.environ.get("OPENBID_REDIS_URL"))
    store = commands.add_parser("store", help="a replicated store on this machine (development)")
    store.add_argument("action", choices=["up"])
    store.add_argument("--replicas", type=int, default=1)
    store.add_argument("--sentinels", type=int, default=3)
    store.add_argument("--data-dir", type=Path, default=Path("openbid-store"))
    args = parser.parse_args(argv)
    if args.command == "store":
        return _store_up(args)
    if args.command == "staff":
        return _staff(args)
    if args.command == "verify":
        if args.receipt or args.audit_file is None:
            return _verify_receipt(args.receipt, args.key, args.audit_file, args.url)
        return _verify(args.audit_file, args.key, args.tsa_cert, args.anchor)
    if args.command == "witness":
        return run_witness(args.url, args.state, args.key, args.interval, args.once)
    return serving.serve(args)


def _store_up(args: argparse.Namespace) -> int:
    """A primary, its replicas and Sentinels (server/store/replicated.py), until Ctrl-C or
    SIGTERM; prints where the Sentinels are and the primary's name."""
    replicated = ReplicatedSet(args.data_dir, replicas=args.replicas, sentinels=args.sentinels)
    stop = threading.Event()
    for sign in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sign, lambda *_: stop.set())
    try:
        addresses = replicated.start()
        said = ",".join(f"{host}:{port}" for host, port in addresses)
        print(f"sentinels {said} master {replicated.master}", flush=True)
        stop.wait()
    finally:
        replicated.stop()
    return 0


def _verify(
    path: Path, key_file: Path | None, tsa_file: Path | None = None, anchor: Path | None = None
) -> int:
    if (tsa_file or anchor) and not (key_file and tsa_file):
        print("openbid verify: --tsa-cert needs --key, --anchor needs --tsa-cert", file=sys.stderr)
        return 2
    try:
        key = Verifier(key_file.read_text()) if key_file else None
    except (OSError, BadNote) as error:
        print(f"openbid: the key in {key_file}: {error}", file=sys.stderr)
        return 2
    try:
        tsa = read_certificates(tsa_file.read_bytes()) if tsa_file else None
    except (OSError, ValueError) as error:
        print(f"openbid verify: the TSA certificate in {tsa_file}: {error}", file=sys.stderr)
        return 2
    try:
        given = json.loads(anchor.read_text()) if anchor else None
    except (OSError, ValueError) as error:
        print(f"openbid verify: the anchor in {anchor}: {error}", file=sys.stderr)
        return 2
    try:
        print(verify_file(path, key, tsa, given))
        return 0
    except Discrepancy as fault:
        print(f"FAILED at {fault}", file=sys.stderr)
        return 1


def _staff(args: argparse.Namespace) -> int:
    """`openbid staff add NAME --role R`: on the given store, or on the data dir's own
    (running under a server, or started for the moment)."""
    url, embedded = args.redis_url, None
    if not url:
        embedded = EmbeddedValkey(args.data_dir / "valkey")
        try:
            url = embedded.start()
        except DataDirInUse:  # its server runs: reach its store on its socket
            embedded, socket_path = None, (args.data_dir / "valkey" / "valkey.sock").resolve()
            if not socket_path.exists():
                print("openbid staff: give --redis-url (the running server's store)",
                      file=sys.stderr)  # fmt: skip
                return 2
            url = f"unix://{socket_path}"
    try:
        made = asyncio.run(_add_person(url, {"name": args.name, "role": args.role}))
    except BadMessage as error:
        print(f"openbid staff: {error.field}: {error.message_en}", file=sys.stderr)
        return 2
    finally:
        if embedded is not None:
            embedded.stop()
    print(f"staff {made['staff_id']} ({made['name']}, {made['role']})")
    print(f"token: {made['token']} (printed this once)")
    if "hmac_secret" in made:
        print(f"hmac secret: {made['hmac_secret']} (printed this once)")
    return 0


async def _add_person(url: str, body: dict[str, str]) -> dict[str, Any]:
    client = await connect(url)
    try:
        seconds, micros = await client.time()
        return await add_person(StaffBook(client), body, seconds * 1000 + micros // 1000)
    finally:
        await client.aclose()


def _verify_receipt(
    receipt: Path | None, key_file: Path | None, audit: Path | None, url: str | None
) -> int:
    if receipt is None or key_file is None or (audit is None) == (url is None):
        print("openbid verify: give an export, or --receipt R --key K with an export or --url",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        key = Verifier(key_file.read_text())
        found = read_receipt(receipt.read_text(), key)
        if audit is not None:
            print(receipt_in_export(found, json.loads(audit.read_text()), key))
        else:
            assert url is not None
            print(receipt_online(found, url, key))
        return 0
    except (OSError, ValueError, BadNote) as error:
        print(f"openbid verify: {error}", file=sys.stderr)
        return 2
    except Discrepancy as fault:
        print(f"FAILED at {fault}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
