"""Presets: the published rules a lot follows, named by one config field, `preset`.

A preset fills the fields its rulebook fixes (a field the client leaves out takes the
preset's value; one it sets otherwise is refused, naming the field) and makes the statutory
findings of auction/lot/statute.py refusals instead of warnings. Each is sourced in RULES.md:

- `land` (listing, auction): the statute alone (39号令, 规范: RULES §1.2).
- `shantou` (listing) [S7]: only who quoted may continue (第19条), 5 minutes to say so
  (第23条), a 5-minute 限时 countdown (第24条).
- `three_three` (listing) [S33]: 3 minutes to continue, a 3-minute countdown (第21–23条).
- `gtmap` (listing) [S10][S11]: a 4-minute countdown (countDownSec 240), two must continue,
  4 minutes for each after-cap step (ONE_PARAM_DEFAULT_TIME).
- `qinzhou` (auction) [S6]: 60 minutes of free bidding, then 5-minute 限时 rounds.
- `chongqing` (listing, auction) [S47]: a 4-minute countdown.

Not modelled yet: gtmap's quote freeze in the listing's last hour, its one-time sealed
quote after the cap, Shantou's reserve entered 30 minutes before the close (R9).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auction.errors import BadMessage

__all__ = ["PRESETS", "Preset", "apply"]

MINUTE = 60


@dataclass(frozen=True, slots=True)
class Preset:
    modes: tuple[str, ...]
    fixes: Mapping[str, Any] = field(default_factory=dict)
    free_s: int | None = None  # the free bidding's length, where the rulebook fixes it


PRESETS: Mapping[str, Preset] = {
    "land": Preset(("listing", "auction")),
    "shantou": Preset(
        ("listing",), {"entry_rule": "quoted", "inquiry_s": 5 * MINUTE, "countdown_s": 5 * MINUTE}
    ),
    "three_three": Preset(("listing",), {"inquiry_s": 3 * MINUTE, "countdown_s": 3 * MINUTE}),
    "gtmap": Preset(
        ("listing",), {"countdown_s": 4 * MINUTE, "min_continued": 2, "after_cap_s": 4 * MINUTE}
    ),
    "qinzhou": Preset(("auction",), {"countdown_s": 5 * MINUTE}, free_s=60 * MINUTE),
    "chongqing": Preset(("listing", "auction"), {"countdown_s": 4 * MINUTE}),
}


def apply(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The client's config with its preset's fields filled in; BadMessage naming the field
    the client set against the preset (or the preset itself, unknown or for another kind
    of lot)."""
    name = raw.get("preset")
    if name is None:
        return dict(raw)
    preset = PRESETS.get(name) if isinstance(name, str) else None
    if preset is None:
        raise BadMessage(
            "preset", f"须为 {'/'.join(PRESETS)} 之一", f"must be one of {tuple(PRESETS)}"
        )
    if raw.get("category") != "land":
        raise BadMessage(
            "preset", "预设规则仅适用于土地出让", "presets are for land (category land)"
        )
    if raw.get("mode") not in preset.modes:
        raise BadMessage("preset", f"{name} 仅用于 {'/'.join(preset.modes)}",
                         f"{name} is for {' or '.join(preset.modes)} lots")  # fmt: skip
    filled = dict(raw)
    fixes = dict(preset.fixes)
    if preset.free_s is not None and isinstance(opens := raw.get("opens_at"), int):
        fixes["free_ends_at"] = opens + preset.free_s * 1000
    for key, value in fixes.items():
        if key in raw and raw[key] != value:
            if key == "free_ends_at":  # a time: say what the rulebook says, not the ms
                minutes = (preset.free_s or 0) // MINUTE
                zh, en = f"规定自由竞价 {minutes} 分钟", f"fixes free bidding at {minutes} minutes"
                raise BadMessage(key, f"预设 {name} {zh}", f"the preset {name} {en}")
            raise BadMessage(
                key, f"预设 {name} 规定为 {value}", f"the preset {name} fixes it at {value}"
            )
        filled[key] = value
    return filled
