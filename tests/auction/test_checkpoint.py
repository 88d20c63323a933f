"""Signed checkpoints: byte for byte the note format Go's sumdb/note writes (its own
published example), and every way a note, a key or a checkpoint can be wrong."""

from __future__ import annotations

import base64

import pytest

from auction.checkpoint import BadNote, Checkpoint, Signer, Verifier

GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
    "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ROOT = bytes(range(32))
LOG = Signer.generate("openbid.test/tlog")


def test_our_notes_are_go_s_notes() -> None:
    signer = Signer.from_skey(GO_SKEY)
    assert signer.vkey() == GO_VKEY and signer.skey() == GO_SKEY
    assert signer.sign(GO_TEXT) == GO_NOTE
    assert Verifier(GO_VKEY).open(GO_NOTE) == GO_TEXT


def test_a_checkpoint_opens_with_its_key_alone() -> None:
    note = LOG.checkpoint(12, ROOT)
    assert note.startswith(f"openbid.test/tlog\n12\n{base64.b64encode(ROOT).decode()}\n\n")
    assert Verifier(LOG.vkey()).checkpoint(note) == Checkpoint("openbid.test/tlog", 12, ROOT)
    impostor = Signer.generate("openbid.test/tlog")
    with pytest.raises(BadNote, match="not signed by"):
        Verifier(LOG.vkey()).checkpoint(impostor.checkpoint(12, ROOT))
    other_log = Signer("elsewhere/log", LOG.key)
    with pytest.raises(BadNote, match="not signed by"):
        Verifier(LOG.vkey()).checkpoint(other_log.checkpoint(12, ROOT))


def test_a_changed_body_breaks_the_signature() -> None:
    note = LOG.checkpoint(12, ROOT)
    with pytest.raises(BadNote, match="does not hold"):
        Verifier(LOG.vkey()).checkpoint(note.replace("\n12\n", "\n13\n", 1))


def test_another_signer_s_line_is_passed_over() -> None:
    """A witness's cosignature beside the log's own signature does not get in the way."""
    note = LOG.checkpoint(3, ROOT)
    witness = Signer.generate("witness.example")
    cosigned = note + witness.sign(Checkpoint("openbid.test/tlog", 3, ROOT).body()).split("\n\n")[1]
    assert Verifier(LOG.vkey()).checkpoint(cosigned).size == 3
    assert Verifier(witness.vkey()).open(cosigned).startswith("openbid.test/tlog\n3\n")


def test_the_key_s_log_is_the_checkpoint_s_origin() -> None:
    renamed = LOG.sign(Checkpoint("another/log", 1, ROOT).body())
    with pytest.raises(BadNote, match="a checkpoint of another/log"):
        Verifier(LOG.vkey()).checkpoint(renamed)


@pytest.mark.parametrize(
    "body",
    ["", "openbid.test/tlog\n12\n", "openbid.test/tlog\nx\nAAAA\n",
     "openbid.test/tlog\n012\nAAAA\n",
     f"openbid.test/tlog\n1\n{base64.b64encode(b'short').decode()}\n",
     "openbid.test/tlog\n1\n!!!!\n", "\n1\nAAAA\n",
     f"openbid.test/tlog\n1\n{base64.b64encode(ROOT).decode()}"],
)  # fmt: skip
def test_a_malformed_checkpoint_is_refused(body: str) -> None:
    with pytest.raises(BadNote):
        Checkpoint.parse(body)


@pytest.mark.parametrize(
    "note",
    ["no signature at all\n", "text\n\nPeterNeumann sig\n", "text\n\n\u2014 PeterNeumann !!\n",
     "text\n\n\u2014 PeterNeumann AAAA", GO_NOTE.replace("PeterNeumann x08", "Peter x08")],
)  # fmt: skip
def test_a_malformed_or_unsigned_note_is_refused(note: str) -> None:
    with pytest.raises(BadNote):
        Verifier(GO_VKEY).open(note)


@pytest.mark.parametrize(
    "vkey",
    ["PeterNeumann+c74f20a3", "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
     "PeterNeumann+c74f20a3+AhRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
     "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
     "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
     "PeterNeumann+c74f20a3+!!"],
)  # fmt: skip
def test_a_wrong_verifier_key_is_refused(vkey: str) -> None:
    with pytest.raises(BadNote):
        Verifier(vkey)


