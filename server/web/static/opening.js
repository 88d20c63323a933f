// An opening's page (不见面开标): the public watch (`/openings/{id}`: video, phase, progress,
// the 唱标 table, objections and replies, the record), the bidder's room (`#token=…` from
// the bidder's link: seal and submit, sign in, decrypt, confirm, object), the host's and the
// supervisor's view (`?staff=1`, with the console's token) and the big screen (`?screen=1`).
import {
  $, LiveRoom, offerTokenSignIn, api, headCells, clockTime, codeMessage, download, duration, labelPage, money, named,
  parseMoney, roomToken, saveBlob, say, sayAnswer, showConnection, t,
} from "/static/openbid.js";
import { sign } from "/static/keys.js";
import { fileAttachment, seal } from "/static/seal.js";
import { LivePlayer, publish } from "/static/live.js";

const openingId = location.pathname.split("/")[2];
const token = roomToken();
const state = { view: null, account: null, role: null, plate: null, bidderId: null, rows: [], staffList: null,
  objections: new Map(), refreshing: null, camera: null, player: null, room: null };

const keyName = () => `openbid.key.${openingId}.${state.bidderId}`;

// ---- what everyone sees ----------------------------------------------------------------

function show() {
  const v = state.view;
  if (!v) return;
  $("title").textContent = v.title;
  $("phase").textContent = named("openingPhases", v.phase) + (v.paused ? ` · ${t("paused")}` : "");
  $("envelopes").textContent = v.envelopes ?? t("none");
  $("signedin").textContent = v.signed_in ?? t("none");
  showBidders();
  showRecord();
  if (state.role === "bidder") showMine();
  if (state.role === "admin") showHost();
  // the supervisor co-signs a backup decryption, where the tender names it (R10)
  $("cosignform").hidden = !(state.role === "supervisor" && v.phase === "decryption");
}

function tick(room) {
  const v = state.view, now = room.clock.now();
  if (!v || now === null) return;
  const until = v.phase === "scheduled" ? v.bid_deadline : v.deadline;
  $("countdown").textContent = v.paused ? t("paused") : duration(until === null ? null : until - now);
  $("countdown").classList.toggle("urgent", until !== null && until - now < 60000);
  if (state.role === "bidder") $("sealform").hidden = !(v.phase === "scheduled" && now < v.bid_deadline);
}

function row(texts) {
  const tr = document.createElement("tr");
  for (const text of texts) {
    const td = document.createElement("td");
    td.textContent = text ?? t("none");
    tr.append(td);
  }
  return tr;
}

function statusText(status, side) {
  const said = named("statuses", status);
  return side && status === "failed" ? `${said}（${named("sides", side)}）` : said;
}

function showBidders() {
  const list = state.staffList ?? state.view.bidders ?? [];
  $("bidders").replaceChildren(...list.map((b) => {
    const signed = b.signed_in === undefined ? true : b.signed_in !== null;
    return row([b.plate, b.name, signed ? "✓" : "—", statusText(b.status, b.side)]);
  }));
}

function showRows() {
  $("rows").replaceChildren(...state.rows.map((r) => {
    const tr = row([r.plate, r.name, r.price === null ? null : money(r.price),
      r.duration_days, r.quality, statusText(r.status, r.side)]);
    tr.children[2].className = "money";
    tr.dataset.plate = r.plate;
    return tr;
  }));
  headCells($("rows"));
}

function showObjections() {
  const items = [...state.objections.values()].map((o) => {
    const li = document.createElement("li");
    const said = document.createElement("p");
    said.textContent = `${o.plate} · ${clockTime(o.ts)}: ${o.text}`;
    li.append(said);
    if (o.reply) {
      const reply = document.createElement("p");
      reply.className = "reply";
      reply.textContent = `${t("reply")}: ${o.reply}`;
      li.append(reply);
    } else if (state.role === "admin") {
      li.append(replyForm(o.objection_id));
    } else {
      li.append(Object.assign(document.createElement("p"), { textContent: t("awaiting") }));
    }
    return li;
  });
  $("objections").replaceChildren(...items);
}

function showRecord() {
  const hash = state.view.record_hash;
  $("recordsection").hidden = !hash;
  if (!hash) return;
  $("recordhash").textContent = hash;
  $("recordlink").href = `/openings/${openingId}/record`;
}

// Why an opening ended before it opened (条例 第44条: too few tenderers).
function aborted(event) {
  const reason = named("abortReasons", event.reason);
  return reason.replace("{count}", event.count).replace("{min}", state.view.min_bidders);
}

function apply(event) {
  if (event.kind === "phase" && state.view) {  // at once; the counts follow with the refresh
    state.view.phase = event.phase;
    // A phase entry carries the deadline that holds from then on, if any, and says if paused.
    state.view.deadline = event.deadline ?? null;
    state.view.paused = event.paused ?? false;
    show();
    if (event.phase === "aborted") say(aborted(event));
  }
  if (event.kind === "read_out") {
    state.rows = event.rows;
    showRows();
  } else if (event.kind === "record") {
    state.rows = event.record.rows;
    showRows();
  } else if (event.kind === "objection") {
    state.objections.set(event.objection_id, { ...event, reply: null });
    showObjections();
  } else if (event.kind === "reply") {
    const found = state.objections.get(event.objection_id);
    if (found) found.reply = event.text;
    showObjections();
  }
  refresh();
}

