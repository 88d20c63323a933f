// The staff console (`/console`): the host creates lots and openings from forms that mirror
// their configs (the server's validation message lands beside its field), registers bidders
// and hands out their links, confirms deposits, opens the opening's host view, downloads
// results and archives. The supervisor signs in with their own token and sees the same,
// read-only. The token is kept for this tab only (sessionStorage).
import {
  $, api, beijingInput, headCells, codeMessage, dateTime, download, labelPage, money, named, parseBeijing,
  parseMoney, phaseName, say, staffToken, t,
} from "/static/openbid.js";

const REFRESH_MS = 5000;
const state = { role: null, hall: null, selected: null, now: null };

function options(select, group, values) {
  select.replaceChildren(...values.map((value) =>
    Object.assign(document.createElement("option"), { value, textContent: group ? named(group, value) : t(value) })));
}

// ---- signing in --------------------------------------------------------------------------

async function signIn(token) {
  const answer = await api("/api/whoami", { token });
  if (answer.status !== 200) {
    sessionStorage.removeItem("openbid.staff");
    return say(codeMessage(answer.body.code));
  }
  sessionStorage.setItem("openbid.staff", token);
  state.role = answer.body.role;
  state.now = answer.body.server_now;
  $("rolename").textContent = named("roles", state.role);
  $("rolename").hidden = false;
  $("signinform").hidden = true;
  $("signout").hidden = false;
  $("desk").hidden = false;
  document.body.classList.toggle("readonly", state.role !== "admin");
  say("");
  defaults();
  await load();
  const [kind, id] = location.hash.slice(1).split("=");
  if (id && (kind === "lot" || kind === "opening")) select(kind, id);
}

function signOut() {
  sessionStorage.removeItem("openbid.staff");
  location.hash = "";
  location.reload();
}

// ---- the day's items ---------------------------------------------------------------------

async function load() {
  const answer = await api("/api/hall");
  if (answer.status !== 200) return;
  state.hall = answer.body;
  state.now = answer.body.server_now;
  const rows = [
    ...answer.body.lots.map((lot) => ["lot", lot.lot_id, lot.title, phaseName(lot.phase), lot.opens_at]),
    ...answer.body.openings.map((o) => ["opening", o.opening_id, o.title, named("openingPhases", o.phase), o.bid_deadline]),
  ];
  $("items").replaceChildren(...rows.map(([kind, id, title, phase, at]) => {
    const tr = document.createElement("tr");
    for (const text of [title, phase, dateTime(at)]) tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    const open = Object.assign(document.createElement("button"), { type: "button", textContent: t("open") });
    open.setAttribute("aria-label", `${t("open")}: ${title}`);
    open.onclick = () => select(kind, id);
    const cell = document.createElement("td");
    cell.append(open);
    tr.append(cell);
    tr.dataset[kind] = id;
    return tr;
  }));
  headCells($("items"));
  if (state.selected) await showSelected();
}

async function select(kind, id) {
  state.selected = { kind, id };
  history.replaceState(null, "", `#${kind}=${id}`);
  $("lotlink").hidden = true;
  $("openinglink").hidden = true;
  await showSelected();
}

async function showSelected() {
  const { kind, id } = state.selected;
  $("lotpanel").hidden = kind !== "lot";
  $("openingpanel").hidden = kind !== "opening";
  $("signalspanel").hidden = state.role !== "supervisor";
  if (state.role === "supervisor") showSignals(kind, id);
  return kind === "lot" ? showLot(id) : showOpening(id);
}

// ---- 围串标预警: the supervisor's collusion signals, each with its evidence ----------------

async function showSignals(kind, id) {
  const answer = await api(`/api/${kind}s/${id}/signals`, { token: staffToken() });
  const flags = answer.status === 200 ? answer.body.flags : [];
  $("nosignals").hidden = flags.length > 0;
  $("signals").replaceChildren(...flags.map((f) => {
    const tr = document.createElement("tr");
    tr.dataset.kind = f.kind;
    for (const text of [named("signalKinds", f.kind), f.bidders.join(", "), evidence(f)]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    }
    return tr;
  }));
  headCells($("signals"));
}

function evidence(f) {
  const e = f.evidence;
  if (e.actions) {
    const what = ["address", "device", "payer"].filter((k) => e[k]).map((k) => `${t(k + "Seen")}: ${e[k]}`);
    const done = e.actions.map((a) => `${a.bidder} ${named("tracedActions", a.action)} ${dateTime(a.ts)}`);
    return [...what, ...done].join("; ");
  }
  if (e.prices) return `${e.prices.map((p) => money(p)).join(", ")} (${t("priceStep")} ${money(e.step)})`;
  if (e.price !== undefined) return money(e.price);
  return Object.entries(e.bids || {}).map(([who, n]) => `${who}: ${n} ${t("bidsMade")}`).join("; ");
}

