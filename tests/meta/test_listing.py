"""list_objects against a brute-force model of S3's listing, paging, and the cost of skipping."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from oxstore.meta.model import objects
from oxstore.meta.model.keys import key_bytes, object_key
from oxstore.meta.model.listing import ObjectListing
from oxstore.meta.postgres import FIRST_PAGE
from oxstore.meta.records import ListPage
from oxstore.meta.sqlite import SqliteStore
from oxstore.meta.store import Tx
from tests.listing_model import SAMPLE_KEYS
from tests.meta.helpers import Blocking, CountingTx, model, object_record, utf8

ALPHABET = ["a", "b", "/", "-", "é", "😀", "\uffff", "\ue000", "\ud7ff", "日", "\x01", "z", "//"]
DELIMITERS = ["", "/", "-", "//", "é", "😀", "a/", "/a", "\uffff"]


def entries(page: ListPage) -> list[tuple[str, bool]]:
    got = [(o.key, False) for o in page.contents] + [(p, True) for p in page.common_prefixes]
    return sorted(got, key=lambda e: utf8(e[0]))


def check_page(
    meta: Blocking,
    bucket: str,
    keys: list[str],
    prefix: str,
    delimiter: str,
    after: str,
    max_keys: int,
) -> ListPage:
    expected = model(keys, prefix, delimiter, after)
    page = meta.list_objects(bucket, prefix, delimiter, after, max_keys)
    assert [o.key for o in page.contents] == sorted((o.key for o in page.contents), key=utf8)
    assert page.common_prefixes == sorted(page.common_prefixes, key=utf8)
    assert entries(page) == expected[:max_keys], (prefix, delimiter, after, max_keys)
    assert page.is_truncated == (len(expected) > max_keys)
    assert page.next_marker == (
        expected[: max(max_keys, 0)][-1][0] if max_keys > 0 and expected else ""
    )
    return page


def walk(
    meta: Blocking, bucket: str, prefix: str, delimiter: str, page_size: int
) -> list[tuple[str, bool]]:
    """Every entry, page by page, continuing from next_marker."""
    out: list[tuple[str, bool]] = []
    marker = ""
    for _ in range(10_000):
        page = meta.list_objects(bucket, prefix, delimiter, marker, page_size)
        got = entries(page)
        assert len(got) <= page_size
        out += got
        if not page.is_truncated:
            return out
        assert got, "a truncated page must make progress"
        assert page.next_marker == got[-1][0]
        marker = page.next_marker
    raise AssertionError("listing did not end")


def random_keys(rng: random.Random, count: int) -> list[str]:
    keys = {"".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 7))) for _ in range(count)}
    return sorted(keys)


def fill(meta: Blocking, bucket: str, keys: list[str]) -> None:
    for key in keys:
        meta.put_object(object_record(bucket, key))


# Beyond the shared sample: characters that are legal keys but not legal in XML 1.0, so only
# the store (not the S3 answers) can be tested with them.
FIXED_KEYS = [
    *SAMPLE_KEYS,
    "\ue000/private",
    "\uffff/last-bmp",
    "\U0010ffff",
    "a//double",
]


def test_fixed_keys(meta: Blocking, bucket: str) -> None:
    fill(meta, bucket, FIXED_KEYS)
    # UTF-8 order puts 4-byte characters after U+FFFF (UTF-16 order would not)
    listed = [o.key for o in meta.list_objects(bucket).contents]
    assert listed.index("\uffff/last-bmp") < listed.index("😀/emoji")
    assert listed.index("\ue000/private") < listed.index("\uffff/last-bmp")
    assert listed[-1] == "\U0010ffff"
    for prefix in ["", "a", "a/", "photos/", "photos/2024/", "é", "😀", "\uffff", "nothing", "a/b"]:
        for delimiter in ["", "/", "b", "/c", "//", "😀"]:
            for after in ["", "a", "a/", "a/b", "a/c", "b", "photos/2024/", "é/one", "zzz", "😀"]:
                for max_keys in [0, 1, 2, 3, 1000]:
                    check_page(meta, bucket, FIXED_KEYS, prefix, delimiter, after, max_keys)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_keys_against_the_model(meta: Blocking, bucket: str, seed: int) -> None:
    rng = random.Random(seed)
    keys = random_keys(rng, 150)
    fill(meta, bucket, keys)
    prefixes = ["", "a", "/", "é", "😀", "\uffff"] + [k[: rng.randint(1, len(k))] for k in keys[:8]]
    for prefix in prefixes:
        for delimiter in DELIMITERS:
            expected = model(keys, prefix, delimiter, "")
            markers = [""] + [rng.choice(expected)[0] for _ in range(3) if expected]
            markers += [random_keys(rng, 1)[0], prefix + "/"]
            for after in markers:
                for max_keys in [0, 1, 5, 1000]:
                    check_page(meta, bucket, keys, prefix, delimiter, after, max_keys)
            for page_size in [1, 3, 7]:
                assert walk(meta, bucket, prefix, delimiter, page_size) == expected


def test_max_keys_zero(meta: Blocking, bucket: str) -> None:
    assert meta.list_objects(bucket, max_keys=0) == ListPage([], [], False, "")
    fill(meta, bucket, ["a/1", "a/2"])
    assert meta.list_objects(bucket, max_keys=0) == ListPage([], [], True, "")
    assert meta.list_objects(bucket, prefix="b", max_keys=0).is_truncated is False
    # nothing after the marker: the only keys roll up into a prefix already listed
    page = meta.list_objects(bucket, delimiter="/", start_after="a/1", max_keys=0)
    assert page.is_truncated is False
    page = meta.list_objects(bucket, delimiter="/", start_after="a/", max_keys=0)
    assert page.is_truncated is False


def test_truncation_is_exact_at_the_end(meta: Blocking, bucket: str) -> None:
    fill(meta, bucket, ["x/1", "x/2", "y"])
    page = meta.list_objects(bucket, delimiter="/", max_keys=2)
    assert entries(page) == [("x/", True), ("y", False)]
    assert not page.is_truncated
    page = meta.list_objects(bucket, delimiter="/", max_keys=1)
    assert page.common_prefixes == ["x/"] and page.is_truncated and page.next_marker == "x/"
    page = meta.list_objects(bucket, delimiter="/", start_after="x/", max_keys=1)
    assert [o.key for o in page.contents] == ["y"] and not page.is_truncated


def test_buckets_do_not_mix(meta: Blocking, bucket: str) -> None:
    from tests.meta.helpers import bucket_record

    meta.create_bucket(bucket_record("bkt2"))
    meta.create_bucket(bucket_record("bk"))
    fill(meta, bucket, ["k1", "k2"])
    fill(meta, "bkt2", ["k0", "k3"])
    fill(meta, "bk", ["k9"])
    assert [o.key for o in meta.list_objects(bucket).contents] == ["k1", "k2"]
    assert [o.key for o in meta.list_objects("bkt2").contents] == ["k0", "k3"]
    assert [o.bucket for o in meta.list_objects("bk").contents] == ["bk"]


# -- the cost of skipping ----------------------------------------------------------------------


class Work:
    """What a read cost the backend: rows it fetched; on SQLite also the SQL statements run
    and the virtual-machine steps taken on the connection."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.vm_steps = 0
        self.fetched = 0

    def _step(self) -> int:
        self.vm_steps += 1
        return 0


@contextmanager
def measured(db: sqlite3.Connection) -> Iterator[Work]:
    work = Work()
    db.set_trace_callback(work.statements.append)
    db.set_progress_handler(work._step, 1)
    try:
        yield work
    finally:
        db.set_trace_callback(None)
        db.set_progress_handler(None, 1)


def bulk_fill(meta: Blocking, bucket: str, keys: list[str]) -> None:
    """Many objects in one transaction (put_object commits, durably, one at a time)."""

    def fill(tx: Tx) -> None:
        for key in keys:
            tx.put(
                "objects",
                object_key(bucket, key_bytes(key)),
                objects.blob(object_record(bucket, key)),
            )

    meta.write(fill)


def listing_work(
    meta: Blocking, bucket: str, prefix: str, delimiter: str, after: str, max_keys: int
) -> tuple[ListPage, CountingTx, Work]:
    counted: list[CountingTx] = []

    def page(tx: Tx) -> ListPage:
        counted.append(CountingTx(tx))
        return ObjectListing(counted[0], bucket, prefix, delimiter, after).page(max_keys)

    if isinstance(meta.store, SqliteStore):
        with measured(meta.store._db()) as work:
            listed = meta.store.read_here(page)
        work.fetched = counted[0].rows  # SQLite's cursors step one row at a time
    else:
        work = Work()
        listed = meta.snapshot(page)
        work.fetched = counted[0].tx.fetched  # type: ignore[attr-defined]
    return listed, counted[0], work


