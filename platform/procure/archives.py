"""Uploaded ZIP-based files (XLSX today; DOCX/XLSX bid attachments later) are
checked before anything decompresses them: a "decompression bomb" (a few MB
that expand to gigabytes) is refused in milliseconds, from the archive's
central directory alone.

Limits (``procure.config``, env ``PROCURE_ARCHIVE_*``): the number of entries,
the total uncompressed size, and the compression ratio of each large entry.
The sizes checked are the ones the archive declares; Python's ``zipfile``
(which openpyxl reads through) never inflates an entry beyond its declared
size (it stops there and fails the CRC check), so the declared total bounds
the memory that parsing can take.

Use::

    archives.check(data)                        # raises ArchiveRefused
    archives.check(data, refuse=MyError)        # raises MyError(message)

Bytes that are not a readable ZIP archive are not refused here: the parser of
the expected format reports them in its own words.
"""
from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from typing import Callable

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from procure import config as config_module
from procure.errors import DomainError

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_MAX_COMMENT = 0xFFFF


class ArchiveRefused(DomainError):
    """The archive would expand beyond the limits; nothing was decompressed."""


@dataclass(frozen=True)
class Limits:
    max_entries: int
    max_uncompressed_bytes: int
    max_ratio: int
    # Entries smaller than this are never refused for their ratio alone
    # (small XML parts routinely compress 100:1).
    ratio_min_bytes: int

    @classmethod
    def from_config(cls, config) -> Limits:
        defaults = config_module.ARCHIVE_DEFAULTS
        return cls(
            max_entries=int(config.get("ARCHIVE_MAX_ENTRIES", defaults["ARCHIVE_MAX_ENTRIES"])),
            max_uncompressed_bytes=int(
                config.get("ARCHIVE_MAX_UNCOMPRESSED_BYTES", defaults["ARCHIVE_MAX_UNCOMPRESSED_BYTES"])
            ),
            max_ratio=int(config.get("ARCHIVE_MAX_RATIO", defaults["ARCHIVE_MAX_RATIO"])),
            ratio_min_bytes=int(config.get("ARCHIVE_RATIO_MIN_BYTES", defaults["ARCHIVE_RATIO_MIN_BYTES"])),
        )


def current_limits() -> Limits:
    return Limits.from_config(current_app.config if has_app_context() else config_module.ARCHIVE_DEFAULTS)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def _declared_entry_count(data: bytes) -> int | None:
    """The entry count of the end-of-central-directory record, without
    reading the directory (None when absent or ZIP64)."""
    tail = data[-(_EOCD_SIZE + _MAX_COMMENT):]
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        return None
    total = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    return None if total == 0xFFFF else total


def check(data: bytes, limits: Limits | None = None, *, refuse: Callable[[object], Exception] = ArchiveRefused) -> None:
    """Raise ``refuse(message)`` if the ZIP archive ``data`` exceeds ``limits``
    (default: the application's configuration)."""
    limits = limits or current_limits()
    declared = _declared_entry_count(data)
    if declared is not None and declared > limits.max_entries:
        raise refuse(_too_many(declared, limits))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, struct.error, OSError):
        return  # not a readable archive: the format's own parser says so
    if len(entries) > limits.max_entries:
        raise refuse(_too_many(len(entries), limits))
    total = 0
    for entry in entries:
        total += entry.file_size
        if total > limits.max_uncompressed_bytes:
            raise refuse(
                _l(
                    "文件已拒绝：解压后的内容超过 %(limit)s（可能是“压缩炸弹”）。请检查文件后重新上传。",
                    limit=_mb(limits.max_uncompressed_bytes),
                )
            )
        if entry.file_size >= limits.ratio_min_bytes:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if ratio > limits.max_ratio:
                raise refuse(
                    _l(
                        "文件已拒绝：其中的部分内容压缩比异常（%(ratio)d:1，上限 %(max)d:1），"
                        "可能是“压缩炸弹”。请检查文件后重新上传。",
                        ratio=int(ratio),
                        max=limits.max_ratio,
                    )
                )


def _too_many(count: int, limits: Limits):
    return _l(
        "文件已拒绝：压缩包中的文件数（%(n)d）超过上限 %(max)d。请检查文件后重新上传。",
        n=count,
        max=limits.max_entries,
    )
