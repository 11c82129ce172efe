"""``workflow users`` and ``workflow tokens``: accounts and tokens from the command line, each
change in the administrators' log, secrets shown once and never listed."""

from __future__ import annotations

import io
import json

import pytest
from cli_runner import run_cli

from workflow import Engine
from workflow.accounts import LoginThrottle, check_password, principal_for_token


@pytest.fixture
def registered(payment: Engine, database_url: str) -> str:
    payment.add_actor("lan", ["clerk"], unit="u1")
    return database_url


def test_users_add_reads_the_password_from_stdin_and_lists_no_secret(
    registered, capsys, monkeypatch
):
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine password\n"))
    code, output = run_cli(capsys, registered, "users add lan --actor lan --password-stdin")
    assert (code, output.strip()) == (0, "account lan: acts as lan")
    code, output = run_cli(capsys, registered, "users list --json")
    (listed,) = json.loads(output)
    assert (listed["name"], listed["actor"], listed["disabled"]) == ("lan", "lan", False)
    assert "password" not in output
    with Engine.open(registered) as engine:
        assert check_password(engine, "lan", "a fine password", throttle=LoginThrottle())
    code, _ = run_cli(capsys, registered, "users disable lan")
    assert code == 0


def test_users_add_refuses_a_short_password_and_an_unknown_actor(registered, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, output = run_cli(capsys, registered, "users add lan --actor lan --password-stdin")
    assert code == 2
    assert "at least 8 characters" in output
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine password\n"))
    code, output = run_cli(capsys, registered, "users add x --actor ghost --password-stdin")
    assert code == 1
    assert "actor ghost not found" in output


def test_tokens_create_shows_the_secret_once_then_list_and_revoke(registered, capsys):
    code, output = run_cli(capsys, registered, "tokens create --actor lan --expires 90d --json")
    assert code == 0, output
    created = json.loads(output)
    with Engine.open(registered) as engine:
        assert principal_for_token(engine, created["secret"]).actor.id == "lan"
    code, output = run_cli(capsys, registered, "tokens list --json")
    (listed,) = json.loads(output)
    assert (listed["id"], listed["actor"], listed["active"]) == (created["id"], "lan", True)
    assert created["secret"] not in output
    code, output = run_cli(capsys, registered, f"tokens revoke {created['id']}")
    assert (code, output.strip()) == (0, f"token {created['id']}: revoked")
    code, output = run_cli(capsys, registered, "tokens list --json")
    assert json.loads(output)[0]["active"] is False
    code, output = run_cli(capsys, registered, "audit admin-log --json")
    actions = [e["action"] for e in json.loads(output)]
    assert actions[:2] == ["token-revoked", "token"]


@pytest.mark.parametrize("expires", ["0d", "forever", "20000d"])
def test_tokens_create_refuses_a_bad_lifetime(registered, capsys, expires):
    code, _ = run_cli(capsys, registered, f"tokens create --actor lan --expires {expires}")
    assert code == 2


def test_users_and_tokens_speak_vietnamese(registered, capsys, monkeypatch):
    """Every line the account and token commands print is in the catalogue (``--lang vi``)."""
    monkeypatch.setattr("sys.stdin", io.StringIO("a fine password\n"))
    command = "--lang vi users add lan --actor lan --password-stdin"
    code, output = run_cli(capsys, registered, command)
    assert (code, output.strip()) == (0, "tài khoản lan: thực hiện với tư cách lan")
    monkeypatch.setattr("sys.stdin", io.StringIO("another fine one\n"))
    code, output = run_cli(capsys, registered, "--lang vi users password lan --password-stdin")
    assert (code, output.strip()) == (0, "tài khoản lan: đã đổi mật khẩu")
    code, output = run_cli(capsys, registered, "--lang vi users disable lan")
    assert (code, output.strip()) == (0, "tài khoản lan: đã tắt")
    code, output = run_cli(capsys, registered, "--lang vi users disable lan --enable")
    assert (code, output.strip()) == (0, "tài khoản lan: đã bật lại")
    code, output = run_cli(capsys, registered, "--lang vi users list")
    assert "tạo lúc" in output
    code, output = run_cli(capsys, registered, "--lang vi tokens create --actor lan --expires 1d")
    first, secret = output.strip().splitlines()
    assert first.startswith("mã truy cập 1 cho lan, hết hạn ")
    assert secret.startswith("wft_")
    code, output = run_cli(capsys, registered, "--lang vi tokens list")
    assert "còn hiệu lực" in output
    assert secret not in output
    code, output = run_cli(capsys, registered, "--lang vi tokens revoke 1")
    assert (code, output.strip()) == (0, "mã truy cập 1: đã thu hồi")
