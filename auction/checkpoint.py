"""Signed checkpoints of the transparency log: C2SP tlog-checkpoint bodies in C2SP
signed-note envelopes, signed with Ed25519.

A checkpoint says "the log named `origin` has `size` leaves and this root hash":

    openbid.example/log
    1234
    <base64 root hash>

followed by a blank line and one signature line per signer, `— <name> <base64(key id ||
signature)>`. The key id is the first four bytes of SHA-256(name || "\\n" || 0x01 || public
key); a verifier key is written `name+<key id hex>+<base64(0x01 || public key)>` (a
"vkey") and a signer key `PRIVATE+KEY+name+<key id hex>+<base64(0x01 || seed)>`, the forms
Go's golang.org/x/mod/sumdb/note reads, so any C2SP tool checks ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "BadNote",
    "Checkpoint",
    "Signer",
    "Verifier",
]

ED25519 = b"\x01"
DASH = "\u2014 "  # a signature line's start: an em dash and a space


class BadNote(ValueError):
    """A note, a key or a checkpoint that is malformed, or whose signature does not hold."""


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise BadNote(f"a key name has no spaces or '+': {name!r}")
    return name


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise BadNote("a checkpoint is an origin, a size and a root hash, one per line")
        origin, size, root = lines[:3]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise BadNote(f"the tree size is not a decimal number: {size!r}")
        try:
            hashed = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise BadNote("the root hash is not base64") from None
        if len(hashed) != 32:
            raise BadNote("the root hash is not 32 bytes")
        return cls(origin, int(size), hashed)


class Signer:
    """The log's signing key, `name` being the log's origin."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        self.name, self.key = _check_name(name), key
        self.public = _raw_public(key.public_key())
        self.key_id = _key_id(name, self.public)

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)  # base64 may hold a '+', a name never does
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise BadNote("not a signer key (PRIVATE+KEY+name+id+key)")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except binascii.Error:
            raise BadNote("the signer key is not base64") from None
        if len(raw) != 33 or raw[:1] != ED25519:
            raise BadNote("not an Ed25519 signer key")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id.hex() != parts[3]:
            raise BadNote("the signer key's id does not match its key")
        return signer

    def skey(self) -> str:
        seed = self.key.private_bytes_raw()
        raw = base64.b64encode(ED25519 + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{raw}"

    def vkey(self) -> str:
        raw = base64.b64encode(ED25519 + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{raw}"

    def sign(self, body: str) -> str:
        """`body` (text ending in a newline) as a signed note."""
        if not body.endswith("\n") or "\n\n" in body:
            raise BadNote("a note's text ends in one newline and has no blank line")
        signature = self.key.sign(body.encode())
        stamp = base64.b64encode(self.key_id + signature).decode()
        return f"{body}\n{DASH}{self.name} {stamp}\n"

    def checkpoint(self, size: int, root: bytes) -> str:
        return self.sign(Checkpoint(self.name, size, root).body())


class Verifier:
    """One signer's public key, from its vkey."""

    def __init__(self, vkey: str) -> None:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise BadNote("not a verifier key (name+id+key)")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise BadNote("the verifier key is not base64") from None
        if len(raw) != 33 or raw[:1] != ED25519:
            raise BadNote("not an Ed25519 verifier key")
        self.name, self.public = _check_name(parts[0]), raw[1:]
        self.key_id = _key_id(self.name, self.public)
        if self.key_id.hex() != parts[1]:
            raise BadNote("the verifier key's id does not match its key")
        self.key = Ed25519PublicKey.from_public_bytes(self.public)

    def open(self, note: str) -> str:
        """The note's text, if this key signed it; BadNote otherwise."""
        body, sep, signatures = note.rpartition("\n\n")
        if not sep or not signatures.endswith("\n"):
            raise BadNote("not a signed note")
        for line in signatures[:-1].split("\n"):
            found = self._signature(line)
            if found is None:
                continue
            try:
                self.key.verify(found, (body + "\n").encode())
            except InvalidSignature:
                raise BadNote(f"the signature of {self.name} does not hold") from None
            return body + "\n"
        raise BadNote(f"not signed by {self.name}")

    def _signature(self, line: str) -> bytes | None:
        if not line.startswith(DASH):
            raise BadNote("a signature line starts with an em dash")
        name, _, stamp = line[len(DASH) :].partition(" ")
        try:
            raw = base64.b64decode(stamp, validate=True)
        except binascii.Error:
            raise BadNote("a signature is not base64") from None
        if name != self.name or raw[:4] != self.key_id:
            return None  # another signer's (a witness's cosignature, say)
        return raw[4:]

    def checkpoint(self, note: str) -> Checkpoint:
        """The checkpoint this key signed, of the log this key names; BadNote otherwise."""
        found = Checkpoint.parse(self.open(note))
        if found.origin != self.name:
            raise BadNote(f"a checkpoint of {found.origin}, not of {self.name}")
        return found
