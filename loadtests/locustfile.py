"""Locust users that speak OpenBid's real protocol: msgpack over `/ws/lots/{lot}` and
`/ws/openings/{id}`, set up through the HTTP API.

    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --admin-token TOKEN

- `Bidder`: registers, has its deposit confirmed, then bids the next minimum with think time;
  in 限时竞价 it waits for the last seconds of the countdown and snipes with a short burst.
  Each bid is reported when its answer comes: `bid ack`, or `bid nack CODE` for a refusal
  the rules give under contention (TOO_LOW ...); any other code, an `error`, or an answer
  that never comes (`lost ack`) is a failure.
- `Viewer`: a public viewer of the lot; every event it receives is reported as `event KIND`
  with the fan-out lag as its time: its receipt by the server's clock (offset from pongs)
  minus the event's `ts`.
- `OpeningViewer`: the same for a remote bid opening.
Every user's `ping` is reported with its round trip, its `welcome` with the time to connect.

Without `--lot` (and `--opening`), the master (or the one local process) creates a land
auction and an opening when the test starts and sends their ids to the workers, so
`--master` / `--worker` runs share one hot lot. The process exits 1 if any request failed.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from typing import Any

import gevent
import msgpack
import requests
import websocket
from gevent.event import AsyncResult, Event
from locust import HttpUser, User, between, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

SUBPROTOCOL = "openbid.msgpack.v1"
SETUP_WAIT_S = 30.0
ACK_TIMEOUT_S = 10.0
SNIPE_WINDOW_MS = 3000  # snipers bid in the last seconds of the countdown
BURST = 3  # bids a sniper sends at once (the server allows bursts of 10)
RULE_REFUSALS = {"TOO_LOW", "PHASE_CLOSED", "RATE_LIMITED", "CAP_REACHED", "ALREADY_SUBMITTED"}
DEPOSIT = 10_000_000

_setup: AsyncResult = AsyncResult()  # {"lot": id, "opening": id}, once known


class LostAck(Exception):
    """A bid was sent and no answer came within ACK_TIMEOUT_S."""


class ServerError(Exception):
    """The server answered with an `error` or an unexpected refusal code."""


# ---- set-up, shared by master and workers -----------------------------------------------


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--admin-token", env_var="OPENBID_ADMIN_TOKEN", default="",
                        help="the server's admin token (registers bidders)")  # fmt: skip
    parser.add_argument("--lot", default="", help="an existing lot (else one is created)")
    parser.add_argument("--opening", default="", help="an existing opening (else created)")
    parser.add_argument("--free-s", type=int, default=20,
                        help="a created lot's free bidding before 限时竞价, seconds")  # fmt: skip
    parser.add_argument("--countdown-s", type=int, default=10,
                        help="a created lot's 限时 countdown, seconds")  # fmt: skip


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message("openbid_setup", lambda msg, **_: _setup.set(msg.data))


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master sends the ids
    options = environment.parsed_options
    made = {"lot": options.lot or _create_lot(environment),
            "opening": options.opening or _create_opening(environment)}  # fmt: skip
    _setup.set(made)
    if isinstance(environment.runner, MasterRunner):
        environment.runner.send_message("openbid_setup", made)


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_: Any) -> None:
    if environment.stats.total.num_failures:
        environment.process_exit_code = 1


def _admin(environment: Environment) -> dict[str, str]:
    return {"authorization": f"Bearer {environment.parsed_options.admin_token}"}


def _server_now(environment: Environment) -> int:
    now: int = requests.get(f"{environment.host}/api/health", timeout=10).json()["server_now"]
    return now


def _create_lot(environment: Environment) -> str:
    options, now = environment.parsed_options, _server_now(environment)
    config = {
        "title": "Locust 压测地块", "category": "land", "mode": "auction", "quote_unit": "元",
        "start_price": 34_380_000, "increment": 500_000, "deposit": DEPOSIT,
        "opens_at": now, "free_ends_at": now + options.free_s * 1000,
        "countdown_s": options.countdown_s,
    }  # fmt: skip
    made = requests.post(f"{environment.host}/api/lots", json=config,
                         headers=_admin(environment), timeout=10)  # fmt: skip
    made.raise_for_status()
    lot: str = made.json()["lot_id"]
    return lot


def _create_opening(environment: Environment) -> str:
    now = _server_now(environment)
    config = {"title": "Locust 压测开标", "bid_deadline": now + 3_600_000, "decrypt_window_s": 600}
    made = requests.post(f"{environment.host}/api/openings", json=config,
                         headers=_admin(environment), timeout=10)  # fmt: skip
    made.raise_for_status()
    opening: str = made.json()["opening_id"]
    return opening


def _ids() -> dict[str, str]:
    found: dict[str, str] = _setup.get(timeout=SETUP_WAIT_S)
    return found


# ---- one live room --------------------------------------------------------------------


class Room:
    """One WebSocket to a lot or an opening; a greenlet reads every frame and reports it.
    Keeps what a bidder needs: the phase, the price, the next minimum, the deadline."""

    def __init__(self, environment: Environment, room: str, venue_id: str,
                 token: str | None = None) -> None:  # fmt: skip
        self.environment = environment
        self.offset: float | None = None  # server ms minus local ms
        self.best_rtt = float("inf")
        self.view: dict[str, Any] = {}
        self.pending: dict[str, float] = {}  # bid_id -> when it was sent
        self.drained = Event()
        self.drained.set()
        url = environment.host.replace("http", "ws", 1) + f"/ws/{room}/{venue_id}"
        started = time.perf_counter()
        self.ws = websocket.create_connection(url, subprotocols=[SUBPROTOCOL], timeout=30)
        hello: dict[str, Any] = {"type": "hello", "since": 0}
        if token:
            hello["token"] = token
        self.send(hello)
        welcome = self._receive()
        self._report("WS", "welcome", (time.perf_counter() - started) * 1000, 0)
        self.view = dict(welcome.get("lot") or welcome.get("opening") or {})
        self.live_from = welcome["seq"]  # events up to this seq are a replay, not live
        self._clock(welcome["server_now"], None)
        self.reader = gevent.spawn(self._read)

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send_binary(msgpack.packb(message))

    def _receive(self) -> dict[str, Any]:
        message: dict[str, Any] = msgpack.unpackb(self.ws.recv())
        return message

    def server_now(self) -> float:
        return time.time() * 1000 + (self.offset or 0.0)

    def _clock(self, server_now: int, rtt: float | None) -> None:
        if rtt is not None and rtt <= self.best_rtt:
            self.best_rtt, self.offset = rtt, server_now + rtt / 2 - time.time() * 1000
        elif self.offset is None:
            self.offset = server_now - time.time() * 1000

    def _report(self, kind: str, name: str, ms: float, size: int,
                error: Exception | None = None) -> None:  # fmt: skip
        self.environment.events.request.fire(
            request_type=kind, name=name, response_time=ms, response_length=size,
            exception=error, context={},
        )  # fmt: skip

    def _read(self) -> None:
        while True:
            try:
                frame = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if not frame:
                return
            self._take(msgpack.unpackb(frame), len(frame))

    def _take(self, m: dict[str, Any], size: int) -> None:
        kind = m.get("type")
        if kind == "event" and m["seq"] <= self.live_from:
            self._report("WS recv", "replay", 0, size)  # old news: its lag says nothing
            self._follow(m)
        elif kind == "event":
            lag = max(0.0, self.server_now() - m["ts"])
            self._report("WS recv", f"event {m['kind']}", lag, size)
            self._follow(m)
        elif kind == "pong":
            rtt = time.perf_counter() * 1000 - m["t"]
            self._clock(m["server_now"], rtt)
            self._report("WS", "ping", rtt, size)
        elif kind in ("ack", "nack") and "bid_id" in m:
            self._answered(m, size)
        elif kind == "error":
            self._report(
                "WS", "error", 0, size, ServerError(f"{m.get('code')}: {m.get('message')}")
            )

    def _follow(self, event: dict[str, Any]) -> None:
        v = self.view
        if event["kind"] == "bid" and "price" in event:
            v["price"], v["deadline"] = event["price"], event.get("deadline", v.get("deadline"))
            v["next_min"] = event["price"] + v.get("increment", 0)
        elif event["kind"] == "phase":
            v["phase"], v["deadline"] = event["phase"], event.get("deadline")
        elif event["kind"] == "closed":
            v["phase"], v["deadline"] = "closed", None

    def _answered(self, m: dict[str, Any], size: int) -> None:
        sent = self.pending.pop(m["bid_id"], None)
        if sent is None:
            return
        ms = (time.perf_counter() - sent) * 1000
        if m["type"] == "ack":
            self._report("WS", "bid ack", ms, size)
        elif m.get("code") in RULE_REFUSALS:
            self._report("WS", f"bid nack {m['code']}", ms, size)
        else:
            self._report("WS", "bid", ms, size, ServerError(f"{m.get('code')}: {m.get('message')}"))
        if not self.pending:
            self.drained.set()

    def bid(self, bid_id: str, price: int) -> None:
        self.drained.clear()
        self.pending[bid_id] = time.perf_counter()
        self.send({"type": "bid", "bid_id": bid_id, "price": price})

    def ping(self) -> None:
        self.send({"type": "ping", "t": time.perf_counter() * 1000})

    def close(self) -> None:
        """Wait for every answer still owed (each missing one is a failure), then close."""
        self.drained.wait(ACK_TIMEOUT_S)
        for _ in list(self.pending):
            self._report("WS", "bid", ACK_TIMEOUT_S * 1000, 0, LostAck("no answer"))
        self.pending.clear()
        self.ws.close()
        self.reader.kill()


# ---- the users ---------------------------------------------------------------------------


class InRoom:
    """A user's room, closed when the user stops."""

    room: Room | None = None

    def on_stop(self) -> None:
        if self.room is not None:  # None when stopped before it connected
            self.room.close()


class Bidder(InRoom, HttpUser):
    """A qualified bidder on the shared lot: bids the next minimum, snipes in 限时竞价."""

    weight = 1
    wait_time = between(0.5, 2.0)  # think time between bids

    def on_start(self) -> None:
        self.lot = _ids()["lot"]
        name = f"压测竞买人{uuid.uuid4().hex[:6]}"  # workers count alone: a counter would repeat
        admin = _admin(self.environment)
        made = self.client.post(f"/api/lots/{self.lot}/bidders", json={"name": name},
                                headers=admin, name="register").json()  # fmt: skip
        bidder = made["bidder_id"]
        deposit = {"amount": DEPOSIT, "kind": "cash", "ref": f"locust-{bidder}"}  # its own ref
        url = f"/api/lots/{self.lot}/bidders/{bidder}/deposit"
        with self.client.post(url, json=deposit, headers=admin, name="deposit",
                              catch_response=True) as answer:  # fmt: skip
            if not answer.json().get("qualified"):
                answer.failure(f"not qualified: {answer.text}")
        self.room = Room(self.environment, "lots", self.lot, made["token"])
        self.bids = itertools.count(1)

    @task
    def bid(self) -> None:
        assert self.room is not None
        view = self.room.view
        phase, deadline = view.get("phase"), view.get("deadline")
        if phase in ("closed", "scheduled", None) or view.get("next_min") is None:
            return
        burst = 1
        if phase == "limited" and deadline is not None:
            left = deadline - self.room.server_now()
            snipe_at = left - random.uniform(200, SNIPE_WINDOW_MS)
            if snipe_at > 0:
                gevent.sleep(min(snipe_at, 5000) / 1000)  # wait for the last seconds
                if snipe_at > 5000:
                    return  # still far off: think again
            burst = random.randint(1, BURST)
        base = self.room.view["next_min"]
        increment = self.room.view.get("increment", 0)
        for k in range(burst):
            self.room.bid(f"{id(self)}-{next(self.bids)}", base + k * increment)


class Watcher(InRoom, User):
    """A public viewer of one room: reports each event's fan-out lag, pings for the clock."""

    abstract = True
    wait_time = constant(2.0)
    venue, setup_key = "lots", "lot"

    def on_start(self) -> None:
        self.room = Room(self.environment, self.venue, _ids()[self.setup_key])

    @task
    def ping(self) -> None:
        assert self.room is not None
        self.room.ping()


class Viewer(Watcher):
    """A public viewer of the lot."""

    weight = 10


class OpeningViewer(Watcher):
    """A public viewer of the opening: its events and the clock."""

    weight = 2
    venue, setup_key = "openings", "opening"
