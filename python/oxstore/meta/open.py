"""Which metadata store a server uses: the embedded SQLite database in its data directory, or
a PostgreSQL database named by URL (`--meta`, OXSTORE_META) that a cluster of gateways
shares."""

from __future__ import annotations

from pathlib import Path

from oxstore.meta.store import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def check_url(url: str) -> None:
    """ValueError for a --meta value that names no store oxstore has."""
    if url and not url.startswith(POSTGRES_SCHEMES):
        raise ValueError(
            f"--meta must be a postgresql:// URL (or empty for the embedded store), got {url!r}"
        )


def open_store(url: str, sqlite_path: Path) -> Store:
    """Opens (creating or upgrading its schema) the store `url` names; "" is the embedded
    database at sqlite_path."""
    check_url(url)
    if not url:
        from oxstore.meta.sqlite import SqliteStore

        return SqliteStore(str(sqlite_path))
    from oxstore.meta.postgres import PostgresStore  # psycopg only where it is used

    return PostgresStore(url)


def describe(url: str) -> str:
    """The store, for the operator, without the password a URL may carry."""
    if not url:
        return "embedded SQLite"
    scheme, _, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}{at}{place}" if at else url
