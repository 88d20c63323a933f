"""`openbid serve`: the data dir, the tokens and secrets, the store, and then the server in
this process, or in `--workers` processes on one port (server/workers.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import ipaddress
import os
import resource
import secrets
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from auction.checkpoint import BadNote, Signer
from server.documents import DocumentSigner
from server.limits import Limits
from server.log_setup import configure as configure_logs
from server.services.transparency import ORIGIN
from server.store.embedded import DataDirInUse, EmbeddedValkey
from server.store.sentinels import sentinel_url
from server.web import videoroute
from server.web.app import Server, create_app, metrics_app
from server.workers import Worker, Workers, listening_socket

__all__ = ["serve"]


MIN_TOKEN = 16  # characters of a token given in the environment; a made one has 32


def _token(data_dir: Path, role: str) -> str:
    """The role's token from OPENBID_{ROLE}_TOKEN, else kept in DATA_DIR/{role}-token:
    made and printed on the first start only (later starts say where it is)."""
    token = os.environ.get(f"OPENBID_{role.upper()}_TOKEN")
    if token:
        if len(token) < MIN_TOKEN:
            raise SystemExit(
                f"openbid: OPENBID_{role.upper()}_TOKEN is too short to be secret (at least "
                f"{MIN_TOKEN} characters; make one with `openssl rand -base64 24`)"
            )
        return token
    path = data_dir / f"{role}-token"
    if path.exists():
        print(f"{role} token: in {path}", flush=True)
        return path.read_text().strip()
    token = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(token + "\n")
    print(f"{role} token: {token} (kept in {path}; printed this once)", flush=True)
    return token


def _host_ip(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        try:
            return socket.gethostbyname(host)
        except OSError:
            return "0.0.0.0"  # unknown: say it


def _sealing_secret(data_dir: Path) -> bytes:
    """The secret that seals 一次报价 bids until their close: OPENBID_SEALING_SECRET (hex,
    32 bytes; every process sharing a store must hold the same), else DATA_DIR/sealing-secret,
    made on the first start. It never enters the store; lose it and sealed lots cannot open."""
    given = os.environ.get("OPENBID_SEALING_SECRET")
    if given:
        try:
            secret = bytes.fromhex(given)
        except ValueError:
            secret = b""
        if len(secret) < 32:
            raise SystemExit("openbid: OPENBID_SEALING_SECRET must be 32 bytes or more, as hex "
                             "(make one with `openssl rand -hex 32`)")  # fmt: skip
        return secret
    path = data_dir / "sealing-secret"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


def _log_signer(data_dir: Path, origin: str | None) -> Signer:
    """The transparency log's signing key: OPENBID_LOG_KEY (a C2SP signer key,
    PRIVATE+KEY+...; every process sharing a store must hold the same), else DATA_DIR/log-key,
    made on the first start for `origin`. Its name is the log's origin."""
    given = os.environ.get("OPENBID_LOG_KEY")
    path = data_dir / "log-key"
    if not given and not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(Signer.generate(origin or ORIGIN).skey() + "\n")
    try:
        signer = Signer.from_skey(given or path.read_text())
    except BadNote as error:
        raise SystemExit(f"openbid: the transparency log's key: {error}") from None
    if origin and signer.name != origin:
        raise SystemExit(f"openbid: the log key is {signer.name}'s, not --log-origin {origin}'s")
    return signer


def _private_dir(path: Path) -> None:
    """The data dir, readable by this user alone: it holds the log (reserves, salts, names,
    envelopes), the tokens and the recordings (security review L2)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _raise_open_files(wanted: int) -> None:
    """Lift the soft limit on open files toward `wanted` (the connection cap and room for
    the store, the files and the peers), as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def serve(args: argparse.Namespace) -> int:
    """Run `openbid serve` until SIGTERM or Ctrl-C; returns the exit status."""
    os.umask(0o077)  # every file the server and its Valkey make is its user's alone
    _private_dir(args.data_dir)
    if (args.certfile is None) != (args.keyfile is None):
        print("openbid: --certfile and --keyfile go together", file=sys.stderr)
        return 2
    if not args.anchor_interval > 0:
        print("openbid: --anchor-interval is a number of seconds above 0", file=sys.stderr)
        return 2
    if args.certfile is None and not ipaddress.ip_address(_host_ip(args.host)).is_loopback:
        print(f"openbid: serving plain HTTP on {args.host}: tokens and keys cross the network "
              "in clear. Put a TLS front before it (README: TLS) or give --certfile/--keyfile.",
              file=sys.stderr)  # fmt: skip
    token = _token(args.data_dir, "admin")
    args.supervisor_token = _token(args.data_dir, "supervisor")
    _sealing_secret(args.data_dir)  # made here once, not raced for by the workers
    _log_signer(args.data_dir, args.log_origin)
    DocumentSigner.kept(args.data_dir)  # the PDFs' key and certificate: one pair, made here
    sock = None
    if args.workers > 1:
        try:
            sock = listening_socket(args.host, args.port)
        except OSError as error:
            print(f"openbid: {args.host}:{args.port}: {error}", file=sys.stderr)
            return 2
    embedded = None
    url = args.redis_url
    if args.sentinel:
        url = sentinel_url(args.sentinel, args.master)
    if not url:
        embedded = EmbeddedValkey(args.data_dir / "valkey")
        try:
            url = embedded.start()
        except DataDirInUse as busy:
            print(f"openbid: {busy}; give each server its own --data-dir", file=sys.stderr)
            if sock is not None:
                sock.close()
            return 2
        embedded.supervise()
    try:
        if sock is not None:
            return _serve_workers(args, url, token, sock)
        # uvicorn drains on SIGTERM, then raises it again: at its default action the process
        # would die there, before the finally below, and leave Valkey running. Stop as
        # Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run(args, url, token))
        return 0
    finally:
        if embedded is not None:
            embedded.stop()


