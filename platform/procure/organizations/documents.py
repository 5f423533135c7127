"""Uploaded organization documents: what a file really is, decided by its
content (magic bytes and a parsed header), never by its name.

Accepted: PDF, JPEG, PNG. A PNG named ``.pdf`` is accepted *as a PNG* (its name
does not matter: it is stored and served as image/png); an executable, an
archive, an HTML page or a truncated file named ``.pdf`` is refused.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

from procure.errors import DomainError

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}
LABELS = {PDF: "PDF", JPEG: "JPG", PNG: "PNG"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Well-known signatures of things people disguise as documents, for a precise message.
_KNOWN_OTHER = [
    (b"MZ", _l("Windows 可执行程序（.exe）")),
    (b"\x7fELF", _l("可执行程序")),
    (b"PK\x03\x04", _l("压缩包或 Office 文档（ZIP）")),
    (b"Rar!", _l("RAR 压缩包")),
    (b"7z\xbc\xaf\x27\x1c", _l("7z 压缩包")),
    (b"\xd0\xcf\x11\xe0", _l("旧版 Office 文档")),
    (b"GIF8", _l("GIF 图片")),
    (b"<", _l("网页或脚本")),
]


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    size: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def _refuse(what=None) -> DomainError:
    if what is not None:
        return DomainError(
            _l("文件内容是%(what)s，不是 PDF、JPG 或 PNG：只能上传 PDF、JPG、PNG 文件。", what=what), field="file"
        )
    return DomainError(_l("无法识别的文件内容：只能上传 PDF、JPG、PNG 文件（按文件内容判断，不看文件名）。"), field="file")


def _check_pdf(data: bytes) -> None:
    # Header "%PDF-1.x" (or 2.0) at the very start (no polyglots with something
    # else in front), and the end-of-file marker in the last 1024 bytes: a
    # truncated file is refused.
    version = data[5:8]
    if len(version) != 3 or version[1:2] != b"." or not (version[:1] + version[2:]).isdigit():
        raise _refuse()
    if b"%%EOF" not in data[-1024:]:
        raise DomainError(_l("PDF 文件不完整（缺少文件结尾），请重新导出后上传。"), field="file")


def _check_png(data: bytes) -> None:
    # The first chunk must be a well-formed IHDR with a correct CRC.
    if len(data) < 33:
        raise DomainError(_l("PNG 图片不完整。"), field="file")
    length, chunk_type = struct.unpack(">I4s", data[8:16])
    if chunk_type != b"IHDR" or length != 13:
        raise DomainError(_l("PNG 图片已损坏（文件头无效）。"), field="file")
    body = data[12:29]
    (crc,) = struct.unpack(">I", data[29:33])
    if zlib.crc32(body) & 0xFFFFFFFF != crc:
        raise DomainError(_l("PNG 图片已损坏（文件头校验失败）。"), field="file")
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        raise DomainError(_l("PNG 图片尺寸无效。"), field="file")
    if b"IEND" not in data[-32:]:
        raise DomainError(_l("PNG 图片不完整。"), field="file")


def _check_jpeg(data: bytes) -> None:
    # SOI, then a marker segment (APPn/DQT/…), and EOI at the end.
    if len(data) < 4 or data[3] < 0xC0:
        raise DomainError(_l("JPG 图片已损坏（文件头无效）。"), field="file")
    if b"\xff\xd9" not in data[-64:]:
        raise DomainError(_l("JPG 图片不完整。"), field="file")


def sniff(data: bytes, *, max_bytes: int) -> Sniffed:
    """Classify ``data``; raise DomainError(field="file") with a clear message
    when it is empty, too large, or not a well-formed PDF/JPEG/PNG."""
    if not data:
        raise DomainError(_l("文件是空的。"), field="file")
    if len(data) > max_bytes:
        raise DomainError(
            _l(
                "文件太大：%(size)s，单个文件不能超过 %(limit)s。",
                size=human_size(len(data)),
                limit=human_size(max_bytes),
            ),
            field="file",
        )
    if data.startswith(_PNG_SIGNATURE):
        _check_png(data)
        content_type = PNG
    elif data.startswith(b"\xff\xd8\xff"):
        _check_jpeg(data)
        content_type = JPEG
    elif data.startswith(b"%PDF-"):
        _check_pdf(data)
        content_type = PDF
    else:
        for signature, what in _KNOWN_OTHER:
            if data.lstrip()[: len(signature)].lower() == signature.lower():
                raise _refuse(what)
        raise _refuse()
    return Sniffed(content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


def clean_original_name(name: str | None) -> str:
    """The uploader's file name, for display only (never used as a path)."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or "document"


def download_name(original_name: str | None, content_type: str) -> str:
    """The name a document is downloaded under, built by the platform: the
    uploader's name without any extension, reduced to letters, digits and a
    few safe marks, plus the extension of the type detected from the content
    (never the uploader's: ``invoice.html`` that is a PNG downloads as
    ``invoice.png``, ``证书.pdf.exe`` that is a PDF as ``证书_pdf.pdf``)."""
    name = clean_original_name(original_name)
    stem = name.rsplit(".", 1)[0] if "." in name.strip(".") else name
    stem = "".join(ch if ch.isalnum() or ch in " -_()（）" else "_" for ch in stem)
    stem = re.sub(r"_{2,}", "_", stem).strip(" _")[:80].strip(" _")
    return (stem or "document") + EXTENSIONS[content_type]


def store(directory: Path, data: bytes, sniffed: Sniffed) -> str:
    """Write ``data`` under ``directory`` with a random name; return the name."""
    directory.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + sniffed.extension
    path = directory / name
    with open(path, "xb") as fh:
        fh.write(data)
    return name
