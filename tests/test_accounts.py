"""Accounts, passwords, tokens, the login throttle and visibility, through the library, on
SQLite and PostgreSQL: what the service and the console build on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from workflow import Actor, Engine, FrozenClock, NotFound
from workflow.accounts import (
    AUDITOR_ROLE,
    LoginThrottle,
    LoginThrottled,
    NotAuthenticated,
    add_user,
    can_see,
    check_password,
    count_visible,
    create_token,
    disable_user,
    list_tokens,
    list_users,
    principal_for_token,
    principal_for_user,
    revoke_token,
    sees,
    set_password,
    visible_instances,
)
from workflow.auditing import admin_log
from workflow.store.tables import accounts, api_tokens

PASSWORD = "a long enough one"


@pytest.fixture
def people(payment: Engine) -> Engine:
    payment.add_actor("lan", ["clerk"], unit="u_1", name="Lan")
    payment.add_actor("binh", ["clerk"], unit="uX1")
    payment.add_actor("kiem", ["clerk", AUDITOR_ROLE])
    add_user(payment, "lan", "lan", PASSWORD, by="root")
    return payment


def test_a_password_is_stored_only_as_its_argon2id_hash(people):
    with people.read_transaction() as conn:
        stored = conn.execute(select(accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_the_right_password_gives_the_registered_actor(people):
    principal = check_password(people, "lan", PASSWORD, throttle=LoginThrottle(), client="c")
    assert principal.actor == Actor("lan", ["clerk"], "u_1")
    assert (principal.account, principal.channel, principal.display_name) == (
        "user:lan", "web", "Lan",
    )  # fmt: skip


@pytest.mark.parametrize(("name", "password"), [("lan", "wrong one!"), ("nobody", PASSWORD)])
def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(people, name, password):
    with pytest.raises(NotAuthenticated) as refused:
        check_password(people, name, password, throttle=LoginThrottle())
    assert str(refused.value).startswith("not authenticated: wrong account name or password")


def test_a_disabled_account_cannot_log_in_until_enabled(people):
    disable_user(people, "lan", by="root")
    with pytest.raises(NotAuthenticated):
        check_password(people, "lan", PASSWORD, throttle=LoginThrottle())
    with pytest.raises(NotAuthenticated):
        principal_for_user(people, "lan")
    disable_user(people, "lan", by="root", disabled=False)
    assert principal_for_user(people, "lan", channel="web").actor.id == "lan"


def test_a_new_password_replaces_the_old(people):
    set_password(people, "lan", "another long one", by="root")
    throttle = LoginThrottle()
    with pytest.raises(NotAuthenticated):
        check_password(people, "lan", PASSWORD, throttle=throttle)
    assert check_password(people, "lan", "another long one", throttle=throttle).actor.id == "lan"


def test_failures_are_throttled_per_name_then_released_by_time(people):
    clock = FrozenClock(people.now())
    throttle = LoginThrottle(per_name=3, per_client=100, window=timedelta(minutes=5), clock=clock)
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            check_password(people, "lan", "not it at all", throttle=throttle, client="c")
    with pytest.raises(LoginThrottled) as throttled:
        check_password(people, "lan", PASSWORD, throttle=throttle, client="c")
    assert 0 < throttled.value.retry_after <= 300
    clock.advance(timedelta(minutes=5, seconds=1))
    assert check_password(people, "lan", PASSWORD, throttle=throttle).actor.id == "lan"


def test_failures_are_throttled_per_client_across_names(people):
    throttle = LoginThrottle(per_name=100, per_client=4)
    for name in ("a", "b", "c", "d"):
        with pytest.raises(NotAuthenticated):
            check_password(people, name, "whatever it is", throttle=throttle, client="10.0.0.9")
    with pytest.raises(LoginThrottled):
        check_password(people, "lan", PASSWORD, throttle=throttle, client="10.0.0.9")
    assert check_password(people, "lan", PASSWORD, throttle=throttle, client="10.0.0.8")


@pytest.mark.parametrize("password", ["short", "x" * 1025, "with a \x00 inside"])
def test_unfit_passwords_are_refused(people, password):
    with pytest.raises(Exception, match="password") as refused:
        add_user(people, "other", "binh", password, by="root")
    assert type(refused.value).__name__ == "InvalidInput"
    assert [a.name for a in list_users(people)] == ["lan"]


def test_an_account_needs_a_registered_actor_and_a_free_name(people):
    with pytest.raises(NotFound):
        add_user(people, "ghost", "nobody", PASSWORD, by="root")
    with pytest.raises(Exception, match="exists already"):
        add_user(people, "lan", "binh", PASSWORD, by="root")


def test_a_token_is_shown_once_stored_hashed_and_listed_without_its_secret(people):
    issued = create_token(people, "binh", expires=timedelta(days=90), by="root", label="sync")
    with people.read_transaction() as conn:
        stored = conn.execute(select(api_tokens.c.secret_hash)).scalar_one()
    assert issued.secret.startswith("wft_")
    assert issued.secret not in stored
    principal = principal_for_token(people, issued.secret)
    assert (principal.actor.id, principal.channel) == ("binh", "api")
    assert principal.account == f"token:{issued.token.id}"
    (listed,) = list_tokens(people)
    assert listed == issued.token
    assert not hasattr(listed, "secret")


def test_a_tokens_principal_is_its_actors_registry_entry(people):
    """The token's read (on the driver's cursor: every API request makes it) brings the actor's
    roles, unit and name as the registry holds them, on both backends."""
    people.add_actor("kiem2", ["clerk", AUDITOR_ROLE], unit="u_2", name="Kiểm")
    issued = create_token(people, "kiem2", expires=timedelta(days=1), by="root")
    principal = principal_for_token(people, issued.secret)
    assert (principal.actor.id, principal.actor.unit, principal.display_name) == (
        "kiem2", "u_2", "Kiểm",
    )  # fmt: skip
    assert set(principal.actor.roles) == {"clerk", AUDITOR_ROLE}
    assert principal.auditor


def test_revoked_and_expired_tokens_authenticate_no_one(people, clock):
    revoked = create_token(people, "binh", expires=timedelta(days=1), by="root")
    expiring = create_token(people, "binh", expires=timedelta(hours=1), by="root")
    revoke_token(people, revoked.token.id, by="root")
    with pytest.raises(NotFound):
        revoke_token(people, revoked.token.id, by="root")  # once
    with pytest.raises(NotAuthenticated):
        principal_for_token(people, revoked.secret)
    assert principal_for_token(people, expiring.secret)
    clock.advance(timedelta(hours=1))
    with pytest.raises(NotAuthenticated):
        principal_for_token(people, expiring.secret)
    for guess in ("", "wft_", "wft_" + "A" * 43, "Bearer x", "x" * 10_000):
        with pytest.raises(NotAuthenticated):
            principal_for_token(people, guess)


def test_every_account_and_token_change_is_in_the_administrators_log(people):
    issued = create_token(people, "binh", expires=timedelta(days=1), by="root")
    revoke_token(people, issued.token.id, by="root")
    set_password(people, "lan", "another long one", by="root")
    disable_user(people, "lan", by="root")
    recorded = [(e.action, e.subject, e.actor) for e in reversed(admin_log(people))]
    assert [r for r in recorded if r[0].startswith(("account", "token"))] == [
        ("account", "lan", "root"),
        ("token", str(issued.token.id), "root"),
        ("token-revoked", str(issued.token.id), "root"),
        ("account-password", "lan", "root"),
        ("account-disabled", "lan", "root"),
    ]
    assert people.verify().ok


def test_a_unit_sees_its_own_what_it_coordinates_and_what_has_no_unit(people):
    lan, binh = people.actor("lan"), people.actor("binh")
    kiem = people.actor("kiem")
    own = people.start("payment", lan, unit="u_1").instance
    coordinated = people.start("payment", binh, unit="uX1", coordinating_units=["u_1"]).instance
    # "u_1" as a LIKE pattern would match "uX1": the unit code is escaped
    other = people.start("payment", binh, unit="uX1", coordinating_units=["uX1x"]).instance
    nobody = people.start("payment", binh).instance
    seen = {i.id for i in visible_instances(people, lan)}
    assert seen == {own.id, coordinated.id, nobody.id}
    assert count_visible(people, lan) == 3
    placed = [(i.unit, i.coordinating_units) for i in (own, coordinated, other, nobody)]
    assert [sees(lan, *p) for p in placed] == [True, True, False, True]
    # the rule's third part: payment's clerk may pay any unit's payment, so lan sees uX1's
    # while it is open (it may act on it), and no longer once it is paid
    assert can_see(people, lan, other)
    paid = people.fire(other.id, "pay", binh, payload={"paid": 120}).instance
    assert not can_see(people, lan, paid)
    assert not can_see(people, lan, people.get(other.id))
    assert {i.id for i in visible_instances(people, kiem)} >= {own.id, other.id}
    assert {i.id for i in visible_instances(people, Actor("x", ["clerk"]))} == {nobody.id}
    assert visible_instances(people, lan, state="nothing") == []