def _serve_workers(args: argparse.Namespace, url: str, token: str, sock: socket.socket) -> int:
    """The parent of `--workers`: it serves nothing itself; returns once they have stopped."""
    configure_logs()
    scheme = "https" if args.certfile else "http"
    base = f"{scheme}://{args.host}:{sock.getsockname()[1]}"

    def serving() -> None:
        print(f"openbid listening on {base} ({args.workers} workers)", flush=True)
        if args.demo:
            from server.demo import seed

            with contextlib.suppress(Exception):
                print(asyncio.run(seed(base, token)), flush=True)

    # the workers' own secret: a worker forwards a livestream's requests to the one holding
    # the stream with it (server/web/videoroute.py)
    args.video_secret = secrets.token_urlsafe(32)
    target = functools.partial(_work, args, url, token)
    return Workers(args.workers, target, sock).run(serving)


def _work(args: argparse.Namespace, url: str, token: str, worker: Worker) -> None:
    """One worker process: the whole app on the parent's socket, until SIGTERM (drained,
    then exit 0, as a single process does) or the parent is gone."""
    worker.detach()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args, url, token, worker))


async def _run(
    args: argparse.Namespace, url: str, token: str, worker: Worker | None = None
) -> None:
    """The server in this process: on its own port, or as a worker on the parent's socket
    (it tells the parent once it serves). Returns once the server has stopped."""
    configure_logs()
    per_address = args.viewers_per_address or 1 << 30
    if worker is not None:  # the cap is the server's: each of the N workers keeps its share
        per_address = -(-per_address // args.workers)
    limits = Limits(origins=tuple(args.allow_origin), public_per_address=per_address,
                    pending_per_address=per_address)  # fmt: skip
    _raise_open_files(limits.max_connections + 1024)  # the limit is each process's own
    app = create_app(url, token, limits=limits, data_dir=args.data_dir,
                     supervisor_token=args.supervisor_token,
                     metrics_token=os.environ.get("OPENBID_METRICS_TOKEN") or None,
                     sealing_secret=_sealing_secret(args.data_dir),
                     log_signer=_log_signer(args.data_dir, args.log_origin),
                     tsa_url=args.tsa, anchor_interval_s=args.anchor_interval,
                     worker=worker.index if worker else 0,
                     ack_replicas=args.ack_replicas)  # fmt: skip
    tls = (str(args.certfile), str(args.keyfile)) if args.certfile else None
    server = Server(app, args.host, args.port, limits, tls, worker.index if worker else None)
    serving = asyncio.create_task(server.serve([worker.sock] if worker else None))
    while not server.started and not serving.done():
        await asyncio.sleep(0.01)  # uvicorn exposes no startup event to await
    if serving.done():
        await serving
        return
    scraped = _MetricsServer.of(app, args, worker) if args.metrics_port is not None else None
    scraping = asyncio.create_task(scraped.serve()) if scraped else None
    # a worker's livestream routes for the others, on loopback (server/web/videoroute.py)
    route = await videoroute.start(app, args.video_secret) if worker is not None else None
    try:
        await _announce(args, server, worker, token, tls is not None)
        await serving
    finally:
        if route is not None:
            await route.close()
        if scraped is not None and scraping is not None:
            scraped.should_exit = True
            await scraping


async def _announce(
    args: argparse.Namespace, server: Server, worker: Worker | None, token: str, tls: bool
) -> None:
    """Say where the server listens: a worker tells the parent (which says it once all of
    them serve), a single process prints it and seeds the demo."""
    if worker is not None:

        def orphaned() -> None:
            server.should_exit = True

        worker.serving(orphaned)
        return
    port = server.servers[0].sockets[0].getsockname()[1]
    scheme = "https" if tls else "http"
    print(f"openbid listening on {scheme}://{args.host}:{port}", flush=True)
    if args.demo:
        from server.demo import seed

        with contextlib.suppress(Exception):
            print(await seed(f"{scheme}://{args.host}:{port}", token), flush=True)


class _MetricsServer(uvicorn.Server):
    """`/metrics` of this process alone, on `--metrics-port` plus its worker index (the
    same port again when the parent restarts the worker); the main server owns the
    signals, and this one stops when it does."""

    @classmethod
    def of(cls, app: Starlette, args: argparse.Namespace, worker: Worker | None) -> _MetricsServer:
        port = args.metrics_port + (worker.index if worker else 0)
        return cls(uvicorn.Config(metrics_app(app), host=args.metrics_host or args.host,
                                  port=port, log_level="warning", lifespan="off"))  # fmt: skip

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
