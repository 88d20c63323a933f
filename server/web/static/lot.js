// A lot's page: the public watch (`/lots/{lot}`), the bidder room (the same page with
// `#token=…` from the bidder's link; the token never reaches the server's logs), the staff
// view (`?staff=1`, with the console's token: every entry, live) and the big screen
// (`?screen=1`: large type, no controls).
import {
  $, LiveRoom, api, offerTokenSignIn, clockTime, codeMessage, duration, labelPage, money, phaseName, roomToken, saveBlob, say,
  sayAnswer, showConnection, t,
} from "/static/openbid.js";
import { sign } from "/static/keys.js";
import { showOutcome, showTerms } from "/static/terms.js";

const lotId = location.pathname.split("/")[2];
const token = roomToken();
const state = { snapshot: null, points: [], plate: null, qualified: false, bidSeq: 0, role: null,
  drawnAt: null, created: null, standings: new Map(), mine: null };
const PRICE_PHASES = ["free", "limited", "sealed"];  // where a price bid may be sent

// A lot sold by quantity (排污权): bids of a unit price and a quantity; several win.
const byQuantity = (snapshot) => Boolean(snapshot.terms?.quantity);
const amountOf = (quantity, snapshot) => `${quantity} ${snapshot.terms?.quantity_unit ?? ""}`;

function show(snapshot) {
  const unit = snapshot.quote_unit;
  $("quantitylabel").hidden = $("standingsection").hidden = !byQuantity(snapshot);
  $("title").textContent = snapshot.title;
  $("phase").textContent = snapshot.awaiting_draw ? t("awaitingDraw") : phaseName(snapshot.phase);
  $("price").textContent = money(snapshot.price, unit);
  $("leader").textContent = snapshot.leader ?? t("none");
  $("next").textContent = snapshot.phase === "closed" ? t("none") : money(snapshot.next_min, unit);
  $("continue").hidden = !(state.plate && snapshot.phase === "inquiry");
  const accepting = snapshot.phase === "dutch" || (snapshot.phase === "capped" && !snapshot.awaiting_draw);
  $("accept").hidden = !(state.plate && accepting);
  $("draw").hidden = !(state.role === "supervisor" && snapshot.awaiting_draw);
  // after the close no bid control at all; outside the price phases none that can send
  $("bidform").hidden = !state.plate || snapshot.phase === "closed";
  const open = PRICE_PHASES.includes(snapshot.phase);
  for (const id of ["send", "up", "down", "amount"]) $(id).disabled = !open;
  const amount = $("amount");
  if (!open) amount.value = "";
  else if (document.activeElement !== amount && snapshot.next_min !== null) {
    amount.value = (snapshot.next_min / 100).toFixed(2);
  }
}

const OUTCOME_TONE = { sold: "ok", failed: "", terminated: "error" };

function tick(room) {
  const s = state.snapshot, now = room.clock.now();
  const left = s && s.deadline !== null && now !== null ? s.deadline - now : null;
  $("countdown").textContent = duration(left);
  $("countdown").classList.toggle("urgent", left !== null && left < 60000);
  if (now !== null && Math.floor(now / 1000) !== state.drawnAt) {  // the line moves each second
    state.drawnAt = Math.floor(now / 1000);
    draw(now);
  }
}

function apply(event) {
  const s = state.snapshot;
  if (!s) return;
  if (state.role === "admin" || state.role === "supervisor") logEntry(event);
  s.seq = event.seq;
  if (event.kind === "bid" && event.price !== undefined && event.plate !== undefined) {
    s.deadline = event.deadline ?? s.deadline;
    if (event.quantity === undefined) {
      s.price = event.price; s.leader = event.plate; s.next_min = event.price + s.increment;
    } else {
      share(s, event);
    }
    state.points.push([event.ts, event.price]);
    addHistory(event);
    state.drawnAt = null;  // drawn on the next tick
  } else if (event.kind === "phase") {
    s.phase = event.phase; s.deadline = event.deadline;
  } else if (event.kind === "pool") {  // the cap lottery's acceptors, fixed: the draw is next
    s.deadline = null; s.awaiting_draw = true;
    say(`${t("poolFixed")}: ${event.plates.join("、")}`, "ok");
  } else if (event.kind === "suspended") {  // 中止: the clock stops; why, on the message line
    s.phase = "suspended"; s.deadline = null;
    const why = { platform: "platformFault", guarantee_revoked: "guaranteeRevoked" }[event.reason];
    say(`${phaseName("suspended")}: ${event.by === "platform" ? t(why) : event.reason}`, "error");
  } else if (event.kind === "resumed") {
    s.phase = event.phase; s.deadline = event.deadline;
    say(`${t("resumed")}: ${event.reason}`, "ok");
  } else if (event.kind === "closed") {
    s.phase = "closed"; s.deadline = null; s.awaiting_draw = false;
    say(`${t("outcome")}: ${t(event.outcome)}`, OUTCOME_TONE[event.outcome]);
    showOutcome(lotId, s, state.created);
  } else if (event.kind === "created") {
    state.created = event;
  } else if (event.kind === "deposit" && event.plate === state.plate) {
    state.qualified = event.qualified; showMe();
  }
  show(s);
}