// ---- a lot -------------------------------------------------------------------------------

async function showLot(id) {
  const token = staffToken();
  const [lot, listed] = await Promise.all([api(`/api/lots/${id}`), api(`/api/lots/${id}/bidders`, { token })]);
  if (lot.status !== 200) return say(codeMessage(lot.body.code));
  const s = lot.body;
  $("lottitle").textContent = s.title;
  $("lotphase").textContent = phaseName(s.phase);
  $("lotprice").textContent = money(s.price, s.quote_unit);
  $("lotstaff").href = `/lots/${id}?staff=1`;
  $("lotwatch").href = `/lots/${id}`;
  $("lotscreen").href = `/lots/${id}?screen=1`;
  const bidders = listed.status === 200 ? listed.body.bidders : [];
  $("lotbidders").replaceChildren(...bidders.map((b) => bidderRow(id, b, s.deposit)));
  await Promise.all([...$("lotbidders").rows].map((row, i) => showSubAccount(id, bidders[i], row)));
  await showRefunds(id);
}

// ---- money: each bidder's sub-account, and after the close the refunds (原路退还) --------

async function showSubAccount(lotId, b, row) {
  const answer = await api(`/api/lots/${lotId}/bidders/${b.bidder_id}/account`, { token: staffToken() });
  row.children[4].textContent = answer.status === 200 ? answer.body.account : t("none");
}

async function showRefunds(lotId) {
  const answer = await api(`/api/lots/${lotId}/refunds`, { token: staffToken() });
  const refunds = answer.status === 200 ? answer.body.refunds : [];
  $("moneysection").hidden = refunds.length === 0;
  $("refunds").replaceChildren(...refunds.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.refund = r.refund_id;
    const status = r.held ? t("heldT") : named("refundStatuses", r.status);
    const due = r.due === null ? t("none") : r.due + (r.calendar_known ? "" : ` (${t("calendarUnknown")})`);
    for (const text of [r.plate, r.name ?? t("none"), money(r.amount), t(r.kind), r.kind === "guarantee" ? t("released") : r.to_account ?? t("none"), status, due]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    }
    tr.children[2].className = "money";
    return tr;
  }));
  headCells($("refunds"));
}

// 合同签订 by the host; 违约 by the host and the supervisor (the first call waits for the other)
async function settle(action) {
  const { id } = state.selected;
  const body = action === "default" ? { reason: t("defaulted") } : {};
  const answer = await api(`/api/lots/${id}/${action}`, { method: "POST", body, token: staffToken() });
  if (answer.status === 202) say(t("waitsForOther"), "ok");
  else if (answer.status !== 200) return say(codeMessage(answer.body.code));
  else say(t("accepted"), "ok");
  await showRefunds(id);
}

function bidderRow(lotId, b, lotDeposit) {
  const tr = document.createElement("tr");
  tr.dataset.plate = b.plate;
  const name = b.name ?? t("nameSealed");  // hidden from staff until the close (R9)
  const texts = [b.plate, name, money(b.deposit), b.qualified ? t("qualified") : t("unqualified")];
  for (const text of [...texts, ""]) tr.append(Object.assign(document.createElement("td"), { textContent: text }));
  tr.children[2].className = "money";  // the last: its sub-account, once asked (showSubAccount)
  const cell = document.createElement("td");
  cell.className = "admin";
  if (!b.qualified) cell.append(depositForm(lotId, b, lotDeposit));
  tr.append(cell);
  return tr;
}

function depositForm(lotId, b, lotDeposit) {
  const form = document.createElement("form");
  form.className = "row";
  form.innerHTML = `<label><span></span><input name="amount" inputmode="decimal" size="12"></label>
    <label><span></span><select name="kind"></select></label>
    <label><span></span><input name="ref" size="12" autocomplete="off"></label>
    <button type="submit"></button>`;
  const spans = form.querySelectorAll("span");
  ["amount", "depositKind", "bankRef"].forEach((key, i) => { spans[i].textContent = t(key); });
  form.amount.value = ((lotDeposit - b.deposit) / 100).toFixed(2);
  options(form.kind, null, ["cash", "guarantee"]);
  form.querySelector("button").textContent = t("confirmDeposit");
  form.onsubmit = async (e) => {
    e.preventDefault();
    const amount = parseMoney(form.amount.value);
    if (amount === null || amount <= 0) return say(`${t("amount")}: ${t("money")}`);
    const body = { amount, kind: form.kind.value, ref: form.ref.value.trim() };
    const answer = await api(`/api/lots/${lotId}/bidders/${b.bidder_id}/deposit`, { method: "POST", body, token: staffToken() });
    if (answer.status !== 200) return say(codeMessage(answer.body.code) + (answer.body.field ? ` (${answer.body.field}: ${answer.body.message})` : ""));
    say(answer.body.qualified ? `${b.plate}: ${t("qualified")}` : `${b.plate}: ${money(answer.body.total)}`, "ok");
    await showLot(lotId);
  };
  return form;
}