@pytest.mark.parametrize(
    "skey",
    ["PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
     "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
     "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
     "PRIVATE+KEY+PeterNeumann+c74f20a3+!!"],
)  # fmt: skip
def test_a_wrong_signer_key_is_refused(skey: str) -> None:
    with pytest.raises(BadNote):
        Signer.from_skey(skey)


def test_a_note_is_one_paragraph_ending_in_a_newline() -> None:
    for text in ("no newline", "two\n\nparagraphs\n"):
        with pytest.raises(BadNote):
            LOG.sign(text)


def _go_stamp() -> str:
    return GO_NOTE.split("\u2014 PeterNeumann ")[1].rstrip("\n")


def _spoiled(text: str, at: int, char: str) -> str:
    """`text` with `char` slipped in at `at`: no longer strict base64."""
    return text[:at] + char + text[at:]


ROOT64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize("name", ["", "Peter Neumann", "Peter\tNeumann", "Peter+Neumann"])
def test_a_key_name_with_a_space_or_a_plus_is_refused(name: str) -> None:
    with pytest.raises(BadNote, match=r"^a key name has no spaces or '\+': "):
        Signer(name, LOG.key)


@pytest.mark.parametrize(
    ("body", "size"), [(f"o\n0\n{ROOT64}\n", 0), (f"o\n10\n{ROOT64}\n", 10),
                       (f"o\n7\n{ROOT64}\nan extension line\n", 7)],
)  # fmt: skip
def test_a_checkpoint_of_any_size_parses(body: str, size: int) -> None:
    assert Checkpoint.parse(body) == Checkpoint("o", size, ROOT)


SHAPE = "a checkpoint is an origin, a size and a root hash, one per line"
NOT_DECIMAL = "the tree size is not a decimal number: "

