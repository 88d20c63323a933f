"""Whether a bank's arrival may count for the bidder its sub-account names, before the lot's
rules decide it as a deposit (auction/lot/admission.py: the deadline, the sum).

Two checks the lot cannot make alone, since they look beyond it:
- the payer: a bidder registered from the party library pays from the account it
  registered (RULES §0.5: "须由竞买人本人账户交纳", no third-party payers), compared by
  their digits (banks print blanks and dashes): `PAYER_MISMATCH`; a bidder the host typed
  in has no registered account, and any payer is taken (and kept, for its refund);
- the ref: one bank transfer pays into one lot ("每笔竞买保证金只对应一个标的"), so a ref
  the platform saw on another lot is a `CONFLICT`; on the same lot it is the bank resending,
  which the lot answers as the first time.
"""

from __future__ import annotations

from auction.errors import Conflict, Refused

__all__ = ["check_payer", "check_ref", "digits"]


def digits(account: str) -> str:
    """An account number as compared: its digits."""
    return "".join(c for c in account if c.isdigit())


def check_payer(registered: str | None, payer: str) -> str:
    """The payer's account as kept (its digits), or `PAYER_MISMATCH`: `registered` is the
    party's account, None for a bidder typed in (any payer is taken)."""
    if registered is not None and digits(registered) != digits(payer):
        raise Refused("PAYER_MISMATCH")
    return digits(payer)


def check_ref(ref_lot: str, lot_id: str) -> None:
    """`CONFLICT` when the ref is the platform's for another lot (`ref_lot`: the lot that
    first claimed it, this one if it was new)."""
    if ref_lot != lot_id:
        raise Conflict("该银行流水号已用于其他标的", "this ref paid into another lot")