// ---- an opening --------------------------------------------------------------------------

async function showOpening(id) {
  const token = staffToken();
  const [opening, listed] = await Promise.all([api(`/api/openings/${id}`, { token }), api(`/api/openings/${id}/bidders`, { token })]);
  if (opening.status !== 200) return say(codeMessage(opening.body.code));
  const v = opening.body;
  $("openingtitle").textContent = v.title;
  $("openingphase").textContent = named("openingPhases", v.phase);
  $("openinghost").textContent = state.role === "admin" ? t("hostOpening") : t("superviseOpening");
  $("openinghost").href = `/openings/${id}?staff=1`;
  $("openingwatch").href = `/openings/${id}`;
  $("openingscreen").href = `/openings/${id}?screen=1`;
  const bidders = listed.status === 200 ? listed.body.bidders : [];
  $("openingbidders").replaceChildren(...bidders.map((b) => {
    const tr = document.createElement("tr");
    tr.dataset.plate = b.plate;
    for (const text of [b.plate, b.name, b.envelope ? "✓" : "—", b.signed_in ? "✓" : "—", named("statuses", b.status)]) {
      tr.append(Object.assign(document.createElement("td"), { textContent: text }));
    }
    return tr;
  }));
}

// ---- registering bidders -----------------------------------------------------------------

async function register(kind, form) {
  const { id } = state.selected;
  const path = kind === "lot" ? `/api/lots/${id}/bidders` : `/api/openings/${id}/bidders`;
  const body = { name: form.elements.name.value.trim() };
  const key = form.elements.public_key?.value.trim();
  if (key) body.public_key = key + "\n";  // the bidder's, made at /keys or by its CA
  const answer = await api(path, { method: "POST", body, token: staffToken() });
  if (answer.status !== 201) return say(answer.body.message ?? codeMessage(answer.body.code));
  const page = kind === "lot" ? "lots" : "openings";
  const box = $(`${kind}link`);
  box.querySelector("input").value = `${location.origin}/${page}/${id}#token=${answer.body.token}`;
  box.querySelector("p").textContent = `${t("registered")} (${t("plateNo")} ${answer.body.plate})`;
  box.hidden = false;
  form.reset();
  await showSelected();
}

// ---- creating ----------------------------------------------------------------------------

function defaults() {
  const now = state.now;
  options($("lotform").category, "categories", ["land", "property", "emission", "other"]);
  options($("lotform").mode, "modes", ["auction", "listing", "sealed", "dutch"]);
  options($("lotform").after_cap, null, ["lottery", "secondary"]);
  options($("lotform").preset, "presets", ["", "land", "shantou", "three_three", "gtmap", "qinzhou", "chongqing"]);
  options($("lotform").listing_days, "listingDays", ["working_days", "calendar_dates", "elapsed"]);
  options($("lotform").signatures, "signatureModes", ["off", "optional", "required"]);
  options($("lotform").entry_rule, "entryRuleNames", ["", "any_qualified", "quoted"]);
  $("lotform").opens_at.value = beijingInput(now);
  $("lotform").free_ends_at.value = beijingInput(now + 30 * 60000);
  $("openingform").bid_deadline.value = beijingInput(now + 60 * 60000);
  for (const form of [$("lotform"), $("openingform")]) {
    for (const input of form.querySelectorAll("input, select, textarea")) {
      const error = Object.assign(document.createElement("span"), { className: "fielderror", id: `err-${form.id}-${input.name}` });
      error.setAttribute("aria-live", "polite");
      input.setAttribute("aria-describedby", error.id);
      input.after(error);
    }
  }
}

