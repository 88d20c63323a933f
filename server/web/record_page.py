"""The 开标记录表 as a printable page: the issued record, its SHA-256 as in the log, the
confirmations and the objections with their replies. Every value is escaped; times are
Beijing time (UTC+8, no daylight saving), money in 元 with two decimals.
"""

from __future__ import annotations

from html import escape
from typing import Any

from auction.china import when, yuan
from auction.opening.record import STATUS_WORDS as STATUS

__all__ = ["STYLE", "render_record"]

STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; margin: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #333; padding: .4em .6em; text-align: left; }
td.money { text-align: right; font-variant-numeric: tabular-nums; }
.hash { font-family: monospace; word-break: break-all; }
@media print { body { margin: 0; } }
"""


def render_record(found: dict[str, Any]) -> str:
    record = found["record"]
    rows = "".join(_row(i, row) for i, row in enumerate(record["rows"], start=1))
    confirmations = "".join(
        f"<li>号牌 {escape(c['plate'])} 于 {when(c['at'])} 确认（第 {c['session']} 次会议）</li>"
        for c in found["confirmations"]
    )
    talk = "".join(_said(item) for item in found["objections"])
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>开标记录表 · {escape(record["title"])}</title><style>{STYLE}</style></head>
<body>
<h1>开标记录表</h1>
<p>项目：{escape(record["title"])}<br>
开标时间（投标截止时间）：{when(record["bid_deadline"])}<br>
记录生成时间：{when(record["issued_at"])}<br>
记录哈希（SHA-256，见审计日志第 {found["record_seq"]} 条）：
<span class="hash">{escape(found["record_hash"])}</span></p>
<table><thead><tr><th>序号</th><th>号牌</th><th>投标人</th><th>投标报价（元）</th>
<th>工期（日历天）</th><th>质量</th><th>解密状态</th><th>备注</th></tr></thead>
<tbody>{rows}</tbody></table>
<h2>投标人确认</h2><ul>{confirmations or "<li>尚无</li>"}</ul>
<h2>异议与答复</h2><ul>{talk or "<li>无</li>"}</ul>
</body></html>"""


def _row(number: int, row: dict[str, Any]) -> str:
    note = ""
    if row.get("consequence"):
        side = "投标人原因" if row["side"] == "bidder" else "非投标人原因"
        note = f"{side}，视为{row['consequence']}投标文件"
    days = "" if row.get("duration_days") is None else str(row["duration_days"])
    cells = [
        str(number), escape(row["plate"]), escape(row["name"]),
        f'<td class="money">{yuan(row.get("price"))}</td>', days,
        escape(row.get("quality") or ""), STATUS.get(row["status"], escape(row["status"])), note,
    ]  # fmt: skip
    return "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>"


def _said(item: dict[str, Any]) -> str:
    if item["kind"] == "objection":
        head = f"异议 #{escape(item['objection_id'])}（号牌 {escape(item['plate'])}）"
    else:
        head = f"答复异议 #{escape(item['objection_id'])}"
    return f"<li>{when(item['ts'])} {head}：{escape(item['text'])}</li>"
