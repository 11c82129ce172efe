"""The CLI speaks Vietnamese to the offices: the demo and the directive commands by default,
every command with ``--lang vi`` or ``WORKFLOW_LANG=vi``; English when asked. Real processes,
with a clean environment (no WORKFLOW_LANG, the C locale)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from cli_runner import workflow_argv

NUMBER = "19-CV/ĐUK"
REPORT = ("directive", "report", NUMBER, "--at", "2020-09-25T17:00:00+07:00")
VI_STATUSES = ("hoàn thành đúng hạn", "hoàn thành trễ hạn", "đang thực hiện", "quá hạn")
# what the report said in English before it spoke Vietnamese, and says with --lang en
ENGLISH_WORDS = re.compile(
    r"\b(done|done_late|open|overdue|late|on time|in progress|as of|items|deadline|status|"
    r"stage|instance|unit)\b",
    re.IGNORECASE,
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WORKFLOW_LANG", "LANGUAGE", "LC_", "LANG"))}
    return {**env, "LANG": "C.UTF-8", **extra}


def _workflow(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(workflow_argv(*args), cwd=cwd, env=_env(**env), capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[str, str]:
    """``workflow demo --quiet`` as a user runs it: its output and the database it left."""
    folder = tmp_path_factory.mktemp("demo")
    done = _workflow("demo", "--quiet", cwd=folder)
    assert done.returncode == 0, done.stderr
    return done.stdout, f"sqlite:///{folder / 'demo.db'}"


def _report_part(text: str) -> str:
    """The report: from its heading line to the end of its table."""
    return text.split("\n\n== ", maxsplit=1)[0]


def test_the_demo_ends_with_the_report_in_vietnamese(demo):
    out, _ = demo
    assert out.startswith("== báo cáo tiến độ ==\n")
    report = _report_part(out)
    assert "tính đến 25/09/2020 17:00 (giờ Asia/Ho_Chi_Minh)" in report
    assert all(status in report for status in VI_STATUSES)
    assert "trễ hạn" in report
    assert " ngày " in report
    assert "== kiểm tra nhật ký: đạt:" in out


def test_the_report_in_vietnamese_shows_no_english_status_word(demo, tmp_path):
    _, db = demo
    done = _workflow("--db", db, *REPORT, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # unit codes (ban_to_chuc) are codes, not words: drop the first column before looking
    text = "\n".join(line.split(" ", 1)[-1] for line in done.stdout.splitlines())
    assert ENGLISH_WORDS.findall(text) == []
    assert all(status in text for status in VI_STATUSES)
    assert "15/09/2020 00:00" in text  # the deadline, on Hà Nội's clock, day first
    assert "tính đến 25/09/2020 17:00 (giờ Asia/Ho_Chi_Minh)" in done.stdout


def test_english_when_asked_by_option_or_environment(demo, tmp_path):
    _, db = demo
    by_option = _workflow("--db", db, "--lang", "en", *REPORT, cwd=tmp_path)
    by_env = _workflow("--db", db, *REPORT, cwd=tmp_path, WORKFLOW_LANG="en")
    assert by_option.stdout == by_env.stdout
    assert "as of 2020-09-25 17:00 (Asia/Ho_Chi_Minh)" in by_option.stdout
    assert "done on time" in by_option.stdout
    assert "hoàn thành" not in by_option.stdout


def test_codes_instead_of_labels(demo, tmp_path):
    _, db = demo
    done = _workflow("--db", db, *REPORT, "--codes", cwd=tmp_path)
    assert "archiving.archived" in done.stdout
    assert "done_late" in done.stdout
    assert "Đã lưu trữ" not in done.stdout


def test_an_error_is_in_the_language_asked_for(demo, tmp_path):
    _, db = demo
    vi = _workflow("--db", db, "--lang", "vi", "show", "999999", cwd=tmp_path)
    en = _workflow("--db", db, "show", "999999", cwd=tmp_path)
    assert (vi.returncode, vi.stderr) == (1, "lỗi: không tìm thấy hồ sơ 999999\n")
    assert (en.returncode, en.stderr) == (1, "error: instance 999999 not found\n")


def test_a_vietnamese_locale_speaks_vietnamese(demo, tmp_path):
    _, db = demo
    done = _workflow("--db", db, "show", "999999", cwd=tmp_path, LANG="vi_VN.UTF-8")
    assert done.stderr == "lỗi: không tìm thấy hồ sơ 999999\n"


def test_an_unknown_language_is_a_usage_error(tmp_path):
    done = _workflow("--lang", "fr", "db", "current", cwd=tmp_path)
    assert done.returncode == 2
    assert "'fr' is not one of 'vi', 'en'" in done.stderr
