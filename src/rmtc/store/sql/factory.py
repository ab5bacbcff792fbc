"""Entry points of the SQL store (``rmtc.stores``: ``sqlite``, ``postgresql``, ``postgresql+psycopg``).

Loaded whenever the plug-in registry scans, so this module imports nothing heavy: SQLAlchemy, the
driver and the migrations load inside the factories, when a store is actually opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from rmtc.errors import InvalidInput, NotFound, StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from rmtc.store.sql.store import SqlStore


def open_sqlite(url: str, *, create: bool = False, synchronous: str = "NORMAL") -> SqlStore:
    """Open (or, with ``create``, create) the SQLite store at ``sqlite:///abs/path.db`` or a plain path.

    Raises:
        NotFound: the file does not exist and ``create`` is false.
        StoreError: the file is on a network filesystem, or cannot be opened.
        SchemaTooNew: a newer rmtc wrote the store.
    """
    from rmtc.store.sql import engine as eng
    from rmtc.store.sql.store import SqlStore

    path = sqlite_path(url)
    if not path.exists():
        if not create:
            raise NotFound(f"no rmtc store at {path}", hint="create one with `rmtc init`")
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise InvalidInput(f"{path} is a directory, not a SQLite store", hint="give the path of the .db file")
    eng.refuse_network_filesystem(path.parent)
    db = eng.Database(eng.sqlite_engine(path, synchronous=synchronous), f"sqlite:///{path}")
    return _opened(SqlStore(db), create)


def sqlite_path(url: str) -> Path:
    """The absolute file path of a SQLite URL or plain path (``sqlite:///a/b.db`` is ``/a/b.db``)."""
    text = url.strip()
    if "://" in text and not text.startswith("sqlite"):
        raise InvalidInput(f"{url!r} is not a SQLite URL", hint="write sqlite:///path/to/store.db or a path")
    if text.startswith("sqlite"):
        scheme, sep, rest = text.partition("://")
        if not sep or scheme not in ("sqlite", "sqlite+pysqlite"):
            raise InvalidInput(f"{url!r} is not a SQLite URL", hint="write sqlite:///path/to/store.db")
        text = unquote(rest.split("?", 1)[0])
        if not text.startswith("/"):
            raise InvalidInput(f"{url!r} has no absolute path", hint="write sqlite:///absolute/path/store.db")
        text = "/" + text.lstrip("/")
    if not text or text == ":memory:" or text.endswith("/:memory:"):
        raise InvalidInput("an in-memory SQLite store cannot be shared or kept", hint="give a file path")
    return Path(text).expanduser().resolve()


def open_postgresql(url: str, *, create: bool = False) -> SqlStore:
    """Open the PostgreSQL store at ``postgresql://`` or ``postgresql+psycopg://`` (psycopg 3 either way).

    With ``create``, a missing database is created (when the role may) and the schema installed.

    Raises:
        NotFound: the database has no rmtc schema (or does not exist) and ``create`` is false.
        StoreError: the server cannot be reached or refuses the login.
        SchemaTooNew: a newer rmtc wrote the store.
    """
    import sqlalchemy as sa

    from rmtc.store.sql import engine as eng
    from rmtc.store.sql.store import SqlStore

    parsed = postgres_url(url)
    safe = safe_url(parsed)
    db = eng.Database(eng.postgres_engine(parsed), safe)
    try:
        with db.engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        db.close()
        if not _no_such_database(exc.orig, parsed.database or ""):
            raise StoreError(
                f"cannot connect to the store at {safe}: {str(exc.orig).strip().splitlines()[-1]}",
                hint="check the host, port, user, password and that the server is running",
            ) from None
        if not create:
            raise NotFound(
                f"no rmtc store at {safe}: the database does not exist",
                hint=f"create it with `rmtc init {safe}`",
            ) from None
        _create_database(parsed)
        db = eng.Database(eng.postgres_engine(parsed), safe)
    return _opened(SqlStore(db), create)


def _no_such_database(orig: BaseException | None, name: str) -> bool:
    # At connection time libpq reports the server's message but psycopg has no SQLSTATE for it.
    return getattr(orig, "sqlstate", None) == "3D000" or f'database "{name}" does not exist' in str(orig)


def postgres_url(url: str) -> sa.URL:
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url.strip())
    except sa.exc.ArgumentError:
        raise InvalidInput(
            f"cannot read the store URL {url!r}", hint="write postgresql://user@host/db"
        ) from None
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() not in (
        "psycopg",
        "psycopg2",
        "postgresql",
    ):
        raise InvalidInput(
            f"{safe_url(parsed)} is not a PostgreSQL URL", hint="write postgresql://user@host/db"
        )
    if not parsed.database:
        raise InvalidInput(
            f"{safe_url(parsed)} names no database", hint="write postgresql://user@host/dbname"
        )
    return parsed.set(drivername="postgresql+psycopg")


def safe_url(url: sa.URL) -> str:
    """The URL without its password (also one passed as a query parameter), safe to print and log."""
    query = {k: v for k, v in url.query.items() if k.lower() not in ("password", "passfile", "sslpassword")}
    bare = url._replace(password=None).set(query=query)
    return bare.render_as_string(hide_password=False)


def _create_database(url: sa.URL) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = url.database or ""
    try:
        with admin.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote_identifier(name)
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    except sa.exc.ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42P04":  # duplicate_database: created meanwhile
            raise StoreError(
                f"cannot create the database {name!r}: {exc.orig}",
                hint="create it as a PostgreSQL administrator, then run `rmtc init` again",
            ) from None
    except sa.exc.OperationalError as exc:
        raise StoreError(
            f"cannot create the database {name!r}: {exc.orig}",
            hint="create it as a PostgreSQL administrator, then run `rmtc init` again",
        ) from None
    finally:
        admin.dispose()


def _opened(store: SqlStore, create: bool) -> SqlStore:
    from rmtc.store.sql.migrate import ensure_schema

    try:
        ensure_schema(store.database, create=create)
    except BaseException:
        store.close()
        raise
    return store
