"""Accounts and tokens: who may call the service, as which registered actor, and what they see.

A person logs in with an account (:func:`add_user`, password hashed with Argon2id) that acts as
one registered actor, its roles and unit read from the actor registry on every authentication;
an application holds a bearer token (:func:`create_token`: shown once, stored hashed, expiring,
revocable). :func:`check_password` and :func:`principal_for_token` turn credentials into a
:class:`Principal`; failed logins are throttled in memory (:class:`LoginThrottle`) and write
nothing; every account and token change is an event of the administrators' log.
:class:`Sight` is the one rule of which instances an actor may read (its units', its
directives', those it may act on now), which the API, the event stream and the web console ask;
:func:`can_see` asks it for one instance, :func:`visible_instances` lists them.
"""

from __future__ import annotations

from workflow.accounts._credentials import (
    MAX_PASSWORD_CHARS,
    MIN_PASSWORD_CHARS,
    Account,
    IssuedToken,
    Token,
    add_user,
    check_password,
    create_token,
    disable_user,
    list_tokens,
    list_users,
    principal_for_token,
    principal_for_user,
    revoke_token,
    set_password,
    set_password_hasher,
)
from workflow.accounts._principal import ADMINISTRATOR_ROLE, AUDITOR_ROLE, Principal
from workflow.accounts._sight import Sight, can_see, count_visible, sees, visible_instances
from workflow.accounts._throttle import LoginThrottle
from workflow.errors import LoginThrottled, NotAuthenticated

__all__ = [
    "ADMINISTRATOR_ROLE",
    "AUDITOR_ROLE",
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "Account",
    "IssuedToken",
    "LoginThrottle",
    "LoginThrottled",
    "NotAuthenticated",
    "Principal",
    "Sight",
    "Token",
    "add_user",
    "can_see",
    "check_password",
    "count_visible",
    "create_token",
    "disable_user",
    "list_tokens",
    "list_users",
    "principal_for_token",
    "principal_for_user",
    "revoke_token",
    "sees",
    "set_password",
    "set_password_hasher",
    "visible_instances",
]
