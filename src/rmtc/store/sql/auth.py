"""Service users and API tokens, kept in the same database as the metadata (migration ``0002``).

A token is ``rmtc_<id>_<secret>``: ``id`` is public (it names the token in ``rmtc token revoke`` and
in logs), ``secret`` is 256 random bits shown once, at creation, and stored only as its SHA-256. A
slow password hash is not needed: the secret has full entropy, so its hash cannot be brute-forced.
Checking a token looks the row up by id and compares hashes in constant time; a revoked token (or
one of a removed user) fails on the very next request, since nothing is cached.

There are no default credentials: the first admin is created with ``rmtc user add NAME --role admin``
on the server machine, which has direct access to the database.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from rmtc.errors import Conflict, InvalidInput, NotFound
from rmtc.store.sql.engine import Database
from rmtc.store.sql.schema import tokens, users

TOKEN_PREFIX = "rmtc_"  # noqa: S105 - a prefix, not a secret
ALL_PROJECTS = "*"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_TOKEN = re.compile(r"^rmtc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


class Role(enum.IntEnum):
    """What a user may do: ``viewer`` reads, ``artist`` also writes, ``admin`` also purges, revokes
    and lists everything. Ordered, so ``principal.role >= Role.artist`` reads as it means."""

    viewer = 1
    artist = 2
    admin = 3

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().lower()]
        except KeyError:
            raise InvalidInput(
                f"{text!r} is not a role", hint=f"use one of: {', '.join(r.name for r in cls)}"
            ) from None


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: Role
    projects: frozenset[str]
    created_at: datetime

    def sees(self, project: str) -> bool:
        return ALL_PROJECTS in self.projects or project in self.projects


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    user: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def token_id_of(token: str) -> str | None:
    """The public id of a well-formed token (safe to log), or ``None``."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


class AuthStore:
    """Users and tokens in a SQL store's database."""

    def __init__(self, db: Database):
        self._db = db

    def add_user(self, name: str, role: Role, projects: Sequence[str] = (ALL_PROJECTS,)) -> User:
        """Create a user. Raises ``InvalidInput`` for a bad name or no project, ``Conflict`` if taken."""
        if not _NAME.match(name):
            raise InvalidInput(
                f"{name!r} is not a valid user name",
                hint="use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
            )
        scopes = sorted({p.strip() for p in projects if p.strip()})
        if not scopes:
            raise InvalidInput(f"user {name!r} needs a project scope", hint="pass --project P (or '*')")
        now = datetime.now(UTC)

        def insert(conn: sa.Connection) -> None:
            if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
                raise Conflict(f"user {name!r} already exists", hint="pick another name, or `rmtc user ls`")
            conn.execute(sa.insert(users).values(name=name, role=role.name, projects=scopes, created_at=now))

        self._db.transact(insert)
        return User(name, role, frozenset(scopes), now)

    def users(self) -> list[User]:
        with self._db.read() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.name)).all()
        return [_user(r) for r in rows]

    def get_user(self, name: str) -> User:
        with self._db.read() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        if row is None:
            raise NotFound(f"no user {name!r}", hint="create one with `rmtc user add NAME --role R`")
        return _user(row)

    def create_token(self, user: str, name: str = "default") -> tuple[TokenInfo, str]:
        """A new token for ``user``: its info and the token text, which is never retrievable again."""
        self.get_user(user)
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        self._db.transact(
            lambda conn: conn.execute(
                sa.insert(tokens).values(
                    id=token_id, user=user, name=name, secret_hash=hash_secret(secret), created_at=now
                )
            )
        )
        return TokenInfo(token_id, user, name, now, None), f"{TOKEN_PREFIX}{token_id}_{secret}"

    def tokens(self, user: str | None = None) -> list[TokenInfo]:
        query = sa.select(tokens).order_by(tokens.c.created_at, tokens.c.id)
        if user is not None:
            query = query.where(tokens.c.user == user)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [TokenInfo(r.id, r.user, r.name, r.created_at, r.revoked_at) for r in rows]

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token by id (idempotent); raises ``NotFound`` for an unknown id."""
        if token_id.startswith(TOKEN_PREFIX):  # a whole token pasted: revoke it, never echo it
            token_id = token_id_of(token_id) or ""
        now = datetime.now(UTC)

        def revoke(conn: sa.Connection) -> TokenInfo:
            row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).first()
            if row is None:
                raise NotFound("no such token id", hint="list tokens with `rmtc token ls`")
            revoked = row.revoked_at or now
            if row.revoked_at is None:
                conn.execute(sa.update(tokens).where(tokens.c.id == token_id).values(revoked_at=now))
            return TokenInfo(row.id, row.user, row.name, row.created_at, revoked)

        return self._db.transact(revoke)

    def authenticate(self, token: str) -> User | None:
        """The user a live token belongs to, or ``None`` (malformed, unknown, revoked, hash differs)."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        token_id, secret = match.groups()
        query = (
            sa.select(tokens.c.secret_hash, tokens.c.revoked_at, users)
            .join(users, users.c.name == tokens.c.user)
            .where(tokens.c.id == token_id)
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.secret_hash, hash_secret(secret)):
            return None
        return _user(row)


def _user(row: sa.Row[object]) -> User:
    m = row._mapping
    return User(m["name"], Role[m["role"]], frozenset(m["projects"]), m["created_at"])
