// OpenBid's browser side, shared by every page: language, money, times in Beijing time, the
// HTTP API, the server's clock and a live room over the contract's WebSocket
// (openbid.json.v1) that resumes with `since`. Written here, no dependencies.

import { CODES } from "/static/codes.js";
import { TEXT } from "/static/text.js";

export const LANGS = ["zh-CN", "en"];

export const $ = (id) => document.getElementById(id);

// The page's one message line, for a refusal ("error") or an answer ("ok").
export function say(text, kind = "error") {
  $("message").textContent = text;
  $("message").className = `message ${kind}`;
}

export function lang() {
  const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem("lang");
  return LANGS.includes(asked) ? asked : "zh-CN";
}

export function t(key) {
  return TEXT[lang()][key] ?? key;
}

export function phaseName(phase) {
  return TEXT[lang()].phases[phase] ?? phase;
}

// A word of a group: `named("statuses", "failed")`.
export function named(group, key) {
  return TEXT[lang()][group]?.[key] ?? key;
}

// Fill every [data-t] with its text and every [data-label] as its aria-label; the language
// button; `?screen=1` is the waiting hall's big screen (large type, no controls).
export function labelPage() {
  document.documentElement.lang = lang();
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-label]")) el.setAttribute("aria-label", t(el.dataset.label));
  const button = $("language");
  if (button) { button.textContent = t("language"); button.onclick = switchLanguage; }
  if (new URLSearchParams(location.search).get("screen")) document.body.classList.add("screen");
}

// A bidder without its link types its token: it goes where the link puts it, the fragment,
// which never reaches the server's logs.
export function offerTokenSignIn(hasToken) {
  const form = $("tokenform");
  form.hidden = hasToken || document.body.classList.contains("screen");
  form.onsubmit = (e) => {
    e.preventDefault();
    location.hash = `token=${encodeURIComponent($("tokeninput").value.trim())}`;
    location.reload();
  };
}

// The console's token (host or supervisor), kept for this browser tab only.
export function staffToken() {
  return sessionStorage.getItem("openbid.staff");
}

// A command's answer (ack or nack) on the message line, in the page's language; returns it.
export function sayAnswer(m) {
  const text = m.type === "ack" ? t("accepted") : codeMessage(m.code);
  say(text, m.type === "ack" ? "ok" : "error");
  return text;
}

// Who a room page speaks as: the bidder's token from its link's fragment, or with `?staff=1`
// the console's token; null for the public. The fragment is read once and taken out of the
// address (history, bookmarks, screenshots and shared screens keep no token); the token
// stays with this tab only, for a reload.
export function roomToken() {
  const query = new URLSearchParams(location.search);
  const place = `openbid.token.${location.pathname}`;
  const linked = new URLSearchParams(location.hash.slice(1)).get("token");
  if (linked) {
    sessionStorage.setItem(place, linked);
    history.replaceState(null, "", location.pathname + location.search);
  }
  if (query.get("staff")) return staffToken();
  if (query.get("screen")) return null;  // the waiting hall's screen is the public's
  return linked ?? sessionStorage.getItem(place);
}

// A room's connection state; why it ended, when resuming cannot help, on the message line.
export function showConnection(state, code) {
  $("connection").textContent = t(state);
  $("connection").className = `status ${state}`;
  if (code === 4401) say(codeMessage("UNAUTHORIZED"));
  if (code === 4404) say(codeMessage("NOT_FOUND"));
  if (code === 4009) say(t("replaced"));
}

// Closes after which resuming cannot help: a refused token, no such room, a newer session.
const FINAL_CLOSES = [4401, 4404, 4009];

// On a phone a `table.cards` shows each row as a card: every cell carries its column's name,
// which the stylesheet writes before the value.
export function headCells(tbody) {
  const heads = [...tbody.closest("table").querySelectorAll("thead th")].map((th) => th.textContent);
  for (const row of tbody.rows) {
    for (const [i, cell] of [...row.cells].entries()) {
      if (heads[i] && cell.colSpan === 1) cell.dataset.head = heads[i];
    }
  }
}

// This browser's own random id, kept in localStorage: sent with every call and hello, the
// server keeps it for the supervisor's collusion signals only (never shown to anyone else).
export function device() {
  try {
    let id = localStorage.getItem("openbid-device");
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id || "")) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem("openbid-device", id);
    }
    return id;
  } catch {
    return null; // storage refused (a private window): send none
  }
}

// A call of the HTTP API: {status, body}; messages come back in the page's language.
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { "accept-language": lang() };
  const id = device();
  if (id) headers["x-openbid-device"] = id;
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const type = response.headers.get("content-type") || "";
  return { status: response.status, body: type.includes("json") ? await response.json() : await response.blob() };
}

// Save a file the API returns (with the token it needs) under `name`.
export async function download(path, token, name) {
  const answer = await api(path, { token });
  if (answer.status !== 200) return answer;
  const blob = answer.body instanceof Blob ? answer.body
    : new Blob([JSON.stringify(answer.body, null, 2)], { type: "application/json" });
  saveBlob(blob, name);
  return answer;
}

