"""Signed documents: a lot's 成交确认书 and an opening's 开标记录表 as PDF, the CJK font
embedded (a subset), signed PAdES (ETSI EN 319 142, B-B) by the trading centre's key.

fpdf2 lays the page out; pyHanko signs it. The centre's key and certificate are its own
(`OPENBID_DOCUMENT_KEY` and `OPENBID_DOCUMENT_CERT`, PEM files), else a key and a
self-signed certificate made on the first start in the data dir. The font is
`OPENBID_PDF_FONT`, else the first CJK font found among the usual places (Debian's
fonts-noto-cjk). Building and signing are CPU work: the caller runs them in a thread.
fpdf2 and pyHanko are imported where they are used: together they take over a second to
import, which every process start (each worker, each restart) would pay.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from auction.china import when, yuan
from auction.errors import DocumentsUnavailable
from auction.opening.record import STATUS_WORDS as STATUS

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["DocumentSigner", "confirmation_pdf", "record_pdf"]

FONTS = [  # (file, the face in a collection): Simplified Chinese first
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
]


def _font() -> tuple[str, int]:
    given = os.environ.get("OPENBID_PDF_FONT")
    if given:
        return given, 0
    for path, face in FONTS:
        if Path(path).exists():
            return path, face
    raise DocumentsUnavailable()


@dataclass(frozen=True)
class DocumentSigner:
    """The centre's signing key and certificate (PEM)."""

    key_pem: bytes
    cert_pem: bytes

    @classmethod
    def self_signed(cls, name: str = "OpenBid 公共资源交易中心") -> DocumentSigner:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )  # fmt: skip
        return cls(key_pem, cert.public_bytes(serialization.Encoding.PEM))

    @classmethod
    def kept(cls, data_dir: Path) -> DocumentSigner:
        """OPENBID_DOCUMENT_KEY/CERT (paths), else the data dir's, made on the first start."""
        key_file = os.environ.get("OPENBID_DOCUMENT_KEY")
        cert_file = os.environ.get("OPENBID_DOCUMENT_CERT")
        if key_file and cert_file:
            return cls(Path(key_file).read_bytes(), Path(cert_file).read_bytes())
        key_path, cert_path = data_dir / "document-key.pem", data_dir / "document-cert.pem"
        if not key_path.exists():
            made = cls.self_signed()
            cert_path.write_bytes(made.cert_pem)
            descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(made.key_pem)
        return cls(key_path.read_bytes(), cert_path.read_bytes())

    def sign(self, pdf: bytes, reason: str) -> bytes:
        """`pdf` signed PAdES B-B, its signature field visible to any reader."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        key = serialization.load_pem_private_key(self.key_pem, None)
        der_key = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )  # fmt: skip
        der_cert = x509.load_pem_x509_certificate(self.cert_pem).public_bytes(
            serialization.Encoding.DER
        )
        signer = signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(der_cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
            cert_registry=None,  # type: ignore[arg-type]
        )
        meta = signers.PdfSignatureMetadata(
            field_name="OpenBid", reason=reason, subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
        )  # fmt: skip
        out = io.BytesIO()
        signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer, output=out)
        return out.getvalue()


def _page(title: str) -> FPDF:
    from fpdf import FPDF

    path, face = _font()
    pdf = FPDF(format="A4")
    pdf.set_creator("OpenBid")
    pdf.set_title(title)
    pdf.add_font("cjk", fname=path, collection_font_number=face)
    pdf.add_page()
    pdf.set_font("cjk", size=18)
    pdf.cell(0, 12, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    return pdf


def _lines(pdf: FPDF, pairs: list[tuple[str, str]]) -> None:
    for label, value in pairs:
        pdf.multi_cell(0, 7, f"{label}：{value}", new_x="LMARGIN", new_y="NEXT")


NOTICE = (
    "竞得人应按出让公告及本确认书约定签订成交合同。本确认书由系统生成，经交易中心电子签章；"
    "其哈希记入透明日志，可向 /api/log/inclusion 索取证明。"
)


def confirmation_pdf(lot: dict[str, Any]) -> bytes:
    """成交确认书 of a sold lot: `lot` has its id, title, quote unit, the result (price,
    winner plate and name, close time) and the audit head it was issued at; for a lot sold
    by quantity, the `share` it confirms (plate, name, unit price, quantity, amount) and
    the `quantity_unit`."""
    pdf = _page("成交确认书")
    share = lot.get("share")  # a lot sold by quantity: this winner's share of it
    terms = [("成交价", f"{yuan(lot['price'])} {lot['quote_unit']}"),
             ("竞得人", f"{lot['winner_name']}（号牌 {lot['winner_plate']}）")]  # fmt: skip
    if share is not None:
        terms = [
            ("成交单价", f"{yuan(share['price'])} {lot['quote_unit']}"),
            ("成交数量", f"{share['quantity']} {lot['quantity_unit']}"),
            ("成交金额", f"{yuan(share['amount'])} 元"),
            ("竞得人", f"{share['name']}（号牌 {share['plate']}）"),
        ]
    _lines(pdf, [
        ("标的编号", lot["lot_id"]), ("标的名称", lot["title"]), *terms,
        ("成交时间", when(lot["closed_at"])),
        ("审计日志", f"第 {lot['audit_seq']} 条，链头 {lot['audit_head']}"),
    ])  # fmt: skip
    pdf.ln(4)
    pdf.multi_cell(0, 7, NOTICE)
    return bytes(pdf.output())


def record_pdf(found: dict[str, Any]) -> bytes:
    """开标记录表 as issued: `found` is what OpeningService.record returns."""
    record = found["record"]
    pdf = _page("开标记录表")
    _lines(pdf, [
        ("项目", record["title"]), ("开标时间（投标截止时间）", when(record["bid_deadline"])),
        ("记录生成时间", when(record["issued_at"])),
        ("记录哈希", f"{found['record_hash']}（审计日志第 {found['record_seq']} 条）"),
    ])  # fmt: skip
    pdf.ln(3)
    from fpdf.fonts import FontFace

    widths = (12, 20, 48, 36, 22, 20, 26)
    head = ("序号", "号牌", "投标人", "投标报价（元）", "工期（天）", "质量", "解密状态")
    plain = FontFace(emphasis="", fill_color=(235, 235, 235))  # the CJK face has no bold
    with pdf.table(col_widths=widths, text_align="LEFT", headings_style=plain) as table:
        table.row(head)
        for number, row in enumerate(record["rows"], start=1):
            days = "" if row.get("duration_days") is None else str(row["duration_days"])
            status = STATUS.get(row["status"], row["status"])
            table.row((str(number), row["plate"], row["name"], yuan(row.get("price")), days,
                       row.get("quality") or "", status))  # fmt: skip
    return bytes(pdf.output())
