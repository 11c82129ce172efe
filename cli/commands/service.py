"""``workflow serve``, ``workflow users`` and ``workflow tokens``: the HTTP service and who may
call it (docs/service.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial

import click

from workflow.i18n import N_, _

from ..context import State, by_option, json_option, pass_state

BY_HELP = N_("Who makes the change (recorded in the administrators' log).")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The port."
)
@click.option(
    "--behind-tls",
    is_flag=True,
    help="Clients reach the service through a TLS reverse proxy: cookies are marked Secure.",
)
@click.option(
    "--forwarded-allow-ips",
    metavar="IPS",
    help="Trust X-Forwarded-For/-Proto from these proxy addresses (comma-separated).",
)
@click.option(
    "--graceful-timeout",
    default=10,
    show_default=True,
    type=click.IntRange(0, 3600),
    help="Seconds requests in flight may take to finish after SIGINT/SIGTERM.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port, each with its own engine (about one per core).",
)
@pass_state
def serve(
    state: State,
    host: str,
    port: int,
    behind_tls: bool,
    forwarded_allow_ips: str | None,
    graceful_timeout: int,
    workers: int,
) -> None:
    """Serve the JSON API (and the web console, when installed) until SIGINT or SIGTERM.

    The API is at /api/v1, described at /openapi.json and /docs. TLS is the reverse proxy's job
    (docs/service.md shows one configuration); listen on 127.0.0.1 behind it.

    One process serves about one core's worth of fires (Python runs one thread at a time);
    --workers N starts N processes accepting on the same port (docs/service.md).

    \b
    Example:
      workflow serve --port 8000 --workers 2
    """
    from workflow.service import DATABASE_OPTIONS, ServiceOptions, serve_workers
    from workflow.service import serve as run

    from ..logs import configure

    # refuses an unreachable or outdated database before listening
    engine = state.engine(options=DATABASE_OPTIONS)
    options = ServiceOptions(secure_cookies=behind_tls)

    def ready() -> None:
        click.echo(
            _("serving on http://{host}:{port} (SIGINT or SIGTERM stops)", host=host, port=port),
            err=True,
        )

    serving: Callable[..., None] = partial(run, engine)
    if workers > 1:
        state.close()  # each worker opens its own
        serving = partial(
            serve_workers,
            state.db_url,
            workers=workers,
            functions=state.functions,
            prepare=f"{configure.__module__}:{configure.__name__}",  # cli or workflow_cli
        )
    serving(
        host=host,
        port=port,
        options=options,
        graceful_seconds=graceful_timeout,
        forwarded_allow_ips=forwarded_allow_ips,
        on_ready=ready,
    )


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline(4096)
        return line.rstrip("\r\n")
    value: str = click.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    return value


@click.group("users")
def users_group() -> None:
    """Accounts people log in with, each acting as a registered actor."""


@users_group.command("add")
@click.argument("name")
@click.option("--actor", "actor_id", required=True, help="The registered actor it acts as.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@by_option(BY_HELP)
@pass_state
def users_add(state: State, name: str, actor_id: str, password_stdin: bool, by: str) -> None:
    """Add an account NAME acting as ACTOR (its roles and unit come from the actor registry).
    The password is asked twice on a terminal, or read from stdin; it is stored as an Argon2id
    hash.

    \b
    Example:
      workflow users add lan --actor lan
    """
    from workflow.accounts import add_user

    password = _password(password_stdin)
    account = add_user(state.engine(create=True), name, actor_id, password, by=by)
    click.echo(_("account {name}: acts as {actor}", name=account.name, actor=account.actor_id))


@users_group.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@by_option(BY_HELP)
@pass_state
def users_password(state: State, name: str, password_stdin: bool, by: str) -> None:
    """Set a new password for account NAME.

    \b
    Example:
      workflow users password lan
    """
    from workflow.accounts import set_password

    set_password(state.engine(), name, _password(password_stdin), by=by)
    click.echo(_("account {name}: password changed", name=name))


@users_group.command("disable")
@click.argument("name")
@click.option("--enable", is_flag=True, help="Enable it again instead.")
@by_option(BY_HELP)
@pass_state
def users_disable(state: State, name: str, enable: bool, by: str) -> None:
    """Disable account NAME (it can no longer log in), or --enable it again.

    \b
    Example:
      workflow users disable lan
    """
    from workflow.accounts import disable_user

    disable_user(state.engine(), name, by=by, disabled=not enable)
    if enable:
        click.echo(_("account {name}: enabled", name=name))
    else:
        click.echo(_("account {name}: disabled", name=name))


@users_group.command("list")
@json_option
@pass_state
def users_list(state: State, as_json: bool) -> None:
    """List accounts (never their passwords).

    \b
    Example:
      workflow users list --json
    """
    from workflow.accounts import list_users

    from ..output import emit_json, table

    accounts = list_users(state.engine())
    rows = [
        {"name": a.name, "actor": a.actor_id, "disabled": a.disabled, "created_at": a.created_at}
        for a in accounts
    ]
    if as_json:
        emit_json(rows)
        return
    table([_("name"), _("actor"), _("disabled"), _("created")], [list(r.values()) for r in rows])


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for applications: shown once, stored hashed, expiring, revocable."""


