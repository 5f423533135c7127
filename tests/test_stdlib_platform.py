"""platform/ is a source folder, never a package shadowing the stdlib module."""
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_platform_is_the_standard_library_module():
    import platform

    assert Path(platform.__file__).parent == Path(sysconfig.get_paths()["stdlib"])
    assert callable(platform.python_version)


def test_no_python_file_directly_in_platform_folder():
    assert not list((ROOT / "platform").glob("*.py"))


def test_stdlib_platform_wins_even_from_the_project_root():
    # Running from the checkout root puts '' on sys.path; 'platform' must still be stdlib.
    out = subprocess.run(
        [sys.executable, "-c", "import platform, procure; print(platform.__file__); print(platform.system())"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert "site-packages" not in out[0] and not out[0].startswith(str(ROOT))
    assert out[1]