SKIP_CASES = [
    # prefix, delimiter, start_after, max_keys
    ("", "/", "", 1000),  # everything: 2 common prefixes and 2 top-level keys
    ("", "/", "dir0/", 1000),  # continue after a common prefix
    ("", "/", "dir0/k050000", 1000),  # a marker inside a common prefix
    ("dir1/", "/", "dir1/k099990", 1000),  # a marker near the end of a prefix
    ("dir1/k0999", "", "", 1000),  # a narrow prefix deep in the key space
    ("", "/", "", 0),
    ("", "/", "", 1),
]


def test_listing_cost_does_not_grow_with_skipped_keys(
    meta: Blocking, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.meta.helpers import bucket_record

    meta.create_bucket(bucket_record("small"))
    big = [f"dir{d}/k{i:06d}" for d in range(2) for i in range(100_000)] + ["a-top", "z-top"]
    small = [f"dir{d}/k{i:06d}" for d in range(2) for i in range(1_000)] + ["a-top", "z-top"]
    small += [f"dir1/k{i:06d}" for i in range(99_900, 100_000)]  # the big bucket's tail
    bulk_fill(meta, bucket, big)
    bulk_fill(meta, "small", small)
    report: list[str] = []
    for prefix, delimiter, after, max_keys in SKIP_CASES:
        for name in (bucket, "small"):  # warm up: statements prepared, schema and pages read
            listing_work(meta, name, prefix, delimiter, after, max_keys)
        page, reads, work = listing_work(meta, bucket, prefix, delimiter, after, max_keys)
        expected = model(big, prefix, delimiter, after)
        assert entries(page) == expected[:max_keys]
        assert page.is_truncated == (len(expected) > max_keys)
        small_page, small_reads, small_work = listing_work(
            meta, "small", prefix, delimiter, after, max_keys
        )
        assert entries(small_page) == entries(page)  # same answer, 100x fewer keys
        report.append(
            f"prefix={prefix!r} delimiter={delimiter!r} start_after={after!r} "
            f"max_keys={max_keys}: entries={len(entries(page))} scans={reads.scans} "
            f"rows={reads.rows} fetched={work.fetched} vm_steps={work.vm_steps} "
            f"(2,102-key bucket: fetched={small_work.fetched} vm_steps={small_work.vm_steps})"
        )
        assert reads.scans <= 4
        assert reads.rows <= len(entries(page)) + 2
        # a network store fetches a page of rows ahead per scan, never more
        assert work.fetched <= reads.rows + FIRST_PAGE * reads.scans
        assert work.fetched == small_work.fetched
        if isinstance(meta.store, SqliteStore):
            assert len(work.statements) <= 6  # the scans, BEGIN and COMMIT
            # the same listing over 100x fewer keys does the same work, give or take a
            # b-tree level
            assert work.vm_steps <= small_work.vm_steps * 1.2 + 20
            assert work.vm_steps < 20 * len(entries(page)) + 200
    # the public call (it reads on a thread of its own)
    page = meta.list_objects(bucket, "", "/", "", 1000)
    assert page.common_prefixes == ["dir0/", "dir1/"]
    assert [o.key for o in page.contents] == ["a-top", "z-top"]
    # for scale: a listing that really reads 1,000 rows
    _, reads, full = listing_work(meta, bucket, "", "", "", 1000)
    report.append(f"no delimiter, 1000 keys: fetched={full.fetched} vm_steps={full.vm_steps}")
    assert full.fetched == 1001
    with capsys.disabled():
        print(f"\n{type(meta.store).__name__}:\n" + "\n".join(report))