@tokens_group.command("create")
@click.option("--actor", "actor_id", required=True, help="The registered actor it acts as.")
@click.option(
    "--expires", default="90d", show_default=True, help="Lifetime: 90d, 12h, P30D (at most 10y)."
)
@click.option("--label", help="What the token is for (shown by `tokens list`).")
@by_option(BY_HELP)
@json_option
@pass_state
def tokens_create(
    state: State, actor_id: str, expires: str, label: str | None, by: str, as_json: bool
) -> None:
    """Create a token acting as ACTOR. The secret is printed this once: store it now.

    \b
    Example:
      workflow tokens create --actor office-app --expires 90d --label archive-sync
    """
    from workflow import parse_span
    from workflow.accounts import create_token

    from ..output import emit_json

    try:
        lifetime = parse_span(expires)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--expires") from None
    issued = create_token(state.engine(create=True), actor_id, expires=lifetime, by=by, label=label)
    token = issued.token
    if as_json:
        emit_json(
            {"id": token.id, "actor": token.actor_id, "expires_at": token.expires_at,
             "secret": issued.secret}
        )  # fmt: skip
        return
    click.echo(
        _(
            "token {id} for {actor}, expires {at}",
            id=token.id,
            actor=token.actor_id,
            at=token.expires_at.isoformat(),
        )
    )
    click.echo(issued.secret)


@tokens_group.command("list")
@click.option("--actor", "actor_id", help="Only this actor's tokens.")
@json_option
@pass_state
def tokens_list(state: State, actor_id: str | None, as_json: bool) -> None:
    """List tokens (never their secrets).

    \b
    Example:
      workflow tokens list --actor office-app
    """
    from workflow.accounts import list_tokens

    from ..output import emit_json, table

    engine = state.engine()
    now = engine.now()
    rows = [
        {
            "id": t.id, "actor": t.actor_id, "label": t.label, "created_at": t.created_at,
            "expires_at": t.expires_at, "revoked_at": t.revoked_at, "active": t.active_at(now),
        }
        for t in list_tokens(engine, actor_id)
    ]  # fmt: skip
    if as_json:
        emit_json(rows)
        return
    table(
        [_("id"), _("actor"), _("label"), _("expires"), _("revoked"), _("active")],
        [
            [r["id"], r["actor"], r["label"], r["expires_at"], r["revoked_at"], r["active"]]
            for r in rows
        ],
    )


@tokens_group.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**63 - 1))
@by_option(BY_HELP)
@pass_state
def tokens_revoke(state: State, token_id: int, by: str) -> None:
    """Revoke token TOKEN_ID: refused from the next request on.

    \b
    Example:
      workflow tokens revoke 3
    """
    from workflow.accounts import revoke_token

    revoke_token(state.engine(), token_id, by=by)
    click.echo(_("token {id}: revoked", id=token_id))
