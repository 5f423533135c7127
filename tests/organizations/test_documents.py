"""Document uploads are judged by content, never by file name."""
import hashlib
import io

import pytest

from procure.errors import DomainError
from procure.organizations import documents
from tests.organizations import files

LIMIT = 1024 * 1024


@pytest.fixture(autouse=True)
def _ctx(app):
    with app.test_request_context():
        yield


def refused(data, limit=LIMIT):
    with pytest.raises(DomainError) as info:
        documents.sniff(data, max_bytes=limit)
    return str(info.value.message)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(files.pdf(), "application/pdf"), (files.png(), "image/png"), (files.jpeg(), "image/jpeg")],
)
def test_real_files_are_recognised(data, content_type):
    sniffed = documents.sniff(data, max_bytes=LIMIT)
    assert sniffed.content_type == content_type
    assert sniffed.sha256 == hashlib.sha256(data).hexdigest()
    assert sniffed.size == len(data)


def test_executable_is_refused_with_what_it_is():
    assert "Windows 可执行程序" in refused(files.exe())


@pytest.mark.parametrize(
    ("data", "what"),
    [(b"PK\x03\x04rest", "压缩包"), (b"<html><body>hi</body></html>", "网页或脚本"), (b"GIF89a....", "GIF")],
)
def test_other_known_types_refused(data, what):
    text = refused(data)
    assert what in text and "PDF、JPG、PNG" in text


def test_unknown_content_refused():
    assert "无法识别的文件内容" in refused(b"just some text, named certificate.pdf")


def test_truncated_pdf_refused():
    assert "PDF 文件不完整" in refused(files.pdf()[:-7])


def test_corrupt_png_header_refused():
    data = bytearray(files.png())
    data[20] ^= 0xFF  # inside IHDR: the CRC no longer matches
    assert "PNG 图片已损坏" in refused(bytes(data))


def test_oversized_refused_with_both_sizes():
    text = refused(files.pdf(extra=2048), limit=1024)
    assert "文件太大" in text and "1 KB" in text


def test_empty_refused():
    assert refused(b"") == "文件是空的。"


def test_original_name_is_display_only():
    assert documents.clean_original_name("../../etc/passwd") == "passwd"
    assert documents.clean_original_name("C:\\Users\\a\\证书.pdf") == "证书.pdf"
    assert documents.clean_original_name("") == "document"
