"""The signed documents over HTTP: a sold lot's 成交确认书, an opening's 开标记录表, and the
certificate their signatures are checked with."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.web.api import Operation
from server.web.common import resources

__all__ = ["document_operations"]

PDF = "application/pdf"


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body, media_type=PDF, headers={"content-disposition": f'inline; filename="{name}"'}
    )


async def confirmation(request: Request) -> Response:
    lot_id, plate = request.path_params["lot"], request.query_params.get("plate")
    found = await resources(request).documents.confirmation(lot_id, plate)
    return _pdf(found, f"{lot_id}-confirmation{'-' + plate if plate else ''}.pdf")


async def record(request: Request) -> Response:
    opening_id = request.path_params["opening"]
    found = await resources(request).documents.record(opening_id)
    return _pdf(found, f"{opening_id}-record.pdf")


async def certificate(request: Request) -> Response:
    cert = resources(request).documents.signer.cert_pem
    return Response(cert, media_type="application/x-pem-file")


document_operations = [
    Operation(method="GET", path="/api/lots/{lot}/confirmation.pdf", handler=confirmation,
              summary="成交确认书 of a sold lot, signed PAdES by the centre; a lot sold by "
              "quantity has one for each winner, by plate (the first winner's without)",
              media=PDF, errors=("NOT_FOUND", "CONFLICT", "DOCUMENTS_UNAVAILABLE"),
              query={"plate": {"type": "string", "minLength": 1, "maxLength": 64}}),
    Operation(method="GET", path="/api/openings/{opening}/record.pdf", handler=record,
              summary="开标记录表 as issued, signed PAdES by the centre", media=PDF,
              errors=("NOT_FOUND", "CONFLICT", "DOCUMENTS_UNAVAILABLE")),
    Operation(method="GET", path="/api/documents/certificate", handler=certificate,
              summary="The certificate the centre signs its documents with (PEM)",
              media="application/x-pem-file"),
]  # fmt: skip
