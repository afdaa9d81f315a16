"""The suite every metadata backend passes: ordered byte tables, snapshots, transactions that
commit whole or not at all, durably, before their caller hears back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from oxstore.meta.store import COUNTER_TABLES, COUNTERS, TABLES, Store, Tx
from tests.meta.conftest import OpenStore

T = TypeVar("T")

# keys in memcmp order, the order the model relies on (a shorter key first; 0x00 and 0xff too)
ORDERED = [
    b"",
    b"\x00",
    b"\x00\x00",
    b"\x00\x01",
    b"a",
    b"a\x00",
    b"a\x01",
    b"ab",
    b"\x7f",
    b"\xff",
]


def commit(store: Store, work: Callable[[Tx], T]) -> T:
    """A write from code that runs no event loop."""
    return asyncio.run(store.write(work))


def snapshot(store: Store, work: Callable[[Tx], T]) -> T:
    """A read from code that runs no event loop."""
    return asyncio.run(store.read(work))


def put_all(tx: Tx, table: str, keys: list[bytes]) -> None:
    for key in keys:
        tx.put(table, key, b"v" + key)


def test_get_put_delete_in_separate_tables(open_store: OpenStore) -> None:
    store = open_store()

    def write(tx: Tx) -> None:
        for n, table in enumerate(TABLES):
            tx.put(table, b"k", table.encode() + bytes([n]))
        tx.put("objects", b"k", b"replaced")
        tx.delete("refs", b"k")
        tx.delete("refs", b"never-there")

    commit(store, write)

    def read(tx: Tx) -> dict[str, bytes | None]:
        return {table: tx.get(table, b"k") for table in TABLES}

    got = snapshot(store, read)
    expected: dict[str, bytes | None] = {t: t.encode() + bytes([n]) for n, t in enumerate(TABLES)}
    expected.update(objects=b"replaced", refs=None)
    assert got == expected
    assert snapshot(store, lambda tx: tx.get("objects", b"other")) is None


def test_values_are_any_bytes(open_store: OpenStore) -> None:
    store = open_store()
    values = [b"", b"\x00", bytes(range(256)), b"x" * 100_000]
    commit(store, lambda tx: [tx.put("payloads", bytes([n]), v) for n, v in enumerate(values)])
    assert snapshot(store, lambda tx: [tx.get("payloads", bytes([n])) for n in range(4)]) == values


def test_scans_in_byte_order(open_store: OpenStore) -> None:
    store = open_store()
    commit(store, lambda tx: put_all(tx, "versions", ORDERED[::-1]))

    def scan(start: bytes, end: bytes | None = None, limit: int | None = None, rev: bool = False):  # type: ignore[no-untyped-def]
        return snapshot(
            store, lambda tx: [k for k, _ in tx.scan("versions", start, end, limit, rev)]
        )

    assert scan(b"") == ORDERED
    assert scan(b"a") == [b"a", b"a\x00", b"a\x01", b"ab", b"\x7f", b"\xff"]
    assert scan(b"a", b"ab") == [b"a", b"a\x00", b"a\x01"]  # end is exclusive
    assert scan(b"\x00", b"\x00\x01") == [b"\x00", b"\x00\x00"]
    assert scan(b"", None, 3) == ORDERED[:3]
    assert scan(b"", None, None, True) == ORDERED[::-1]
    assert scan(b"a", b"\xff", 2, True) == [b"\x7f", b"ab"]
    assert scan(b"b", b"b") == [] and scan(b"\xff\x00") == []
    assert scan(b"", None, 0) == []
    values = snapshot(store, lambda tx: dict(tx.scan("versions", b"a", b"b")))
    assert values == {k: b"v" + k for k in ORDERED[4:8]}
    assert snapshot(store, lambda tx: list(tx.scan("objects", b""))) == []  # tables do not mix


def test_scans_are_lazy(open_store: OpenStore) -> None:
    """A walk may stop anywhere and start another scan in the same snapshot."""
    store = open_store()
    commit(store, lambda tx: put_all(tx, "objects", [b"%05d" % n for n in range(5000)]))

    def walk(tx: Tx) -> list[bytes]:
        got = []
        for key, _ in tx.scan("objects", b""):
            got.append(key)
            inner = next(tx.scan("objects", key + b"\x00"))[0]  # nested scan, same snapshot
            if len(got) == 3:
                got.append(inner)
                break
        return got

    assert snapshot(store, walk) == [b"00000", b"00001", b"00002", b"00003"]


def test_a_transaction_sees_its_own_writes(open_store: OpenStore) -> None:
    store = open_store()

    def work(tx: Tx) -> list[bytes]:
        put_all(tx, "uploads", [b"b", b"a", b"c"])
        tx.delete("uploads", b"b")
        assert tx.get("uploads", b"a") == b"va"
        return [k for k, _ in tx.scan("uploads", b"")]

    assert commit(store, work) == [b"a", b"c"]


def test_a_failing_transaction_changes_nothing(open_store: OpenStore) -> None:
    store = open_store()
    commit(store, lambda tx: tx.put("buckets", b"kept", b"1"))

    def fail(tx: Tx) -> None:
        tx.put("buckets", b"new", b"1")
        tx.delete("buckets", b"kept")
        raise LookupError("refused")

    with pytest.raises(LookupError, match="refused"):
        commit(store, fail)
    assert snapshot(store, lambda tx: list(tx.scan("buckets", b""))) == [(b"kept", b"1")]


def test_concurrent_transactions_are_each_atomic(open_store: OpenStore) -> None:
    """Read-modify-write counters from many threads: no increment is lost, and transactions
    that fail take only their own writes with them."""
    store = open_store()

    def increment(tx: Tx, fail: bool) -> None:
        now = int(tx.get("refs", b"n") or b"0")
        tx.put("refs", b"n", str(now + 1).encode())
        if fail:
            raise ValueError

    failed: list[int] = []

    async def fifty() -> None:  # at once, from one event loop
        writes = [store.write(lambda tx, n=n: increment(tx, n % 5 == 0)) for n in range(50)]
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        failed.append(sum(isinstance(outcome, ValueError) for outcome in outcomes))

    threads = [threading.Thread(target=asyncio.run, args=(fifty(),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [10] * 6
    assert snapshot(store, lambda tx: tx.get("refs", b"n")) == str(6 * 40).encode()


def test_counters_add_up_without_reads(open_store: OpenStore) -> None:
    """Counter tables: adds from many writers at once, each transaction whole or not at all;
    the keys in order; a key deleted and added to again starts at zero."""
    store = open_store()
    table = COUNTER_TABLES[0]

    def add(tx: Tx, fail: bool) -> None:
        tx.add(table, b"a", (1, -2))
        tx.add(table, b"b", (0, 0, 0, 0, 0, 5))
        if fail:
            raise ValueError

    async def fifty() -> None:
        writes = [store.write(lambda tx, n=n: add(tx, n % 5 == 0)) for n in range(50)]
        await asyncio.gather(*writes, return_exceptions=True)

    threads = [threading.Thread(target=asyncio.run, args=(fifty(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = snapshot(store, lambda tx: tx.counts(table, b"", b"\xff"))
    zero = [0] * (COUNTERS - 2)
    assert rows == [
        (b"a", (160, -320, *zero)),
        (b"b", (0, 0, 0, 0, 0, 800)[:COUNTERS]),
    ]
    assert snapshot(store, lambda tx: tx.counts(table, b"a\x00", b"b")) == []

    def again(tx: Tx) -> list[tuple[bytes, tuple[int, ...]]]:
        tx.delete(table, b"a")
        tx.add(table, b"a", (7,))
        return tx.counts(table, b"a", b"a\x00")  # a transaction sees its own adds

    assert commit(store, again) == [(b"a", (7, *[0] * (COUNTERS - 1)))]


def test_a_read_is_one_snapshot(open_store: OpenStore) -> None:
    store = open_store()
    commit(store, lambda tx: put_all(tx, "garbage", [b"a", b"b"]))

    def read(tx: Tx) -> tuple[bytes | None, list[bytes]]:
        first = tx.get("garbage", b"a")
        # committed by another transaction while this read is open: not seen by it
        writer = threading.Thread(
            target=commit,
            args=(
                store,
                lambda other: (other.put("garbage", b"a", b"new"), other.put("garbage", b"c", b"")),
            ),
        )
        writer.start()
        writer.join()
        return first, [v for _, v in tx.scan("garbage", b"")] + [tx.get("garbage", b"a") or b""]

    assert snapshot(store, read) == (b"va", [b"va", b"vb", b"va"])
    assert snapshot(store, lambda tx: tx.get("garbage", b"a")) == b"new"


def test_a_commit_is_seen_everywhere_once_it_resolves(open_store: OpenStore) -> None:
    """Once a write returns, another store over the same data sees the write."""
    first = open_store()
    commit(first, lambda tx: tx.put("parts", b"p", b"1"))
    second = open_store()
    assert snapshot(second, lambda tx: tx.get("parts", b"p")) == b"1"
    commit(second, lambda tx: tx.put("parts", b"p", b"2"))
    assert snapshot(first, lambda tx: tx.get("parts", b"p")) == b"2"
    first.close()
    assert snapshot(open_store(), lambda tx: tx.get("parts", b"p")) == b"2"


def test_first_rows_reads_the_first_row_of_each_range(open_store: OpenStore) -> None:
    store = open_store()
    commit(store, lambda tx: put_all(tx, "garbage", [b"a1", b"a2", b"b1"]))
    commit(store, lambda tx: put_all(tx, "refs", [b"x"]))
    ranges = [
        ("garbage", b"a", b"b"),
        ("refs", b"x", b"x\0"),
        ("garbage", b"c", b"d"),  # nothing there
        ("garbage", b"a2", b"c"),
        ("buckets", b"", b"\xff"),  # an empty table
    ]
    got = asyncio.run(store.first_rows(ranges))
    assert got == [(b"a1", b"va1"), (b"x", b"vx"), None, (b"a2", b"va2"), None]
    assert asyncio.run(store.first_rows([("refs", b"y", b"z")])) == [None]
