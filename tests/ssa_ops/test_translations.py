import shutil
import subprocess
from pathlib import Path

import pytest

PO_FILE = Path(__file__).resolve().parents[2] / "locale/zh_Hans/LC_MESSAGES/django.po"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext (Debian package) missing")
def test_every_interface_string_has_a_checked_chinese_translation():
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO_FILE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    # "N translated messages." alone: no fuzzy and no untranslated entries.
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr
