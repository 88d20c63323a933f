"""The money routes: a bidder's sub-account, the bank's callback of an arrival, 电子保函
filed and then confirmed or revoked by their issuers, and the refunds. The bank's and the
issuers' calls are signed with their secret (`X-OpenBid-Signature: sha256=HEX`,
HMAC-SHA256 of the raw body)."""

from __future__ import annotations

import csv
import io

from starlette.requests import Request
from starlette.responses import Response

from server.services.money import MoneyService
from server.web.api import Handler, Operation
from server.web.bodies import DepositBody
from server.web.common import (
    body_of,
    day_asked,
    json_response,
    now_of,
    resources,
    staff_body,
    token_of,
)
from server.web.money_types import (
    Arrival,
    BankDeposit,
    Decided,
    IssuerSays,
    NewGuarantee,
    Reconciliation,
    RefundReport,
    Refunds,
    SubAccount,
    TenderDeposited,
)

__all__ = ["money_operations"]


def _money(request: Request) -> MoneyService:
    found: MoneyService = resources(request).money
    return found


async def account(request: Request) -> Response:
    lot_id, bidder_id = request.path_params["lot"], request.path_params["bidder_id"]
    found = await _money(request).account(lot_id, bidder_id, token_of(request))
    return json_response(request, found | {"server_now": await now_of(request)})


async def tender_account(request: Request) -> Response:
    opening_id, bidder_id = request.path_params["opening"], request.path_params["bidder_id"]
    found = await _money(request).tender_account(opening_id, bidder_id, token_of(request))
    return json_response(request, found | {"server_now": await now_of(request)})


async def bank_deposit(request: Request) -> Response:
    bank, body = await staff_body(request, BankDeposit, "bank")
    answer = await _money(request).bank_deposit(bank, body)
    venue_id = answer.get("lot_id") or answer["opening_id"]
    signals = resources(request).signals  # the payer's account: the bidder's trace
    signals.saw(venue_id, answer["bidder_id"], "deposit", None,
                payer=body.get("payer_account"))  # fmt: skip
    return json_response(request, answer)


async def file_guarantee(request: Request) -> Response:
    lot_id, bidder_id = request.path_params["lot"], request.path_params["bidder_id"]
    body = await body_of(request, NewGuarantee)
    answer = await _money(request).file_guarantee(lot_id, bidder_id, token_of(request), body)
    return json_response(request, answer)


def _issuer(name: str) -> Handler:
    async def says(request: Request) -> Response:
        issuer, _ = await staff_body(request, IssuerSays, "issuer")
        number = request.path_params["number"]
        return json_response(request, await _money(request).issuer_says(issuer, number, name))

    return says


async def contract(request: Request) -> Response:
    await body_of(request, IssuerSays)  # an empty body, or a note
    answer = await _money(request).contract(request.path_params["lot"], token_of(request))
    return json_response(request, answer)


async def tender_deposit(request: Request) -> Response:
    """投标保证金: the host's entry, or the bank's callback signed with its secret."""
    staff, body = await staff_body(request, DepositBody, "admin", "bank")
    opening_id, bidder_id = request.path_params["opening"], request.path_params["bidder_id"]
    answer = await _money(request).tender_deposit(opening_id, bidder_id, body, staff)
    return json_response(request, answer | {"server_now": await now_of(request)})


async def refund_reported(request: Request) -> Response:
    bank, body = await staff_body(request, RefundReport, "bank")
    refund_id = request.path_params["refund_id"]
    return json_response(request, await _money(request).refund_reported(bank, refund_id, body))


async def reconciliation(request: Request) -> Response:
    """`?day=YYYY-MM-DD` (Beijing; today by the server's clock when absent)."""
    now = await now_of(request)
    day = day_asked(request, now)
    lots = await _money(request).reconciliation(day, token_of(request))
    return json_response(request, {"day": day.isoformat(), "lots": lots, "server_now": now})


COLUMNS = ("refund_id", "plate", "name", "amount", "kind", "to_account", "status", "due",
           "calendar_known", "held")  # fmt: skip


async def refunds(request: Request) -> Response:
    """JSON, or with `?format=csv` a file the bank loads (amounts in fen, UTF-8 with BOM)."""
    found = await _money(request).refunds(request.path_params["lot"], token_of(request))
    if request.query_params.get("format") != "csv":
        return json_response(request, {"refunds": found, "server_now": await now_of(request)})
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(found)
    name = f"{request.path_params['lot']}-refunds.csv"
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})  # fmt: skip


money_operations = [
    Operation(method="GET", path="/api/lots/{lot}/bidders/{bidder_id}/account", handler=account,
              summary="The bidder's virtual sub-account for the lot (the bidder, or the host, "
              "the supervisor and the bank)", auth="bidder or money staff", answer=SubAccount,
              errors=("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND")),
    Operation(method="GET", path="/api/openings/{opening}/bidders/{bidder_id}/account",
              handler=tender_account, summary="The tenderer's virtual sub-account for the "
              "opening's 投标保证金 (the tenderer, or the host, the supervisor and the bank)",
              auth="bidder or money staff", answer=SubAccount,
              errors=("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND")),
    Operation(method="POST", path="/api/bank/deposits", handler=bank_deposit,
              summary="The bank's callback of an arrival in a sub-account (a lot's or an "
              "opening's), signed (HMAC): idempotent by ref, the payer checked against the "
              "party's account",
              auth="bank", body=BankDeposit, answer=Arrival,
              errors=("UNAUTHORIZED", "FORBIDDEN", "BAD_MESSAGE", "NOT_FOUND", "CONFLICT",
                      "REFUSED")),
    Operation(method="POST", path="/api/lots/{lot}/bidders/{bidder_id}/guarantees",
              handler=file_guarantee, summary="File a 电子保函 for the bidder (the bidder, or "
              "the host): it qualifies once its issuer confirms it", auth="bidder or admin",
              body=NewGuarantee, answer=Decided,
              errors=("UNAUTHORIZED", "FORBIDDEN", "BAD_MESSAGE", "NOT_FOUND", "CONFLICT",
                      "REFUSED")),
    Operation(method="POST", path="/api/guarantees/{number}/confirm",
              handler=_issuer("guarantee_confirm"), summary="The issuer confirms a guarantee "
              "(signed, HMAC), before the lot's deposit deadline", auth="issuer",
              body=IssuerSays, answer=Decided,
              errors=("UNAUTHORIZED", "FORBIDDEN", "BAD_MESSAGE", "NOT_FOUND", "REFUSED")),
    Operation(method="POST", path="/api/guarantees/{number}/revoke",
              handler=_issuer("guarantee_revoke"), summary="The issuer revokes a guarantee "
              "(signed, HMAC) before the lot's close: its bidder qualifies only by its cash",
              auth="issuer", body=IssuerSays, answer=Decided,
              errors=("UNAUTHORIZED", "FORBIDDEN", "BAD_MESSAGE", "NOT_FOUND", "REFUSED")),
    Operation(method="POST", path="/api/lots/{lot}/contract", handler=contract,
              summary="合同签订: the host records the sold lot's contract signed; the winners' "
              "deposits are due back from then", auth="admin", body=IssuerSays, answer=Decided,
              errors=("UNAUTHORIZED", "FORBIDDEN", "BAD_MESSAGE", "NOT_FOUND", "REFUSED")),
    Operation(method="POST", path="/api/bank/refunds/{refund_id}", handler=refund_reported,
              summary="The bank's callback of a refund sent or done (signed, HMAC)",
              auth="bank", body=RefundReport, answer=Decided,
              errors=("UNAUTHORIZED", "FORBIDDEN", "BAD_MESSAGE", "NOT_FOUND", "REFUSED")),
    Operation(method="POST", path="/api/openings/{opening}/bidders/{bidder_id}/deposit",
              handler=tender_deposit, summary="投标保证金 arrived for a tenderer, until its "
              "bidders are published (their deposit status is published and read out)",
              auth="admin or bank", body=DepositBody, answer=TenderDeposited,
              errors=("UNAUTHORIZED", "FORBIDDEN", "BAD_MESSAGE", "NOT_FOUND", "CONFLICT",
                      "REFUSED")),
    Operation(method="GET", path="/api/money/reconciliation", handler=reconciliation,
              summary="对账: for every lot whose money moved on the day, each bidder's "
              "arrivals that day, its deposit paid in all, guarantees, qualification, the "
              "refunds reported that day and those overdue", auth="money staff",
              answer=Reconciliation, errors=("UNAUTHORIZED", "FORBIDDEN", "BAD_MESSAGE"),
              query={"day": {"type": "string", "format": "date"}}),
    Operation(method="GET", path="/api/lots/{lot}/refunds", handler=refunds,
              summary="The lot's refunds (原路退还): one for each deposit, to the account it "
              "came from, due in working days after the close (a winner's held); "
              "?format=csv for the bank", auth="money staff", answer=Refunds,
              errors=("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND"), answer_media=("text/csv",),
              query={"format": {"type": "string", "enum": ["json", "csv"]}}),
]  # fmt: skip
