"""What only the PostgreSQL adapter does: serialization failures between gateways are run
again, a connection the server drops is opened anew, a batch's failed write takes only its own
statements with it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import psycopg

from oxstore.meta.postgres import PostgresStore
from oxstore.meta.store import Tx
from tests.postgres import Postgres


def _increment(tx: Tx) -> None:
    now = int(tx.get("refs", b"n") or b"0")
    tx.put("refs", b"n", str(now + 1).encode())


def _count(store: PostgresStore) -> bytes | None:
    return asyncio.run(store.read(lambda tx: tx.get("refs", b"n")))


def test_gateways_writing_one_row_lose_no_write(postgres: Postgres) -> None:
    """Two stores (two gateways' processes) increment one counter at once: their transactions
    conflict (SQLSTATE 40001) and are run again until every increment is in."""
    dsn = postgres.new_database()
    gateways = [PostgresStore(dsn, pool_size=4) for _ in range(2)]

    def hammer(store: PostgresStore) -> None:
        async def run() -> None:
            for _ in range(10):
                await asyncio.gather(*(store.write(_increment) for _ in range(10)))

        asyncio.run(run())

    threads = [threading.Thread(target=hammer, args=(g,)) for g in gateways for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert _count(gateways[0]) == _count(gateways[1]) == b"400"
    finally:
        for store in gateways:
            store.close()


def _end_connections(dsn: str) -> None:
    """What a restarted (or failed-over) server does to every connection a store has."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_a_connection_the_server_ends_is_opened_again(postgres: Postgres) -> None:
    store = PostgresStore(postgres.new_database(), pool_size=1)
    try:
        asyncio.run(store.write(_increment))
        _end_connections(store.dsn)
        assert _count(store) == b"1"  # the read that found it lost ran again on a new one
        _end_connections(store.dsn)
        # the write found it lost before its COMMIT went out: it committed nothing there, and
        # runs again on a new connection (once: a COMMIT lost in flight is not run again)
        asyncio.run(store.write(_increment))
        assert _count(store) == b"2"
    finally:
        store.close()


def test_a_write_failing_in_a_batch_undoes_only_its_own_statements(postgres: Postgres) -> None:
    store = PostgresStore(postgres.new_database(), pool_size=2)

    def write(name: bytes, fail: bool) -> Callable[[Tx], None]:
        def work(tx: Tx) -> None:
            tx.put("buckets", name, b"x")
            assert tx.get("buckets", name) == b"x"  # its own write, seen
            if fail:
                raise KeyError(name)

        return work

    async def together() -> list[object]:
        names = [f"b{n}".encode() for n in range(20)]
        writes = [store.write(write(name, n % 3 == 0)) for n, name in enumerate(names)]
        return await asyncio.gather(*writes, return_exceptions=True)

    try:
        outcomes = asyncio.run(together())
        failed = {n for n, outcome in enumerate(outcomes) if isinstance(outcome, KeyError)}
        assert failed == {n for n in range(20) if n % 3 == 0}
        stored = asyncio.run(store.read(lambda tx: [k for k, _ in tx.scan("buckets", b"")]))
        assert sorted(stored) == sorted(f"b{n}".encode() for n in range(20) if n % 3)
    finally:
        store.close()


def test_first_rows_in_flight_at_once_on_the_loop_and_after_a_lost_connection(
    postgres: Postgres,
) -> None:
    """Many first_rows() of one loop share its connection, each answered with its own rows;
    when the server ends that connection, reads go on (the one that found it lost is run
    again on a new connection of the loop)."""
    store = PostgresStore(postgres.new_database(), pool_size=2)

    def put_keys(tx: Tx) -> None:
        for n in range(100):
            tx.put("refs", f"k{n:03d}".encode(), str(n).encode())

    async def reads() -> list[list[tuple[bytes, bytes] | None]]:
        ranges = [
            [("refs", f"k{n:03d}".encode(), b"l"), ("buckets", b"", b"z")] for n in range(200)
        ]
        return await asyncio.gather(*(store.first_rows(r) for r in ranges))

    async def scenario() -> None:
        await store.write(put_keys)
        got = await reads()
        for n, rows in enumerate(got):
            expected = (f"k{n:03d}".encode(), str(n).encode()) if n < 100 else None
            assert rows == [expected, None], n
        with psycopg.connect(store.dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        await asyncio.sleep(0.2)  # the loop hears of it, or the next read does
        assert (await reads())[7] == [(b"k007", b"7"), None]

    try:
        asyncio.run(scenario())
    finally:
        store.close()
