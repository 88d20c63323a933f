"""The checks of a bank's arrival beyond its lot (auction/money/arrivals.py): a party pays
from its registered account, however the bank prints it; one ref pays into one lot."""

from __future__ import annotations

import pytest

from auction.errors import Conflict, Refused
from auction.money.arrivals import check_payer, check_ref

REGISTERED = "6222 0212 3456 7890"


@pytest.mark.parametrize(
    ("registered", "payer", "kept"),
    [
        (REGISTERED, "6222021234567890", "6222021234567890"),  # printed without blanks
        (REGISTERED, "6222-0212-3456-7890", "6222021234567890"),  # with dashes
        (None, "6217 0000 1111 2222", "6217000011112222"),  # typed in by the host: any payer
    ],
)
def test_the_registered_account_pays(registered: str | None, payer: str, kept: str) -> None:
    assert check_payer(registered, payer) == kept


@pytest.mark.parametrize(
    "payer", ["6222021234567891", "622202123456789", "", "6222 0212 3456 78900"]
)
def test_any_other_payer_is_refused(payer: str) -> None:
    with pytest.raises(Refused) as refused:
        check_payer(REGISTERED, payer)
    assert refused.value.code == "PAYER_MISMATCH"


def test_a_ref_pays_into_the_lot_that_first_had_it_only() -> None:
    check_ref("lot-a", "lot-a")  # new, or the bank resending: the lot answers
    with pytest.raises(Conflict):
        check_ref("lot-a", "lot-b")
