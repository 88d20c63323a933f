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
