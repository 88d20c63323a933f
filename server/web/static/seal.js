// A sealed bid envelope made in the bidder's browser with WebCrypto, in the server's format
// (auction/opening/envelope.py): AES-256-GCM under a fresh random key, the opening and the bidder as
// associated data; uploaded with the commitment
// SHA-256("openbid-envelope/1|opening|bidder" | "|" | key | SHA-256(nonce | ciphertext)).
// The key never leaves this browser until the bidder hands it over at the opening.

const FORMAT = "openbid-envelope/1";
const encoder = new TextEncoder();

function joined(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

export function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The plaintext padded with spaces (JSON ignores them) as auction/opening/envelope.py's
// padded_length says: 4096 bytes, or Padmé above that; the length tells nothing of the price.
function padded(bytes) {
  let length = 4096;
  if (bytes.length > length) {
    const exponent = Math.floor(Math.log2(bytes.length));
    const lowBits = exponent - (Math.floor(Math.log2(exponent)) + 1);
    const step = 2 ** lowBits;
    length = Math.ceil(bytes.length / step) * step;
  }
  const out = new Uint8Array(length).fill(0x20);
  out.set(bytes);
  return out;
}

// bid: {price, duration_days, quality, attachment: {name, data (base64)} | null}.
// Returns the key (base64, the bidder keeps it) and the body of POST .../envelopes.
export async function seal(openingId, bidderId, bid) {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const aad = encoder.encode(`${FORMAT}|${openingId}|${bidderId}`);
  const aes = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
  const plaintext = padded(encoder.encode(JSON.stringify(bid)));
  const sealed = new Uint8Array(await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 }, aes, plaintext));
  const digest = await sha256(joined(nonce, sealed));
  const commitment = hex(await sha256(joined(aad, encoder.encode("|"), key, digest)));
  return {
    key: toBase64(key),
    digest: hex(digest),
    upload: { nonce: toBase64(nonce), ciphertext: toBase64(sealed), commitment },
  };
}

export async function fileAttachment(file) {
  return { name: file.name, data: toBase64(new Uint8Array(await file.arrayBuffer())) };
}
