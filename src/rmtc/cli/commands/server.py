"""The shared service: ``rmtc serve``, and its users and tokens (``rmtc user …``, ``rmtc token …``).

Users and tokens live in the served store's database, so these commands run on the server machine
against the store itself (``--store``, ``RMTC_STORE`` or the nearest project), never through the
service: that is how the first admin comes to exist, as there are no default credentials. A token is
printed once, when created; only its hash is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from rmtc.cli import output
from rmtc.cli.state import state
from rmtc.errors import InvalidInput

user_app = typer.Typer(help="Users of the shared service: roles and project scopes.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of the shared service's users.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


def serve(
    ctx: typer.Context,
    store: str | None = typer.Option(None, "--store", "-s", help="Project folder or store URL to serve."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", "-p", min=1, max=65535, help="TCP port."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve a project over HTTP: the REST API (OpenAPI at /docs), the remote store, the Explorer."""
    from rmtc.server.run import serve as run
    from rmtc.server.settings import ServerSettings

    st = state(ctx)
    location = store or st.store or _nearest_project()
    output.err_console.print(f"serving {location} on http://{host}:{port} (API docs at /docs)")
    run(ServerSettings(store=location, blobs=st.blobs, host=host, port=port), log_level=log_level)


def _nearest_project() -> str:
    from rmtc.api.locate import resolve_location

    loc = resolve_location(None)
    return str(loc.root) if loc.root is not None else loc.store_url


@contextmanager
def _auth(ctx: typer.Context) -> Iterator[object]:
    from rmtc.api.compose import open_store
    from rmtc.api.locate import resolve_location
    from rmtc.store.sql.auth import AuthStore

    st = state(ctx)
    store = open_store(resolve_location(st.store, blobs=st.blobs), create=False)
    try:
        database = getattr(store, "database", None)
        if database is None:
            raise InvalidInput(
                f"users and tokens are managed on the server, not through {store.url}",
                hint="run this on the server machine with --store PROJECT_DIR or the database URL",
            )
        yield AuthStore(database)
    finally:
        store.close()


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., "--role", "-r", help="viewer, artist or admin."),
    project: list[str] = typer.Option(
        [], "--project", "-p", help="A project the user may see (repeat); '*' or none: all."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a user with a role and project scopes."""
    from rmtc.store.sql.auth import ALL_PROJECTS, AuthStore, Role

    with _auth(ctx) as auth:
        assert isinstance(auth, AuthStore)
        user = auth.add_user(name, Role.parse(role), project or [ALL_PROJECTS])
    info = {"name": user.name, "role": user.role.name, "projects": sorted(user.projects)}
    if json_out:
        output.print_json(info)
        return
    output.console.print(f"user {user.name} ({user.role.name}) on {', '.join(info['projects'])}")
    output.console.print(f"next: rmtc token create {user.name}")


@user_app.command("ls")
def user_ls(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the users, their roles and project scopes."""
    from rmtc.store.sql.auth import AuthStore

    with _auth(ctx) as auth:
        assert isinstance(auth, AuthStore)
        users = auth.users()
    rows = [{"name": u.name, "role": u.role.name, "projects": sorted(u.projects)} for u in users]
    if json_out:
        output.print_json(rows)
        return
    output.lines(f"{r['name']}\t{r['role']}\t{','.join(r['projects'])}" for r in rows)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The user the token acts as."),
    name: str = typer.Option("default", "--name", "-n", help="A label to tell tokens apart."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create an API token and print it once (only its hash is kept)."""
    from rmtc.store.sql.auth import AuthStore

    with _auth(ctx) as auth:
        assert isinstance(auth, AuthStore)
        info, token = auth.create_token(user, name)
    if json_out:
        output.print_json({"id": info.id, "user": info.user, "name": info.name, "token": token})
        return
    output.console.print(token, markup=False)
    output.err_console.print(
        f"token {info.id} for {info.user}: shown once; set RMTC_TOKEN to it "
        f"(revoke: rmtc token revoke {info.id})"
    )


@token_app.command("ls")
def token_ls(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user", "-u", help="Only this user's tokens."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List tokens by id (never their secrets)."""
    from rmtc.store.sql.auth import AuthStore

    with _auth(ctx) as auth:
        assert isinstance(auth, AuthStore)
        tokens = auth.tokens(user)
    rows = [
        {
            "id": t.id,
            "user": t.user,
            "name": t.name,
            "created_at": t.created_at.isoformat(),
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
        }
        for t in tokens
    ]
    if json_out:
        output.print_json(rows)
        return
    output.lines(
        f"{r['id']}\t{r['user']}\t{r['name']}\t{'revoked' if r['revoked_at'] else 'live'}" for r in rows
    )


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: str = typer.Argument(..., help="The token's id (from `rmtc token ls`)."),
) -> None:
    """Revoke a token: it fails from the very next request on."""
    from rmtc.store.sql.auth import AuthStore

    with _auth(ctx) as auth:
        assert isinstance(auth, AuthStore)
        info = auth.revoke_token(token_id)
    output.console.print(f"revoked token {info.id} of {info.user}")
