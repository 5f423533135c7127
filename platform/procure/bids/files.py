"""What an uploaded bid attachment or tender document really is, decided by
its content: PDF, JPG, PNG (``organizations.documents``) and the zip-based
Office types DOCX and XLSX, whose archive is checked against decompression
bombs before anything reads it. Files are only ever served as downloads
(``Content-Disposition: attachment``), never rendered inline."""
from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from procure import archives
from procure.errors import DomainError
from procure.organizations import documents

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXTENSIONS = {**documents.EXTENSIONS, DOCX: ".docx", XLSX: ".xlsx"}


# The decompression-bomb limits of procure.archives (config ARCHIVE_*).
ArchiveLimits = archives.Limits


@dataclass(frozen=True)
class Checked:
    content_type: str
    size: int
    sha256: str

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def _refuse() -> DomainError:
    return DomainError(
        _l("无法识别的文件内容：只能上传 PDF、DOCX、XLSX、JPG、PNG 文件（按文件内容判断，不看文件名）。"), field="file"
    )


def check_archive(data: bytes, limits: ArchiveLimits) -> zipfile.ZipFile:
    """Refuse decompression bombs (``procure.archives``, from the central
    directory, before anything is inflated) and encrypted entries; then open
    the archive without decompressing it."""
    archives.check(data, limits, refuse=lambda message: DomainError(message, field="file"))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise DomainError(_l("文件已损坏（不是有效的 Office 文档）。"), field="file") from None
    if any(info.flag_bits & 0x1 for info in infos):
        raise DomainError(_l("不接受加密的文档。"), field="file")
    return archive


def check(data: bytes, *, max_bytes: int, limits: ArchiveLimits) -> Checked:
    if data.startswith(b"PK\x03\x04"):
        if len(data) > max_bytes:
            documents.sniff(data, max_bytes=max_bytes)  # raises the size message
        names = set(check_archive(data, limits).namelist())
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            content_type = DOCX
        elif "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            content_type = XLSX
        else:
            raise _refuse()
        return Checked(content_type, len(data), hashlib.sha256(data).hexdigest())
    if data and len(data) <= max_bytes and not data.startswith((b"%PDF-", b"\x89PNG", b"\xff\xd8\xff")):
        raise _refuse()
    sniffed = documents.sniff(data, max_bytes=max_bytes)  # empty, too large, malformed
    return Checked(sniffed.content_type, sniffed.size, sniffed.sha256)
