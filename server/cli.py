"""The `openbid` command: `serve` and `verify`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
from pathlib import Path

from auction.audit import Discrepancy
from server.app import Server, create_app
from server.embedded import DataDirInUse, EmbeddedValkey
from server.limits import Limits
from server.logs import configure as configure_logs
from server.verify import verify_file

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openbid")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path, default=Path("openbid-data"))
    serve.add_argument("--redis-url", default=os.environ.get("OPENBID_REDIS_URL"))
    serve.add_argument("--demo", action="store_true", help="seed a demo lot")
    serve.add_argument(
        "--allow-origin", action="append", default=[], metavar="ORIGIN",
        help="a browser origin allowed to open WebSockets besides this server's own",
    )  # fmt: skip
    check = commands.add_parser("verify", help="check an exported audit log")
    check.add_argument("audit_file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "verify":
        return _verify(args.audit_file)
    return _serve(args)


def _verify(path: Path) -> int:
    try:
        print(verify_file(path))
        return 0
    except Discrepancy as fault:
        print(f"FAILED at {fault}", file=sys.stderr)
        return 1


def _token(data_dir: Path, role: str) -> str:
    """The role's token from OPENBID_{ROLE}_TOKEN, else kept in DATA_DIR/{role}-token
    (made on first start) and printed."""
    token = os.environ.get(f"OPENBID_{role.upper()}_TOKEN")
    if token:
        return token
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"{role}-token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24) + "\n")
        path.chmod(0o600)
    token = path.read_text().strip()
    print(f"{role} token: {token} (in {path})", flush=True)
    return token


def _serve(args: argparse.Namespace) -> int:
    token = _token(args.data_dir, "admin")
    args.supervisor_token = _token(args.data_dir, "supervisor")
    embedded = None
    url = args.redis_url
    if not url:
        embedded = EmbeddedValkey(args.data_dir / "valkey")
        try:
            url = embedded.start()
        except DataDirInUse as busy:
            print(f"openbid: {busy}; give each server its own --data-dir", file=sys.stderr)
            return 2
    # uvicorn drains on SIGTERM, then raises it again: at its default action the process would
    # die there, before the finally below, and leave Valkey running. Stop as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(_run(args, url, token))
    except KeyboardInterrupt:
        pass
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _run(args: argparse.Namespace, url: str, token: str) -> None:
    configure_logs()
    limits = Limits(origins=tuple(args.allow_origin))
    app = create_app(url, token, limits=limits, data_dir=args.data_dir,
                     supervisor_token=args.supervisor_token,
                     metrics_token=os.environ.get("OPENBID_METRICS_TOKEN") or None)  # fmt: skip
    server = Server(app, args.host, args.port, limits)
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.01)  # uvicorn exposes no startup event to await
    if serving.done():
        await serving
        return
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"openbid listening on http://{args.host}:{port}", flush=True)
    if args.demo:
        from server.demo import seed

        with contextlib.suppress(Exception):
            print(await seed(f"http://{args.host}:{port}", token), flush=True)
    await serving


if __name__ == "__main__":
    sys.exit(main())
