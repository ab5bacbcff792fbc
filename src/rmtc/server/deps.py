"""What every route depends on: who is calling (:class:`Principal`), what they may do, and a
:class:`~rmtc.api.tracker.Tracker` that sees only what they may see and attributes what they write.

Use in a route::

    @router.get("/p/{project}/things")
    def things(project: str, principal: Principal = Depends(require(Role.viewer))):
        tracker = tracker_for(principal, project)   # NotFound (404) outside the token's projects
        ...

No token, or a malformed, unknown or revoked one: 401. A role too low for the route: 403. Another
project's data: 404, so that existence never leaks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Depends, Request

from rmtc.api.tracker import Tracker
from rmtc.core.clock import Clock, SystemClock
from rmtc.core.entities import Entity
from rmtc.errors import Forbidden, NotFound, Unauthorized
from rmtc.server.scope import ScopedStore
from rmtc.store.sql.auth import ALL_PROJECTS, AuthStore, Role, token_id_of

if TYPE_CHECKING:
    from rmtc.blobs.protocol import BlobStore
    from rmtc.server.settings import ServerSettings
    from rmtc.store.protocol import MetadataStore

__all__ = ["Principal", "Role", "ServerContext", "context", "require", "tracker_for", "visible"]


@dataclass
class ServerContext:
    """The shared state of one service process: the store, the blob store, users and tokens."""

    settings: ServerSettings
    store: MetadataStore
    blobs: BlobStore
    auth: AuthStore
    clock: Clock = field(default_factory=SystemClock)

    def close(self) -> None:
        self.store.close()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user, a role, and the projects they may see (``"*"``: all)."""

    user: str
    role: Role
    projects: frozenset[str]
    token_id: str = ""
    context: ServerContext | None = field(default=None, compare=False, repr=False)

    @property
    def sees_all(self) -> bool:
        return ALL_PROJECTS in self.projects

    def sees(self, project: str) -> bool:
        return self.sees_all or project in self.projects


def context(request: Request) -> ServerContext:
    ctx = getattr(request.app.state, "rmtc", None)
    assert isinstance(ctx, ServerContext), "create_app() sets app.state.rmtc"
    return ctx


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(request: Request) -> Principal:
    """The principal of a request's token; ``Unauthorized`` without a live token."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized(
            "this request needs an API token",
            hint="send 'Authorization: Bearer TOKEN' (set RMTC_TOKEN); an admin creates one with "
            "`rmtc token create USER` on the server",
        )
    ctx = context(request)
    user = ctx.auth.authenticate(token)
    if user is None:
        raise Unauthorized(
            "the API token is malformed, unknown or revoked",
            hint="ask an admin for a new token (`rmtc token create USER`)",
        )
    principal = Principal(user.name, user.role, user.projects, token_id_of(token) or "", ctx)
    request.state.principal = principal
    return principal


@functools.cache
def require(role: Role) -> Callable[..., Principal]:
    """A dependency that authenticates the request and refuses a role below ``role`` (403)."""

    def dependency(request: Request) -> Principal:
        principal = authenticate(request)
        if principal.role < role:
            raise Forbidden(
                f"user {principal.user!r} is a {principal.role.name}; this needs {role.name} or above",
                hint="ask an admin for a role that allows it",
            )
        return principal

    dependency.__name__ = f"require_{role.name}"
    return dependency


def scoped_store(principal: Principal) -> ScopedStore:
    assert principal.context is not None, "principals come from require()"
    return ScopedStore(principal.context.store, principal)


def tracker_for(principal: Principal, project: str) -> Tracker:
    """A tracker over the shared store for one project, as ``principal`` sees it, attributing every
    write to them. Raises ``NotFound`` when the principal may not see ``project``."""
    if not principal.sees(project):
        raise NotFound(f"no project {project!r}", hint="check the project name and your token's projects")
    ctx = principal.context
    assert ctx is not None, "principals come from require()"
    return Tracker(
        scoped_store(principal),
        ctx.blobs,
        clock=ctx.clock,
        user=principal.user,
        project=project,
    )


def visible(principal: Principal, entity: Entity) -> Entity:
    """The entity, or ``NotFound`` when its project is outside the principal's scopes."""
    if not principal.sees(entity.project):
        raise NotFound(f"no entity {entity.id}", hint="check the id and your token's projects")
    return entity


def project_tracker(role: Role) -> Callable[..., Tracker]:
    """A dependency giving :func:`tracker_for` the route's ``{project}`` (for ``/p/{project}/…`` routes)."""

    needed = Depends(require(role))

    def dependency(project: str, principal: Principal = needed) -> Tracker:
        return tracker_for(principal, project)

    dependency.__name__ = f"project_tracker_{role.name}"
    return dependency
