"""Lot configuration: the contract's config map, checked field by field.

`LotConfig.parse(raw)` is the only way in from the outside; it raises `BadMessage` naming the
first field that is wrong and builds nothing. Times are ms since the epoch, money integers in
the lot's smallest unit. Every timing and outcome parameter is per lot, never code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal, get_args

from msgspec import Meta

from auction.checks import check_text
from auction.errors import BadMessage
from auction.lot import presets

__all__ = ["CATEGORIES", "MODES", "LotConfig", "check_text"]

Category = Literal["land", "property", "emission", "other"]
Mode = Literal["listing", "auction", "sealed", "dutch"]
AfterCap = Literal["lottery", "secondary"]
EntryRule = Literal["any_qualified", "quoted"]  # any qualified bidder, or one who quoted
PresetName = Literal["land", "shantou", "three_three", "gtmap", "qinzhou", "chongqing"]
ListingDays = Literal["working_days", "calendar_dates", "elapsed"]  # how L-2's 10 days count
Signatures = Literal["off", "optional", "required"]  # bidders sign bids (auction/signatures.py)
CATEGORIES, MODES, AFTER_CAP = get_args(Category), get_args(Mode), get_args(AfterCap)
ENTRY_RULES = get_args(EntryRule)
MAX_MONEY = 2**53 - 1  # exact in JSON numbers, Lua doubles and msgpack alike
MAX_TEXT = 200


Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
Label = Annotated[str, Meta(min_length=1, max_length=40)]
MAX_PARTICULARS = 20
# what the announcement gives of the lot: e.g. {"宗地面积": "12,345.6 ㎡", "用途": "工业用地"}
Particulars = Annotated[dict[Label, Text], Meta(max_length=MAX_PARTICULARS)]
Money = Annotated[int, Meta(ge=1, le=MAX_MONEY)]
Whole = Annotated[int, Meta(ge=0, le=MAX_MONEY)]


@dataclass(frozen=True, slots=True, kw_only=True)
class LotConfig:
    """The field types are what a client may send (the OpenAPI description shows them);
    `parse` checks them and how the fields fit together."""

    title: Text
    category: Category
    mode: Mode
    quote_unit: Text
    start_price: Money
    increment: Money
    reserve: Money | None = None
    cap: Money | None = None
    after_cap: AfterCap = "lottery"
    secondary_increment: Money = 1
    # how long the after-cap procedure (the lottery's acceptance window, the secondary
    # round's countdown) runs; none given: countdown_s (R12)
    after_cap_s: Annotated[int, Meta(ge=1, le=86_400)] | None = None
    deposit: Whole = 0
    opens_at: Whole = 0
    free_ends_at: Whole = 0
    # registration (报名) and deposit (保证金到账) deadlines; none given: free_ends_at (R3)
    apply_ends_at: Whole | None = None
    deposit_ends_at: Whole | None = None
    countdown_s: Whole = 300
    inquiry_s: Whole = 180
    dutch_step: Whole = 0
    dutch_tick_s: Whole = 0
    dutch_floor: Whole = 0
    # a deadline the platform reaches later than this suspends the lot instead of moving it
    late_grace_s: Annotated[int, Meta(ge=1, le=3600)] = 5
    # a listing's 限时 round: who may continue into it, and how many must (R6)
    entry_rule: EntryRule = "any_qualified"
    min_continued: Annotated[int, Meta(ge=1, le=1000)] = 1
    particulars: Particulars | None = None  # shown with the lot's terms, in its order
    # the published rules the lot follows (auction/lot/presets.py); with one, the statute's
    # checks refuse a new lot (auction/lot/statute.py `warnings`), without, they warn
    preset: PresetName | None = None
    listing_days: ListingDays = "working_days"
    # required: every bid, continue and accept carries its bidder's signature (电子签章)
    signatures: Signatures = "off"
    # sold by quantity (排污权): `quantity` whole `quantity_unit`s shared among several
    # winners; a bid names a unit price and a quantity, at least `min_quantity` (1 if none)
    # and above it by whole `quantity_step`s (1 if none) (auction/lot/shares.py)
    quantity: Money | None = None
    quantity_unit: Text | None = None
    min_quantity: Money | None = None
    quantity_step: Money | None = None

    @classmethod
    def parse(cls, raw: object) -> LotConfig:
        """Check a client's config map; raise BadMessage naming the field, or return it."""
        if not isinstance(raw, Mapping):
            raise BadMessage("config", "须为 JSON 对象", "must be a JSON object")
        known = set(cls.__dataclass_fields__)
        for key in raw:
            if key not in known:
                raise BadMessage(str(key), "未知字段", "unknown field")
        for name in ("title", "category", "mode", "quote_unit", "start_price", "increment"):
            if name not in raw:
                raise BadMessage(name, "缺少必填字段", "is required")
        raw = presets.apply(raw)
        config = cls(**{name: _field(raw, name) for name in known if name in raw})
        config._check()
        return config

    @classmethod
    def stored(cls, fields: Mapping[str, Any]) -> LotConfig:
        """Rebuild a config the bid book stored (already checked; extra keys ignored)."""
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})

    @property
    def after_cap_ms(self) -> int:
        return (self.countdown_s if self.after_cap_s is None else self.after_cap_s) * 1000

    @property
    def apply_deadline(self) -> int:
        """When registration closes (before any suspension moved it on)."""
        return self.free_ends_at if self.apply_ends_at is None else self.apply_ends_at

    @property
    def deposit_deadline(self) -> int:
        """When deposits stop counting (before any suspension moved it on)."""
        return self.free_ends_at if self.deposit_ends_at is None else self.deposit_ends_at

    def public(self) -> dict[str, Any]:
        """The config as the public may see it: everything but the reserve value."""
        shown = asdict(self)
        del shown["reserve"]
        return shown

    def _check(self) -> None:
        _one_of("category", self.category, CATEGORIES)
        _one_of("mode", self.mode, MODES)
        _one_of("after_cap", self.after_cap, AFTER_CAP)
        _one_of("entry_rule", self.entry_rule, ENTRY_RULES)
        _one_of("listing_days", self.listing_days, get_args(ListingDays))
        _one_of("signatures", self.signatures, get_args(Signatures))
        _positive("min_continued", self.min_continued)
        _positive("start_price", self.start_price)
        _positive("increment", self.increment)
        _positive("secondary_increment", self.secondary_increment)
        _positive("late_grace_s", self.late_grace_s)
        if self.after_cap_s is not None:
            _positive("after_cap_s", self.after_cap_s)
        _at_least("deposit", self.deposit, 0)
        _at_least("opens_at", self.opens_at, 0)
        if self.free_ends_at < self.opens_at:
            raise BadMessage("free_ends_at", "不得早于 opens_at", "must not be before opens_at")
        for name in ("apply_ends_at", "deposit_ends_at"):
            if (value := getattr(self, name)) is not None and value > self.free_ends_at:
                raise BadMessage(name, "不得晚于 free_ends_at", "must not be after free_ends_at")
        {"listing": self._check_listing, "auction": self._check_auction,
         "sealed": self._check_sealed, "dutch": self._check_dutch}[self.mode]()  # fmt: skip
        if self.reserve is not None:
            _positive("reserve", self.reserve)
        self._check_quantity()
        if self.cap is not None:
            if self.cap <= self.start_price:
                raise BadMessage("cap", "最高限价须高于起始价", "must be above start_price")
            if self.reserve is not None and self.reserve > self.cap:
                raise BadMessage("reserve", "底价不得高于最高限价", "must not exceed cap")

    def _check_quantity(self) -> None:
        if self.quantity is None:
            for name in ("quantity_unit", "min_quantity", "quantity_step"):
                if getattr(self, name) is not None:
                    raise BadMessage(name, "须与 quantity 同时给出", "goes with a quantity")
            return
        _positive("quantity", self.quantity)
        if self.category != "emission":
            raise BadMessage("quantity", "仅排污权标的按数量成交",
                             "only emission lots are sold by quantity")  # fmt: skip
        if self.mode != "auction":
            raise BadMessage("quantity", "按数量成交的标的须为 auction 方式",
                             "a lot sold by quantity is an auction")  # fmt: skip
        if self.quantity_unit is None:
            raise BadMessage("quantity_unit", "缺少必填字段", "is required with a quantity")
        for name in ("min_quantity", "quantity_step"):
            if (value := getattr(self, name)) is not None:
                _positive(name, value)
        if self.least_quantity > self.quantity:
            raise BadMessage("min_quantity", "不得大于 quantity", "must not exceed quantity")
        if self.cap is not None:  # R2's procedures decide one winner
            raise BadMessage(
                "cap", "按数量成交的标的不设最高限价", "a lot sold by quantity has no cap"
            )

    @property
    def least_quantity(self) -> int:
        """The least quantity a bid may ask for (a lot sold by quantity)."""
        return self.min_quantity or 1

    @property
    def step_quantity(self) -> int:
        return self.quantity_step or 1

    def _check_listing(self) -> None:
        self._check_window()
        _positive("countdown_s", self.countdown_s)
        _positive("inquiry_s", self.inquiry_s)

    def _check_auction(self) -> None:
        _positive("countdown_s", self.countdown_s)

    def _check_sealed(self) -> None:
        self._check_window()
        self._refuse_cap()

    def _check_dutch(self) -> None:
        _positive("dutch_step", self.dutch_step)
        if self.dutch_step % self.increment:  # each price a dutch lot shows is on the grid (R13)
            raise BadMessage(
                "dutch_step", "须为增价幅度的整数倍", "must be a multiple of increment"
            )
        _positive("dutch_tick_s", self.dutch_tick_s)
        _positive("dutch_floor", self.dutch_floor)
        if self.dutch_floor >= self.start_price:
            raise BadMessage("dutch_floor", "须低于起始价", "must be below start_price")
        if self.reserve is not None:
            raise BadMessage("reserve", "荷兰式以 dutch_floor 为底", "dutch lots use dutch_floor")
        self._refuse_cap()

    def _check_window(self) -> None:
        if self.free_ends_at <= self.opens_at:
            raise BadMessage("free_ends_at", "须晚于 opens_at", "must be after opens_at")

    def _refuse_cap(self) -> None:
        if self.cap is not None:
            raise BadMessage("cap", "此方式不设最高限价", f"a {self.mode} lot has no cap")


