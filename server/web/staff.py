"""The staff's credentials over HTTP: the host adds a person (one token each, shown once),
lists them with the supervisor, and revokes one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.web import bodies
from server.web.api import Operation
from server.web.common import body_of, json_response, now_of, resources, token_of

__all__ = ["staff_operations"]


async def add(request: Request) -> Response:
    service = resources(request).service
    await service.desk.require_admin(token_of(request))
    body = await body_of(request, bodies.NewStaff)
    return json_response(request, await service.desk.add(body, await now_of(request)), 201)


async def everyone(request: Request) -> Response:
    service = resources(request).service
    await service.desk.require_staff(token_of(request))
    people = await service.desk.everyone()
    return json_response(request, {"staff": people, "server_now": await now_of(request)})


async def revoke(request: Request) -> Response:
    service = resources(request).service
    await service.desk.require_admin(token_of(request))
    await service.desk.revoke(request.path_params["staff_id"], await now_of(request))
    return json_response(request, {"revoked": True, "server_now": await now_of(request)})


ADMIN = ("UNAUTHORIZED", "FORBIDDEN")
staff_operations = [
    Operation(method="POST", path="/api/staff", handler=add, summary="Add a person of the "
              "staff (host, supervisor, bank or issuer): their token, shown once",
              auth="admin", body=bodies.NewStaff, answer=bodies.StaffMade, status=201,
              errors=(*ADMIN, "BAD_MESSAGE")),
    Operation(method="GET", path="/api/staff", handler=everyone, summary="The staff, revoked "
              "ones included (no tokens)", auth="staff", answer=bodies.StaffList, errors=ADMIN),
    Operation(method="DELETE", path="/api/staff/{staff_id}", handler=revoke,
              summary="Revoke a person's credential (the log keeps their name)", auth="admin",
              answer=bodies.Revoked, errors=(*ADMIN, "NOT_FOUND", "CONFLICT")),
]  # fmt: skip
