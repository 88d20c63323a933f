// The bidder's signing key (电子签章): an ECDSA P-256 key pair made by this browser with
// WebCrypto, its private half non-extractable, kept in IndexedDB. Neither the trading
// centre nor the server ever holds it: the bidder gives the centre its public key (PEM) to
// register, and the lot's page signs each bid, continue and accept with it
// (auction/signatures.py says what is signed).

const DB = "openbid", STORE = "keys", NAME = "bidder";
const ECDSA = { name: "ECDSA", namedCurve: "P-256" };

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function stored(mode, act) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const request = act(db.transaction(STORE, mode).objectStore(STORE));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// The key pair this browser keeps, or null.
export async function bidderKey() {
  return (await stored("readonly", (s) => s.get(NAME))) ?? null;
}

// The kept key pair, made first if there is none.
export async function makeKey() {
  const found = await bidderKey();
  if (found) return found;
  const pair = await crypto.subtle.generateKey(ECDSA, false, ["sign", "verify"]);
  await stored("readwrite", (s) => s.put(pair, NAME));
  return pair;
}

export async function publicPem(pair) {
  const der = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const b64 = btoa(String.fromCharCode(...der)).match(/.{1,64}/g).join("\n");
  return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
}

// What a bidder signs (auction/signatures.py `message`): the lot, the plate, the command
// and its fields, one `name value` line each, values in JSON.
export function message(venue, plate, command, fields = {}) {
  const lines = ["openbid-sig/1", `venue ${venue}`, `plate ${plate}`, `command ${command}`];
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined) lines.push(`${name} ${JSON.stringify(value)}`);
  }
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

// The signature (r‖s, base64) of `command` by the kept key; null without one.
export async function sign(venue, plate, command, fields) {
  const pair = await bidderKey();
  if (!pair) return null;
  const signed = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, message(venue, plate, command, fields));
  return btoa(String.fromCharCode(...new Uint8Array(signed)));
}
