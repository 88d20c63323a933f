"""Virtual sub-accounts (虚拟子账户): one per bidder per lot, the account its deposit is paid
into (RULES §0.5: "通过交易系统随机生成竞买保证金账号"), so that the bank's notice of an
arrival says by itself whose deposit for which lot it is.

A number is the bank's prefix for the centre's virtual accounts, then digits drawn from
HMAC-SHA256 of the server's secret over the lot and the bidder (no one without the secret
can tell a bidder's number from its plate, nor the other way round), then a Luhn check
digit (ISO/IEC 7812-1, as China's bank card numbers carry): 19 digits, like the accounts
a bidder already types. A typing slip in one digit, or two neighbours swapped, fails the
check. `draw` counts up when a number is taken, which the store says (server/store/money.py).
"""

from __future__ import annotations

import hashlib
import hmac

from stdnum import luhn

from auction.errors import BadMessage

__all__ = ["LENGTH", "PREFIX", "check_account", "sub_account"]

LENGTH = 19
PREFIX = "621700"  # the bank's range for the centre's virtual accounts; a setting in practice


def sub_account(
    secret: bytes, lot_id: str, bidder_id: str, draw: int = 0, prefix: str = PREFIX
) -> str:
    """The `draw`th candidate number of the bidder's sub-account for the lot."""
    said = f"sub-account|{lot_id}|{bidder_id}|{draw}".encode()
    digits = LENGTH - 1 - len(prefix)
    drawn = int.from_bytes(hmac.new(secret, said, hashlib.sha256).digest()) % 10**digits
    body = f"{prefix}{drawn:0{digits}d}"
    return body + luhn.calc_check_digit(body)


def check_account(value: object) -> str:
    """A sub-account number as given (blanks dropped), or BadMessage."""
    number = "".join(value.split()) if isinstance(value, str) else ""
    if len(number) != LENGTH or not number.isdigit() or not luhn.is_valid(number):
        raise BadMessage(
            "account", "子账户号码有误（19 位数字，校验位不符）",
            "must be a sub-account: 19 digits with its check digit",
        )  # fmt: skip
    return number