MALFORMED_CHECKPOINTS: list[tuple[str, str, str]] = [
    ("no origin", f"\n1\n{ROOT64}\n", SHAPE),
    ("no origin, nor root", "\n1\nAAAA\n", SHAPE),
    ("two lines", "o\n1\n", SHAPE),
    ("no final newline", f"o\n1\n{ROOT64}\nmore", SHAPE),
    ("a size in words", f"o\nx\n{ROOT64}\n", NOT_DECIMAL + "'x'"),
    ("a size with a leading zero", f"o\n012\n{ROOT64}\n", NOT_DECIMAL + "'012'"),
    ("a size of zeros", f"o\n00\n{ROOT64}\n", NOT_DECIMAL + "'00'"),
    ("a root with a stray character", f"o\n1\n{_spoiled(ROOT64, 8, '!')}\n",
     "the root hash is not base64"),
    ("a root with a space", f"o\n1\n{_spoiled(ROOT64, 8, ' ')}\n",
     "the root hash is not base64"),
    ("a short root", "o\n1\nAAAA\n", "the root hash is not 32 bytes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "words"),
    [m[1:] for m in MALFORMED_CHECKPOINTS],
    ids=[m[0] for m in MALFORMED_CHECKPOINTS],
)
def test_a_malformed_checkpoint_is_refused_saying_why(body: str, words: str) -> None:
    with pytest.raises(BadNote) as refused:
        Checkpoint.parse(body)
    assert str(refused.value) == words


GO_SEED = GO_SKEY.split("+", 4)[4]
GO_PUBLIC = GO_VKEY.split("+", 2)[2]
GO_PUBLIC_RAW = base64.b64decode(GO_PUBLIC)

NOT_SKEY = "not a signer key (PRIVATE+KEY+name+id+key)"
SKEY_HEAD = "PRIVATE+KEY+PeterNeumann+c74f20a3+"
WRONG_SIGNER_KEYS: list[tuple[str, str, str]] = [
    ("three parts", "PeterNeumann+c74f20a3+" + GO_SEED, NOT_SKEY),
    ("four parts", "PRIVATE+KEY+PeterNeumann+c74f20a3", NOT_SKEY),
    ("not private", "PUBLIC+KEY+PeterNeumann+c74f20a3+" + GO_SEED, NOT_SKEY),
    ("a stray character", SKEY_HEAD + _spoiled(GO_SEED, 5, "!"), "the signer key is not base64"),
    ("a stray space", SKEY_HEAD + _spoiled(GO_SEED, 5, " "), "the signer key is not base64"),
    ("not Ed25519", SKEY_HEAD + "AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
     "not an Ed25519 signer key"),
    ("too short", SKEY_HEAD + "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXH",
     "not an Ed25519 signer key"),
    ("another id", "PRIVATE+KEY+PeterNeumann+c74f20a4+" + GO_SEED,
     "the signer key's id does not match its key"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("skey", "words"), [w[1:] for w in WRONG_SIGNER_KEYS], ids=[w[0] for w in WRONG_SIGNER_KEYS]
)
def test_a_wrong_signer_key_is_refused_saying_why(skey: str, words: str) -> None:
    with pytest.raises(BadNote) as refused:
        Signer.from_skey(skey)
    assert str(refused.value) == words


WRONG_VERIFIER_KEYS: list[tuple[str, str, str]] = [
    ("two parts", "PeterNeumann+c74f20a3", "not a verifier key (name+id+key)"),
    ("a stray character", "PeterNeumann+c74f20a3+" + _spoiled(GO_PUBLIC, 5, "!"),
     "the verifier key is not base64"),
    ("a stray space", "PeterNeumann+c74f20a3+" + _spoiled(GO_PUBLIC, 5, " "),
     "the verifier key is not base64"),
    ("another algorithm's key of the same length",
     "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x02" + GO_PUBLIC_RAW[1:]).decode(),
     "not an Ed25519 verifier key"),
    ("too short", "PeterNeumann+c74f20a3+" + base64.b64encode(GO_PUBLIC_RAW[:-1]).decode(),
     "not an Ed25519 verifier key"),
    ("another id", "PeterNeumann+c74f20a4+" + GO_PUBLIC,
     "the verifier key's id does not match its key"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("vkey", "words"), [w[1:] for w in WRONG_VERIFIER_KEYS], ids=[w[0] for w in WRONG_VERIFIER_KEYS]
)
def test_a_wrong_verifier_key_is_refused_saying_why(vkey: str, words: str) -> None:
    with pytest.raises(BadNote) as refused:
        Verifier(vkey)
    assert str(refused.value) == words


def test_a_note_s_text_must_end_in_one_newline_and_have_no_blank_line() -> None:
    for text in ("no newline", "two\n\nparagraphs\n"):
        with pytest.raises(BadNote) as refused:
            LOG.sign(text)
        assert str(refused.value) == "a note's text ends in one newline and has no blank line"


WRONG_NOTES: list[tuple[str, str, str]] = [
    ("no blank line", GO_TEXT, "not a signed note"),
    ("no final newline", GO_NOTE.rstrip("\n"), "not a signed note"),
    ("a line without the dash", GO_TEXT + "\nPeterNeumann " + _go_stamp() + "\n",
     "a signature line starts with an em dash"),
    ("a stamp with a stray character",
     GO_TEXT + "\n\u2014 PeterNeumann " + _spoiled(_go_stamp(), 5, "!") + "\n",
     "a signature is not base64"),
    ("a stamp followed by a word",
     GO_TEXT + "\n\u2014 PeterNeumann " + _go_stamp() + " AAAA\n", "a signature is not base64"),
    ("a changed text", GO_NOTE.replace("answer", "question"),
     "the signature of PeterNeumann does not hold"),
    ("another signer's line only", GO_TEXT + "\n\u2014 Other " + _go_stamp() + "\n",
     "not signed by PeterNeumann"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("note", "words"), [w[1:] for w in WRONG_NOTES], ids=[w[0] for w in WRONG_NOTES]
)
def test_a_wrong_note_is_refused_saying_why(note: str, words: str) -> None:
    with pytest.raises(BadNote) as refused:
        Verifier(GO_VKEY).open(note)
    assert str(refused.value) == words


def test_the_signature_covers_all_the_text_before_the_last_blank_line() -> None:
    """As Go's note.Open reads it: a text with a blank line in it (which `sign` will not
    write) is still the text its signature covers."""
    text = "first\n\nsecond\n"
    stamp = base64.b64encode(LOG.key_id + LOG.key.sign(text.encode())).decode()
    assert Verifier(LOG.vkey()).open(f"{text}\n\u2014 {LOG.name} {stamp}\n") == text