function addHistory(event) {
  const row = document.createElement("tr");
  row.innerHTML = `<td>${clockTime(event.ts)}</td><td></td><td class="money"></td>`;
  row.children[1].textContent = event.plate;
  const asked = event.quantity === undefined ? "" : ` × ${amountOf(event.quantity, state.snapshot)}`;
  row.children[2].textContent = money(event.price) + asked;
  $("history").prepend(row);
}

// A bid for a share replaces its bidder's standing one. The lot's price is the highest
// standing unit price; the next a bidder may bid is above its own, else the start price.
function share(s, event) {
  state.standings.set(event.plate, [event.price, event.quantity, event.seq]);
  if (s.price === null || event.price > s.price) { s.price = event.price; s.leader = event.plate; }
  if (event.plate === state.plate) state.mine = { price: event.price, quantity: event.quantity };
  s.next_min = state.mine ? state.mine.price + s.increment : s.terms.start_price;
  showStandings(s);
}

// The standing bids as the close would share them now (the reserve is secret until then).
function showStandings(s) {
  const ranked = [...state.standings].sort(([, a], [, b]) => b[0] - a[0] || a[2] - b[2]);
  let left = s.terms.quantity;
  $("standings").replaceChildren(...ranked.map(([plate, [price, quantity]], i) => {
    const got = Math.min(quantity, left);
    left -= got;
    const row = document.createElement("tr");
    for (const text of [i + 1, plate, money(price), amountOf(quantity, s), got ? amountOf(got, s) : t("none")]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    row.children[2].className = "money";
    row.classList.toggle("mine", plate === state.plate);
    return row;
  }));
}

// The staff's view: every entry as it is logged, refusals and deposits included.
function logEntry(event) {
  const row = document.createElement("tr");
  const skip = new Set(["type", "seq", "ts", "kind", "server_now", "pub"]);
  const detail = Object.entries(event).filter(([k]) => !skip.has(k)).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
  for (const text of [event.seq, clockTime(event.ts), event.kind, detail.join(" ")]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  $("entries").prepend(row);
}

// The price over time: a step line (a price holds until the next bid) on to now while the
// lot runs, and a dot for each bid, so the first bid shows too.
function draw(now) {
  const svg = $("chart"), pts = state.points;
  if (pts.length === 0) { svg.innerHTML = ""; return; }
  const last = pts.at(-1)[0];
  const end = state.snapshot?.phase === "closed" ? last : Math.max(now, last);
  const t0 = pts[0][0], span = Math.max(end - t0, 1);
  const prices = pts.map((p) => p[1]);
  const lo = Math.min(...prices), range = Math.max(...prices) - lo;
  const x = (ts) => 5 + (590 * (ts - t0)) / span;
  const y = (price) => (range ? 170 - (160 * (price - lo)) / range : 90);
  const line = pts.map(([ts, price], i) => (i ? `H${x(ts)}V${y(price)}` : `M${x(ts)} ${y(price)}`));
  const dots = pts.map(([ts, price]) => `M${x(ts)} ${y(price)}h0`);
  svg.innerHTML = `<path class="line" d="${line.join("")}H${x(end)}"/><path class="dots" d="${dots.join("")}"/>`;
  svg.setAttribute("aria-label", `${t("chart")}: ${money(prices.at(-1))}`);
}

function showMe() {
  $("me").hidden = false;
  $("plate").textContent = state.plate;
  $("qualified").textContent = state.qualified ? t("qualified") : t("unqualified");
  $("minesection").hidden = false;
  if (!state.qualified && state.bidderId && !state.account) showAccount();
}

// The bidder's own sub-account (虚拟子账户): where its deposit is to be paid, from the
// account it registered; asked for only while it is not yet qualified.
async function showAccount() {
  state.account = "…";
  const answer = await api(`/api/lots/${lotId}/bidders/${state.bidderId}/account`, { token });
  state.account = answer.status === 200 ? answer.body.account : null;
  if (state.account) $("subaccount").textContent = `${t("subAccount")}: ${state.account.replace(/(\d{4})(?=\d)/g, "$1 ")}`;
}

function step(room, sign) {
  const s = state.snapshot, current = Math.round(parseFloat($("amount").value) * 100);
  const base = Number.isFinite(current) ? current : s.next_min;
  $("amount").value = (Math.max(s.next_min, base + sign * s.increment) / 100).toFixed(2);
}

function bid(room) {
  const price = Math.round(parseFloat($("amount").value) * 100);
  if (!Number.isFinite(price)) return say(codeMessage("BAD_MESSAGE"), "error");
  const s = state.snapshot, unit = s.quote_unit;
  const quantity = byQuantity(s) ? Number($("quantity").value) : undefined;
  if (quantity !== undefined && !(Number.isInteger(quantity) && quantity > 0)) {
    return say(codeMessage("BAD_QUANTITY"), "error");
  }
  $("confirmtext").textContent = quantity === undefined
    ? t("confirmText").replace("{price}", money(price, unit))
    : t("confirmShare").replace("{price}", money(price, unit)).replace("{quantity}", amountOf(quantity, s));
  const dialog = $("confirm");
  dialog.onclose = async () => {
    if (dialog.returnValue !== "yes") return;
    const bidId = `${Date.now().toString(36)}-${++state.bidSeq}`;
    const asked = quantity === undefined ? {} : { quantity };
    const sig = await signed("bid", { bid_id: bidId, price, ...asked });
    if (sig === false) return;
    const row = document.createElement("tr");
    row.dataset.bid = bidId;
    row.innerHTML = `<td>${clockTime(room.clock.now() ?? Date.now())}</td><td class="money"></td><td>${t("sent")}</td><td></td>`;
    row.children[1].textContent = money(price) + (quantity === undefined ? "" : ` × ${amountOf(quantity, s)}`);
    $("mine").prepend(row);
    if (!room.send({ type: "bid", bid_id: bidId, price, ...asked, ...(sig ? { sig } : {}) })) say(t("down"), "error");
  };
  dialog.showModal();
  $("yes").focus();
}

// The bidder's signature of a command, where the lot takes signatures (its terms say so):
// null when it takes none, false (and the bidder told why) when it needs one this browser
// cannot make.
async function signed(command, fields = {}) {
  const mode = state.snapshot?.terms?.signatures ?? "off";
  if (mode === "off") return null;
  const sig = await sign(lotId, state.plate, command, fields);
  if (sig === null && mode === "required") { say(t("needKey"), "error"); return false; }
  return sig;
}

// A bid's answer also goes in its row of "my bids", with its receipt: the server's signed
// word of what it logged, kept in this browser and saved as a file for `openbid verify --receipt`.
function answered(m) {
  const text = sayAnswer(m);
  if (m.receipt) keepReceipt(m.receipt);
  const row = m.command ? null : document.querySelector(`tr[data-bid="${CSS.escape(m.bid_id ?? "")}"]`);
  if (!row) return;
  row.children[2].textContent = text;
  if (m.receipt) {
    const link = Object.assign(document.createElement("button"), { type: "button", className: "receipt", textContent: t("receipt") });
    link.onclick = () => saveBlob(new Blob([m.receipt], { type: "text/plain" }), `receipt-${lotId}-${m.bid_id}.txt`);
    row.children[3].replaceChildren(link);
  }
}

function keepReceipt(note) {
  const key = `openbid:receipts:${lotId}`;
  try {
    const kept = JSON.parse(localStorage.getItem(key) ?? "[]");
    if (!kept.includes(note)) localStorage.setItem(key, JSON.stringify([...kept, note]));
  } catch { /* storage full or refused: the file link still holds it */ }
}

// The staff's 中止 / resume / terminate: the host or the supervisor suspends alone; resume and
// terminate take both (the first call is answered 202: waiting for the other role).
async function staffAction(action) {
  const reason = $("staffreason").value.trim();
  if (!reason) return say(`${t("staffReason")}: ${codeMessage("BAD_MESSAGE")}`, "error");
  const answer = await api(`/api/lots/${lotId}/${action}`, { method: "POST", body: { reason }, token });
  if (answer.status === 202) return say(t("waitsForOther"), "ok");
  if (answer.status !== 200) return say(answer.body.message ?? codeMessage(answer.body.code), "error");
  say(t("accepted"), "ok");
}

// 摇号: the supervisor's share of the draw is made here, in the supervisor's browser, so
// that nobody who knows the lot's seed knows it before the pool is fixed (R8).
async function drawLottery() {
  const share = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const answer = await api(`/api/lots/${lotId}/draw`, { method: "POST", body: { share }, token });
  if (answer.status !== 200) return say(answer.body.message ?? codeMessage(answer.body.code), "error");
  say(`${t("winner")}: ${answer.body.winner_plate}`, "ok");
}

function start() {
  labelPage();
  offerTokenSignIn(Boolean(token));
  const room = new LiveRoom("lots", lotId, token, {
    state: showConnection,
    welcome: (m) => {
      state.snapshot = m.lot;
      state.role = m.role;
      $("staffsection").hidden = !["admin", "supervisor"].includes(m.role);
      if (m.plate) {
        state.plate = m.plate; state.bidderId = m.bidder_id; state.qualified = Boolean(m.lot.me?.qualified);
        showMe();
      }
      state.mine = m.lot.me?.standing ?? state.mine;
      if (state.mine && byQuantity(m.lot)) m.lot.next_min = state.mine.price + m.lot.increment;
      show(m.lot);
      showTerms(m.lot);
    },
    event: apply,
    answer: answered,
  });
  $("up").onclick = () => step(room, 1);
  $("down").onclick = () => step(room, -1);
  for (const command of ["continue", "accept"]) {
    $(command).onclick = async () => {
      const sig = await signed(command);
      if (sig !== false) room.send({ type: command, ...(sig ? { sig } : {}) });
    };
  }
  $("bidform").onsubmit = (e) => { e.preventDefault(); bid(room); };
  for (const action of ["suspend", "resume", "terminate"]) $(action).onclick = () => staffAction(action);
  $("draw").onclick = drawLottery;
  room.start();
  setInterval(() => tick(room), 200);
}

start();