// The counts, statuses and the bidder's own state come from the snapshot, read again after
// a burst of events (a replay sends many at once).
function refresh() {
  if (state.refreshing) return;
  state.refreshing = setTimeout(async () => {
    state.refreshing = null;
    const answer = await api(`/api/openings/${openingId}`, { token });
    if (answer.status === 200) { state.view = answer.body; state.player.live(Boolean(answer.body.live)); }
    if (state.role === "admin" || state.role === "supervisor") {
      const listed = await api(`/api/openings/${openingId}/bidders`, { token });
      if (listed.status === 200) state.staffList = listed.body.bidders;
    }
    show();
  }, 100);
}

// ---- the bidder ------------------------------------------------------------------------

function showMine() {
  const v = state.view, me = v.me;
  $("me").hidden = false;
  $("bidder").hidden = false;
  $("plate").textContent = state.plate;
  if (!me) return;
  $("mystatus").textContent = me.signed_in ? statusText(me.status, me.side) : t("none");
  const payable = me.deposit === "none" && ["scheduled", "sign_in"].includes(v.phase);
  if (payable && state.account === null) showAccount();
  if (!payable) $("subaccount").textContent = { paid: t("paid"), guarantee: t("guarantee") }[me.deposit] ?? "";
  if (me.status !== "pending") sessionStorage.removeItem(keyName());  // handed over: done with it
  const key = sessionStorage.getItem(keyName());
  $("keybox").hidden = !(me.envelope && key && v.phase === "scheduled");
  $("envelopedigest").textContent = me.envelope ?? "";
  $("signin").hidden = !(me.envelope && !me.signed_in && ["scheduled", "sign_in"].includes(v.phase));
  $("decryptform").hidden = !(v.phase === "decryption" && me.signed_in && me.status === "pending");
  if (!$("decryptform").hidden && key && !$("key").value) $("key").value = key;
  $("confirmrecord").hidden = !(v.phase === "confirmation" && me.confirmed !== v.session && me.signed_in);
  $("objectform").hidden = !["read_out", "confirmation"].includes(v.phase);
}

// The tenderer's own sub-account (虚拟子账户) for its 投标保证金, from the account it
// registered; asked for only while nothing covers its deposit.
async function showAccount() {
  state.account = "…";  // asked once; a failure leaves it unasked, for the next refresh
  try {
    const answer = await api(`/api/openings/${openingId}/bidders/${state.bidderId}/account`, { token });
    state.account = answer.status === 200 ? answer.body.account : null;
  } catch { state.account = null; }
  const me = state.view?.me;
  if (state.account && me?.deposit === "none")  // not paid meanwhile
    $("subaccount").textContent = `${t("subAccount")}: ${state.account.replace(/(\d{4})(?=\d)/g, "$1 ")}`;
}

async function sealAndSubmit(form) {
  const price = parseMoney(form.price.value);
  if (price === null || price <= 0) return say(`${t("sealPrice")}: ${t("money")}`);
  const days = form.duration_days.value.trim();
  if (days && !/^\d+$/.test(days)) return say(`${t("durationDays")}: ${t("whole")}`);
  const file = form.attachment.files[0];
  const bid = { price, duration_days: days ? Number(days) : null,
    quality: form.quality.value.trim() || null, attachment: file ? await fileAttachment(file) : null };
  const made = await seal(openingId, state.bidderId, bid);
  const sig = await signed("envelope", { digest: made.digest, commitment: made.upload.commitment });
  if (sig === false) return;
  const body = sig ? { ...made.upload, sig } : made.upload;
  const sent = await api(`/api/openings/${openingId}/envelopes`, { method: "POST", body, token });
  if (sent.status !== 200) return say(codeMessage(sent.body.code));
  sessionStorage.setItem(keyName(), made.key);  // this tab only; the bidder saves the file
  say(t("sealed"), "ok");
  refresh();
}

// The bidder's signature of a command, where the opening takes signatures (auction/
// signatures.py OPENING_SIGNED): null when it takes none, false (the bidder told why) when it
// needs one this browser cannot make.
async function signed(command, fields = {}) {
  const mode = state.view?.signatures ?? "off";
  if (mode === "off") return null;
  const sig = await sign(openingId, state.plate, command, fields);
  if (sig === null && mode === "required") { say(t("needKeyOpening"), "error"); return false; }
  return sig;
}

async function keyFromFile(input) {
  const file = input.files[0];
  if (file) $("key").value = (await file.text()).trim();
}

// ---- the host --------------------------------------------------------------------------

// The step after the opening's phase, in the order the server's snapshot gives.
function nextPhase(view) {
  const order = view.phase_order || [];
  const at = order.indexOf(view.phase);
  return at >= 0 ? order[at + 1] : undefined;
}

