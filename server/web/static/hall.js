// The public hall (`/`): the day's lots and openings, refreshed every few seconds, each
// with a link to watch it and to put it on the big screen.
import {
  $, ServerClock, api, beijingDay, headCells, codeMessage, dateTime, duration, labelPage, money, named,
  phaseName, t,
} from "/static/openbid.js";

const clock = new ServerClock();
const REFRESH_MS = 5000;
let shown = null;

function cells(row, texts) {
  for (const text of texts) {
    const cell = document.createElement("td");
    if (text instanceof Node) cell.append(text); else cell.textContent = text;
    row.append(cell);
  }
  return row;
}

function links(path, title) {
  const span = document.createElement("span");
  const watch = Object.assign(document.createElement("a"), { href: path, textContent: t("watch") });
  watch.setAttribute("aria-label", `${t("watch")}: ${title}`);
  const screen = Object.assign(document.createElement("a"), { href: `${path}?screen=1`, textContent: t("bigScreen") });
  span.append(watch, " · ", screen);
  return span;
}

function empty(body, columns) {
  const row = document.createElement("tr");
  const cell = Object.assign(document.createElement("td"), { colSpan: columns, textContent: t("nothingToday") });
  row.append(cell);
  body.append(row);
}

function show(hall) {
  shown = hall;
  const lots = $("lots"), openings = $("openings");
  lots.replaceChildren();
  openings.replaceChildren();
  for (const lot of hall.lots) {
    const row = cells(document.createElement("tr"), [
      lot.title, named("modes", lot.mode), phaseName(lot.phase), money(lot.price, lot.quote_unit),
      lot.leader ?? t("none"), "", links(`/lots/${lot.lot_id}`, lot.title),
    ]);
    row.dataset.lot = lot.lot_id;
    row.children[3].className = "money";
    lots.append(row);
  }
  for (const opening of hall.openings) {
    const row = cells(document.createElement("tr"), [
      opening.title, dateTime(opening.bid_deadline), named("openingPhases", opening.phase),
      opening.envelopes ?? t("none"), opening.signed_in ?? t("none"),
      links(`/openings/${opening.opening_id}`, opening.title),
    ]);
    row.dataset.opening = opening.opening_id;
    openings.append(row);
  }
  if (!hall.lots.length) empty(lots, 7);
  if (!hall.openings.length) empty(openings, 6);
  headCells(lots);
  headCells(openings);
  tick();
}

function tick() {
  const now = clock.now();
  for (const lot of shown?.lots ?? []) {
    const cell = document.querySelector(`tr[data-lot="${lot.lot_id}"] td:nth-child(6)`);
    if (cell) cell.textContent = lot.deadline !== null && now !== null ? duration(lot.deadline - now) : t("none");
  }
}

async function load() {
  const day = $("day").value;
  const answer = await api(day ? `/api/hall?day=${day}` : "/api/hall");
  if (answer.status !== 200) {
    $("message").textContent = codeMessage(answer.body.code);
    return;
  }
  clock.seen(answer.body.server_now);
  if (!day) $("day").value = beijingDay(answer.body.server_now);
  $("message").textContent = "";
  show(answer.body);
}

labelPage();
$("day").onchange = load;
load();
setInterval(load, REFRESH_MS);
setInterval(tick, 500);