export function saveBlob(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// Yuan as typed ("343800", "3,438.5") to fen, exactly (no floats); null if not an amount.
export function parseMoney(text) {
  const clean = String(text).replaceAll(",", "").trim();
  const found = /^(\d+)(?:\.(\d{1,2}))?$/.exec(clean);
  if (!found) return null;
  return Number(found[1]) * 100 + Number((found[2] ?? "").padEnd(2, "0"));
}

export function yuan(fen) {
  return (fen / 100).toFixed(2);
}

// The trading centre keeps Beijing time (UTC+8, no daylight saving) whatever the PC says.
const CST_MS = 8 * 3600 * 1000;

export function parseBeijing(text) {
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!found) return null;
  const [y, mo, d, h, mi, s] = found.slice(1).map((v) => Number(v ?? 0));
  return Date.UTC(y, mo - 1, d, h, mi, s) - CST_MS;
}

export function beijingInput(ms) {
  return new Date(ms + CST_MS).toISOString().slice(0, 16);
}

export function beijingDay(ms) {
  return new Date(ms + CST_MS).toISOString().slice(0, 10);
}

export function dateTime(ms) {
  if (ms === null || ms === undefined) return t("none");
  return new Date(ms).toLocaleString(lang(), { hour12: false, timeZone: "Asia/Shanghai" });
}

export function codeMessage(code) {
  const found = CODES[code];
  return found ? found[lang() === "en" ? 1 : 0] : code;
}

export function switchLanguage() {
  localStorage.setItem("lang", lang() === "en" ? "zh-CN" : "en");
  const url = new URL(location.href);
  url.searchParams.delete("lang");
  location.replace(url);
}

export function money(fen, unit = "") {
  if (fen === null || fen === undefined) return t("none");
  const whole = Math.trunc(fen / 100).toLocaleString("en-US");
  return `${whole}.${String(Math.abs(fen % 100)).padStart(2, "0")}${unit ? " " + unit : ""}`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return t("none");
  const s = Math.max(0, Math.ceil(ms / 1000));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${two(mm)}:${two(ss)}`;
}

export function clockTime(ms) {
  return new Date(ms).toLocaleTimeString(lang(), { hour12: false, timeZone: "Asia/Shanghai" });
}

// The server's clock: each message's `server_now` and each pong fix an offset against
// performance.now(), which no change of the PC's clock moves. The countdown reads this.
export class ServerClock {
  constructor() { this.base = null; this.rtt = Infinity; }
  seen(serverNow, rtt = null) {
    if (rtt !== null && rtt <= this.rtt) {
      this.rtt = rtt;
      this.base = serverNow + rtt / 2 - performance.now();
    } else if (this.base === null) {
      this.base = serverNow - performance.now();
    }
  }
  now() { return this.base === null ? null : this.base + performance.now(); }
}

// A live room: hello, welcome, replay, live events; on a drop it reconnects and says
// `since` so nothing is missed and nothing doubles.
export class LiveRoom {
  constructor(kind, id, token, handlers) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/${kind}/${id}`;
    this.token = token; this.handlers = handlers; this.clock = new ServerClock();
    this.last = 0; this.tries = 0; this.pending = new Map();
  }
  start() { this.connect(); setInterval(() => this.ping(), 10000); }
  connect() {
    this.handlers.state?.("connecting");
    const ws = new WebSocket(this.url, ["openbid.json.v1"]);
    this.ws = ws;
    ws.onopen = () => {
      const hello = { type: "hello", since: this.last };
      if (this.token) hello.token = this.token;
      const id = this.token ? device() : null; // a viewer's is of no use to anyone
      if (id) hello.device = id;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (m) => this.receive(JSON.parse(m.data));
    ws.onclose = (closed) => {
      const final = FINAL_CLOSES.includes(closed.code);
      this.handlers.state?.(final ? "disconnected" : "down", closed.code);
      if (final) return;
      const wait = Math.min(10000, 500 * 2 ** this.tries++);
      setTimeout(() => this.connect(), wait);
    };
  }
  receive(m) {
    if (m.server_now !== undefined && m.type !== "pong") this.clock.seen(m.server_now);
    if (m.type === "welcome") {
      this.tries = 0;
      this.handlers.state?.("live");
      this.handlers.welcome?.(m);
      this.ping();
    } else if (m.type === "event") {
      // one's own private entry carries the public count it follows: it moves no cursor
      if (m.private) return this.handlers.event?.(m);
      if (m.seq <= this.last) return;
      this.last = m.seq;
      this.handlers.event?.(m);
    } else if (m.type === "stream") {  // an opening's livestream went live or off
      this.handlers.stream?.(m);
    } else if (m.type === "pong") {
      this.clock.seen(m.server_now, performance.now() - m.t);
    } else if (m.type === "ack" || m.type === "nack" || m.type === "error") {
      this.handlers.answer?.(m);
    }
  }
  ping() {
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "ping", t: performance.now() }));
    }
  }
  send(message) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }
}