function showHost() {
  const v = state.view, next = nextPhase(v);
  $("host").hidden = false;
  $("advance").hidden = !next;
  if (next) $("advance").textContent = t("advanceTo").replace("{phase}", named("openingPhases", next));
  const decrypting = v.phase === "decryption" && !v.window_closed;
  $("pause").hidden = !(decrypting && !v.paused);
  $("resume").hidden = !(decrypting && v.paused);
  $("faultform").hidden = v.phase !== "decryption";
  $("reopenform").hidden = v.phase !== "ended";
  $("publish").hidden = state.camera !== null;
  $("stopcamera").hidden = state.camera === null;
}

function replyForm(objectionId) {
  const form = document.createElement("form");
  form.className = "row";
  const label = document.createElement("label");
  const input = Object.assign(document.createElement("input"), { autocomplete: "off" });
  label.append(Object.assign(document.createElement("span"), { textContent: t("replyText") }), input);
  const button = Object.assign(document.createElement("button"), { type: "submit", textContent: t("reply") });
  form.append(label, button);
  form.onsubmit = (e) => {
    e.preventDefault();
    state.room.send({ type: "reply", objection_id: objectionId, text: input.value });
  };
  return form;
}

async function startCamera() {
  try {
    const made = await publish(openingId, token);
    if (made.error) return say(codeMessage(made.error.code));
    state.camera = made;
  } catch (error) {
    say(String(error));
  }
  showHost();
}

async function stopCamera() {
  await api(`/api/openings/${openingId}/webrtc/stop`, { method: "POST", token });
  state.camera?.pc.close();
  state.camera?.media.getTracks().forEach((track) => track.stop());
  state.camera = null;
  showHost();
}

// ---- wiring ----------------------------------------------------------------------------

function start() {
  labelPage();
  offerTokenSignIn(Boolean(token));
  const room = new LiveRoom("openings", openingId, token, {
    state: showConnection,
    welcome: (m) => {
      state.view = m.opening;
      state.role = m.role;
      if (m.plate) { state.plate = m.plate; state.bidderId = m.bidder_id; }
      const staffRole = ["admin", "supervisor"].includes(m.role);
      $("staff").hidden = !staffRole;
      $("rolename").hidden = !staffRole;
      $("rolename").textContent = m.role === "admin" ? t("hosting") : t("supervising");
      if (staffRole) refresh();
      show();
      state.player.live(Boolean(m.opening.live));
    },
    event: apply,
    stream: (m) => state.player.live(m.live),  // told at once: no waiting for a status poll
    answer: (m) => { sayAnswer(m); refresh(); },
  });
  state.room = room;
  const act = (message) => { if (!room.send(message)) say(t("down")); };
  $("sealform").onsubmit = (e) => { e.preventDefault(); sealAndSubmit(e.target); };
  $("savekey").onclick = () => saveBlob(new Blob([sessionStorage.getItem(keyName()) ?? ""]),
    `openbid-key-${openingId}-${state.plate}.txt`);
  const signedAct = async (message, fields = {}) => {
    const sig = await signed(message.type, fields);
    if (sig !== false) act(sig ? { ...message, sig } : message);
  };
  $("signin").onclick = () => signedAct({ type: "sign_in" });
  $("keyfile").onchange = (e) => keyFromFile(e.target);
  $("decryptform").onsubmit = (e) => { e.preventDefault(); act({ type: "decrypt", key: $("key").value.trim() }); };
  $("confirmrecord").onclick = () => signedAct({ type: "confirm" }, { record_hash: state.view.record_hash });
  $("objectform").onsubmit = (e) => {
    e.preventDefault();
    const text = $("objectiontext").value;
    signedAct({ type: "object", text }, { text });
  };
  $("advance").onclick = () => act({ type: "advance", to: nextPhase(state.view) });
  $("pause").onclick = () => act({ type: "pause" });
  $("resume").onclick = () => act({ type: "resume" });
  $("fault").onclick = () => act({ type: "fault", plate: $("faultplate").value.trim(), note: $("faultnote").value.trim() });
  $("backup").onclick = () => act({ type: "backup", plate: $("faultplate").value.trim(), key: $("backupkey").value.trim() });
  $("cosignform").onsubmit = (e) => { e.preventDefault(); act({ type: "cosign", plate: $("cosignplate").value.trim() }); };
  $("reopenform").onsubmit = (e) => { e.preventDefault(); act({ type: "reopen", reason: $("reopenreason").value }); };
  $("publish").onclick = startCamera;
  $("stopcamera").onclick = stopCamera;
  $("audit").onclick = () => download(`/api/openings/${openingId}/audit`, token, `opening-${openingId}-audit.json`);
  $("archive").onclick = () => download(`/api/openings/${openingId}/archive`, token, `opening-${openingId}.zip`);
  state.player = new LivePlayer(openingId, $("video"), $("videostatus"), $("watch"), t("videoWaiting"));
  $("watch").onclick = () => state.player.retry();
  room.start();
  setInterval(() => tick(room), 250);
}

start();
