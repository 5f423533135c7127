"""Decompression bombs: an uploaded ZIP-based file (XLSX today) is checked from
its central directory before anything decompresses it, and refused in
milliseconds with a clear message; nothing is stored."""
from __future__ import annotations

import io
import time
import tracemalloc
import zipfile

import pytest

from procure import archives
from tests.catalog.test_manage_xlsx import draft, officer_client, upload, workbook  # noqa: F401 (fixtures)
from tests.catalog.test_manage_edit import snapshot

LIMITS = archives.Limits(max_entries=1000, max_uncompressed_bytes=100 * 1024 * 1024, max_ratio=100,
                         ratio_min_bytes=1024 * 1024)
MB = 1024 * 1024


def _with_extra_entry(base: bytes, name: str, megabytes: int) -> bytes:
    """``base`` (a real workbook) plus an entry of ``megabytes`` MB of zeros,
    deflated (about 1000:1), streamed so the test never holds it in memory."""
    buffer = io.BytesIO(base)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        chunk = bytes(MB)
        with archive.open(info, "w", force_zip64=True) as entry:
            for _ in range(megabytes):
                entry.write(chunk)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A valid-looking workbook of about 250 KB that expands to 256 MB."""
    data = _with_extra_entry(workbook([]), "xl/worksheets/sheet2.xml", 256)
    assert len(data) < 2 * MB
    return data


def _refusal(data: bytes, limits=LIMITS) -> str | None:
    try:
        archives.check(data, limits)
    except archives.ArchiveRefused as exc:
        return str(exc.message)
    return None


def test_a_bomb_is_refused_in_milliseconds_without_decompressing(bomb):
    tracemalloc.start()
    started = time.perf_counter()
    message = _refusal(bomb)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert message is not None and "压缩炸弹" in message
    assert elapsed < 0.05, f"{elapsed * 1000:.1f} ms"
    assert peak < 10 * MB, f"peak {peak / MB:.1f} MB"


def test_a_highly_compressed_entry_is_refused_for_its_ratio_alone():
    data = _with_extra_entry(workbook([]), "xl/media/blob.bin", 5)  # 5 MB of zeros, ~1000:1, total far below the limit
    message = _refusal(data)
    assert message is not None and "压缩比" in message


def test_too_many_entries_are_refused_before_the_directory_is_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(1001):
            archive.writestr(f"x/{n}.xml", b"")
    message = _refusal(buffer.getvalue())
    assert message is not None and "1001" in message


def test_limits_come_from_the_configuration(app):
    with app.app_context():
        limits = archives.current_limits()
        assert limits.max_ratio == app.config["ARCHIVE_MAX_RATIO"]
        assert limits.max_uncompressed_bytes == app.config["ARCHIVE_MAX_UNCOMPRESSED_BYTES"]


def test_a_real_workbook_and_the_sample_pass():
    from tests.conftest import SAMPLE_XLSX

    assert _refusal(workbook([["1", "公共服务", "养老", "居家养老", "内容", "民政", "社会组织", ""]])) is None
    assert _refusal(SAMPLE_XLSX.read_bytes()) is None


def test_not_an_archive_is_left_to_the_format_parser():
    assert _refusal(b"PK\x03\x04" + bytes(200)) is None


def test_uploaded_bomb_is_refused_quickly_and_nothing_is_stored(officer_client, draft, bomb):  # noqa: F811
    before = snapshot()
    started = time.perf_counter()
    response = upload(officer_client, draft, bomb)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "压缩炸弹" in html and "目录未做任何修改" in html
    assert elapsed < 2, f"{elapsed:.2f} s"  # the whole request, page rendering included
    assert snapshot() == before
