"""What the staff see of a lot's secrets before its close (review R9, RULES §5.5).

The names behind the plates and the reserve are kept sealed in the store (auction/lot/
vault.py), and no staff view shows them before the close: the bidder list gives plates,
deposits and qualification, the staff's audit export leaves out the clear names and refs.
The supervisor alone may break the glass, with a reason: the lot's public log records who
looked and why (an `unmasked` entry, not what was seen) before the server shows anything.
The host, who runs the lot, never can. (The host still learns a plate when registering a
bidder, as the contract's registration answer gives it; self-registration is the cure.)
"""

from __future__ import annotations

from typing import Any

from auction.errors import Forbidden
from server.services.lots import LotService
from server.services.staff import Staff

__all__ = ["closed", "unmask"]


async def closed(service: LotService, lot_id: str) -> bool:
    """Has the lot closed (its clock brought up to now first)? NotFound for an unknown lot."""
    reply = await service.command(lot_id, "tick")
    return bool(reply.state["phase"] == "closed")


async def unmask(service: LotService, lot_id: str, staff: Staff, reason: str) -> dict[str, Any]:
    """Break-glass: log the supervisor's look with its reason, then show the names and the
    reserve. Forbidden for anyone but a supervisor; refused (`PHASE_CLOSED`) once the lot
    has closed, when the result shows them to everyone entitled."""
    if staff.role != "supervisor":
        raise Forbidden()
    answer = await service.staff_command(lot_id, "unmask", staff, reason)
    config = await service.book.config(lot_id) or {}
    return answer | {"bidders": await service.bidders(lot_id, named=True),
                     "reserve": config.get("reserve")}  # fmt: skip