_TEXT_FIELDS = {
    "title", "category", "mode", "quote_unit", "after_cap", "entry_rule", "preset", "listing_days",
    "signatures", "quantity_unit",
}  # fmt: skip
_OPTIONAL = {
    "reserve", "cap", "apply_ends_at", "deposit_ends_at", "after_cap_s", "preset", "quantity",
    "quantity_unit", "min_quantity", "quantity_step",
}  # fmt: skip


def _field(raw: Mapping[str, Any], name: str) -> Any:
    value = raw[name]
    if name == "particulars":
        return _particulars(value)
    if value is None and name in _OPTIONAL:
        return None
    if name in _TEXT_FIELDS:
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise BadMessage(name, "须为非空文本", f"must be text of 1 to {MAX_TEXT} characters")
        return value
    # bool is an int in Python; a price of `true` is a client bug, not 1 fen.
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_MONEY:
        raise BadMessage(name, "须为整数", "must be an integer")
    return value


def _particulars(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) > MAX_PARTICULARS:
        raise BadMessage("particulars", f"须为至多 {MAX_PARTICULARS} 项的对象",
                         f"must be an object of at most {MAX_PARTICULARS} items")  # fmt: skip
    return {
        check_text("particulars", label, 40): check_text("particulars", text, MAX_TEXT)
        for label, text in value.items()
    }


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise BadMessage(name, f"须为 {'/'.join(allowed)} 之一", f"must be one of {allowed}")


def _positive(name: str, value: int) -> None:
    _at_least(name, value, 1)


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise BadMessage(name, f"须不小于 {low}", f"must be at least {low}")