// The config from the form, field by field: {config} or {errors: {field: message}}.
function readForm(form) {
  const config = {}, errors = {};
  for (const input of form.querySelectorAll("input, select, textarea")) {
    const kind = input.dataset.kind ?? "text", raw = input.value.trim();
    if (kind === "money?" && raw === "") { config[input.name] = null; continue; }
    if (kind.endsWith("?") && raw === "") continue;  // left out: the default, or the preset's
    if (kind === "pairs") {  // 宗地面积：12,345.6 ㎡, one a line
      const lines = raw.split("\n").map((line) => line.trim()).filter(Boolean);
      const pairs = lines.map((line) => line.split(/[:：]/));
      if (pairs.some((p) => p.length < 2 || !p[0].trim())) errors[input.name] = t("pairs");
      else if (pairs.length) config[input.name] = Object.fromEntries(pairs.map(([k, ...v]) => [k.trim(), v.join(":").trim()]));
      continue;
    }
    if (kind.startsWith("money")) {
      const fen = parseMoney(raw);
      if (fen === null) errors[input.name] = t("money"); else config[input.name] = fen;
    } else if (kind.startsWith("whole")) {
      if (!/^\d+$/.test(raw)) errors[input.name] = t("whole"); else config[input.name] = Number(raw);
    } else if (kind.startsWith("time")) {
      const ms = parseBeijing(raw);
      if (ms === null) errors[input.name] = t("dateTime"); else config[input.name] = ms;
    } else {
      config[input.name] = raw;
    }
  }
  return { config, errors };
}

function showErrors(form, errors) {
  for (const span of form.querySelectorAll(".fielderror")) span.textContent = "";
  for (const input of form.querySelectorAll("input, select, textarea")) input.removeAttribute("aria-invalid");
  for (const [field, message] of Object.entries(errors)) {
    const span = $(`err-${form.id}-${field}`);
    if (span) span.textContent = message; else say(`${field}: ${message}`);
    form.elements[field]?.setAttribute("aria-invalid", "true");
  }
  const first = Object.keys(errors)[0];
  if (first) form.elements[first]?.focus();
}

async function create(kind, form) {
  const { config, errors } = readForm(form);
  showErrors(form, errors);
  if (Object.keys(errors).length) return;
  const answer = await api(kind === "lot" ? "/api/lots" : "/api/openings", { method: "POST", body: config, token: staffToken() });
  if (answer.status === 422 && answer.body.field) return showErrors(form, { [answer.body.field]: answer.body.message });
  if (answer.status !== 201) return say(answer.body.message ?? codeMessage(answer.body.code));
  const warnings = answer.body.warnings ?? [];  // the statute's findings (R14): look again
  if (warnings.length) say(`${t("createdWarn")} ${warnings.map((w) => w.message).join("；")}`, "error");
  else say(t("created"), "ok");
  form.closest("details").open = false;
  await load();
  await select(kind, answer.body[`${kind}_id`]);
}

// ---- wiring ------------------------------------------------------------------------------

function start() {
  labelPage();
  $("signinform").onsubmit = (e) => { e.preventDefault(); signIn($("stafftoken").value.trim()); };
  $("signout").onclick = signOut;
  $("lotform").onsubmit = (e) => { e.preventDefault(); create("lot", e.target); };
  $("openingform").onsubmit = (e) => { e.preventDefault(); create("opening", e.target); };
  $("lotregister").onsubmit = (e) => { e.preventDefault(); register("lot", e.target); };
  $("openingregister").onsubmit = (e) => { e.preventDefault(); register("opening", e.target); };
  for (const box of [$("lotlink"), $("openinglink")]) {
    box.querySelector("button").onclick = () => navigator.clipboard?.writeText(box.querySelector("input").value);
  }
  const id = () => state.selected.id;
  $("lotresult").onclick = () => download(`/api/lots/${id()}/result`, staffToken(), `lot-${id()}-result.json`).then(failed);
  $("lotaudit").onclick = () => download(`/api/lots/${id()}/audit`, staffToken(), `lot-${id()}-audit.json`).then(failed);
  $("lotcontract").onclick = () => settle("contract");
  $("lotdefault").onclick = () => settle("default");
  $("openingaudit").onclick = () => download(`/api/openings/${id()}/audit`, staffToken(), `opening-${id()}-audit.json`).then(failed);
  $("openingarchive").onclick = () => download(`/api/openings/${id()}/archive`, staffToken(), `opening-${id()}.zip`).then(failed);
  const kept = staffToken();
  if (kept) signIn(kept);
  setInterval(() => { if (state.role) load(); }, REFRESH_MS);
}

function failed(answer) {
  if (answer.status !== 200) say(answer.body.message ?? codeMessage(answer.body.code));
}

start();
