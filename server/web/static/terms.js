// A lot's terms as a bidder needs them before bidding, and its outcome as the rules
// publish it: sold to which plate and name at what price, or 流拍 with the reserve revealed
// and checked against the commitment published when the lot was created.
import { $, api, dateTime, money, t } from "/static/openbid.js";

function row(list, label, value) {
  const term = document.createElement("dt"), said = document.createElement("dd");
  term.textContent = label;
  said.textContent = value;
  list.append(term, said);
  return said;
}

const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k]);

export function showTerms(snapshot) {
  const c = snapshot.terms, unit = c.quote_unit, list = $("terms");
  if (!c) return;
  list.replaceChildren();
  row(list, t("mode"), `${t("modes")[c.mode]} · ${t("categories")[c.category]}`);
  if (c.preset) row(list, t("presetL"), t("presets")[c.preset] ?? c.preset);
  row(list, t("startPriceT"), money(c.start_price, unit));
  if (c.mode !== "dutch") row(list, t("incrementT"), money(c.increment, unit));
  if (c.quantity) {  // sold by quantity (排污权): shared among the highest unit prices
    const amount = (n) => `${n} ${c.quantity_unit}`;
    row(list, t("quantityT"), amount(c.quantity));
    row(list, t("quantityAsk"), fill(t("quantityRuleT"), { min: amount(c.min_quantity ?? 1), step: amount(c.quantity_step ?? 1) }));
  }
  row(list, t("depositT"), money(c.deposit));
  row(list, t("applyEnds"), dateTime(c.apply_ends_at));
  row(list, t("depositEnds"), dateTime(c.deposit_ends_at));
  row(list, t("opensAtT"), dateTime(c.opens_at));
  if (c.signatures && c.signatures !== "off") row(list, t("signaturesL"), t("signatureModes")[c.signatures]);
  if (c.mode !== "dutch") row(list, t("freeEnds")[c.mode], dateTime(c.free_ends_at));
  if (c.mode === "listing") {
    row(list, t("phases").inquiry, fill(t("inquiryT"), { s: c.inquiry_s }));
    const rule = t("entryRules")[c.entry_rule];
    row(list, t("phases").limited, c.min_continued > 1 ? `${rule}；${fill(t("minContinued"), { n: c.min_continued })}` : rule);
  }
  if (c.mode === "listing" || c.mode === "auction") {
    row(list, t("countdown"), fill(t("countdownT"), { s: c.countdown_s }));
  }
  if (c.cap !== null && c.cap !== undefined) {
    const s = c.after_cap_s ?? c.countdown_s;
    row(list, t("capT"), `${money(c.cap, unit)}：${fill(t("afterCaps")[c.after_cap], { s })}。${t("capWaits")}`);
  }
  if (c.mode === "dutch") {
    row(list, t("modes").dutch, fill(t("dutchT"), { tick: c.dutch_tick_s, step: money(c.dutch_step, unit), floor: money(c.dutch_floor, unit) }));
  } else {
    row(list, t("reserveT"), c.has_reserve ? t("reserveYes") : t("reserveNo"));
  }
  for (const [label, text] of Object.entries(c.particulars ?? {})) row(list, label, text);
}

async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// `created`: the lot's created entry (its reserve commitment), when the page has it.
export async function showOutcome(lotId, snapshot, created) {
  const answer = await api(`/api/lots/${lotId}/result`);
  if (answer.status !== 200) return;
  const r = answer.body, unit = snapshot.quote_unit, list = $("outcome");
  list.replaceChildren();
  row(list, t("outcome"), t(r.outcome)).className = `outcome ${r.outcome}`;
  if (r.outcome === "sold" && r.allocated) {  // several winners, each with its confirmation
    const c = snapshot.terms;
    for (const share of r.allocated) {
      const said = row(list, `${t("winner")} ${share.plate} · ${share.name}`,
        `${money(share.price, unit)} × ${share.quantity} ${c.quantity_unit}，${t("amountT")} ${money(share.amount, "元")} `);
      const link = Object.assign(document.createElement("a"), { textContent: t("confirmationDoc"),
        href: `/api/lots/${lotId}/confirmation.pdf?plate=${encodeURIComponent(share.plate)}` });
      said.append(link);
    }
  } else if (r.outcome === "sold") {
    row(list, t("winner"), r.winner_plate);
    row(list, t("winnerName"), r.winner_name ?? t("none"));
    row(list, t("dealPrice"), money(r.price, unit));
  } else if (r.outcome === "terminated") {
    row(list, t("terminatedBy"), r.reason ?? t("none"));
  } else {
    row(list, t("reason"), snapshot.leader ? t("failedBelowReserve") : t("failedNoBid"));
  }
  if (r.lottery_plates) row(list, t("lotteryAmong"), r.lottery_plates.join("、"));
  if (r.lottery_share) row(list, t("lotteryShare"), r.lottery_share);
  if (r.reserve === null || r.reserve === undefined) {
    row(list, t("reserveT"), t("noReserve"));
  } else {
    const said = row(list, t("reserveRevealed"), money(r.reserve, unit));
    if (created?.reserve_commitment && crypto.subtle) {
      const ok = (await sha256(`${r.reserve}:${r.reserve_salt}`)) === created.reserve_commitment;
      said.textContent += ` · ${ok ? t("commitmentOk") : t("commitmentBad")}`;
      said.className = ok ? "checked" : "mismatch";
    }
  }
  $("outcomesection").hidden = false;
}
