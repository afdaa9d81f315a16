"""Several threads and several processes sharing one SQLite metadata database."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pytest

from oxstore.meta.store import BucketExistsError
from tests.meta.helpers import Blocking, bucket_record, object_record, open_sqlite

ROUNDS = 150


def process_worker(path: str, worker: int, barrier: Barrier, results: Queue[int]) -> None:
    """Runs in a child process; reports how many of the raced-for buckets it created."""
    meta = open_sqlite(path)
    barrier.wait()
    created = 0
    for i in range(20):  # every process races for the same bucket names
        try:
            meta.create_bucket(bucket_record(f"race-{i}", owner=f"W{worker}"))
            created += 1
        except BucketExistsError as exc:
            assert exc.owner.startswith("W")
    for i in range(ROUNDS):
        meta.put_object(object_record("shared", f"own-{worker}-{i:04d}", data_id=f"{worker}-{i}"))
        meta.put_object(object_record("shared", f"both-{i % 10}", data_id=f"b{worker}-{i}"))
        if i % 3 == 0:
            meta.delete_object("shared", f"own-{worker}-{i:04d}")
        if i % 25 == 0:
            page = meta.list_objects("shared", "", "-", "", 1000)
            assert set(page.common_prefixes) <= {"both-", "own-"}
    meta.close()
    results.put(created)


@pytest.fixture
def meta(db_path: str) -> Iterator[Blocking]:
    """These tests are about SQLite: the model over it, whatever BACKENDS hold."""
    blocking = open_sqlite(db_path)
    yield blocking
    blocking.close()


def test_processes_write_concurrently(db_path: str) -> None:
    setup = open_sqlite(db_path)
    setup.create_bucket(bucket_record("shared"))
    setup.close()
    workers = 3
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results: Queue[int] = ctx.Queue()
    procs = [
        ctx.Process(target=process_worker, args=(db_path, w, barrier, results))
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    created = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    assert sum(created) == 20  # each name won exactly once
    meta = open_sqlite(db_path)
    try:
        keys = [o.key for o in meta.list_objects("shared", max_keys=1000).contents]
        for w in range(workers):
            own = [k for k in keys if k.startswith(f"own-{w}-")]
            assert own == [f"own-{w}-{i:04d}" for i in range(ROUNDS) if i % 3 != 0]
        assert [k for k in keys if k.startswith("both-")] == [f"both-{i}" for i in range(10)]
        # every replaced or deleted data id is garbage, exactly the live ones are referenced
        garbage = set(meta.take_garbage(time.time() + 1, 100_000))
        live = set()
        for key in keys:
            record = meta.get_object("shared", key)
            assert record is not None
            live.add(record.data_id)
        every = {f"{w}-{i}" for w in range(workers) for i in range(ROUNDS)}
        every |= {f"b{w}-{i}" for w in range(workers) for i in range(ROUNDS)}
        assert garbage == every - live
        assert not garbage & live
        assert len(meta.list_buckets(None)) == 21
    finally:
        meta.close()


def test_threads_share_one_store(meta: Blocking, bucket: str) -> None:
    errors: list[BaseException] = []
    threads = 8

    def work(t: int) -> None:
        try:
            for i in range(40):
                meta.put_object(object_record(bucket, f"t{t}/k{i:03d}", inline=b"x" * i))
                assert meta.get_object(bucket, f"t{t}/k{i:03d}") is not None
                meta.put_object(object_record(bucket, "hot", data_id=f"{t}-{i}"))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    page = meta.list_objects(bucket, delimiter="/")
    assert page.common_prefixes == [f"t{t}/" for t in range(threads)]
    assert len(meta.list_objects(bucket, prefix="t3/").contents) == 40
    hot = meta.get_object(bucket, "hot")
    assert hot is not None
    assert len(meta.take_garbage(time.time() + 1, 1000)) == threads * 40 - 1
    # one connection per thread, kept: the workers, this one, the group committer and the
    # threads listings read on, not one per call
    assert len({id(db) for _, db in meta.store._connections}) <= threads + 4


def _child_uses_inherited_store(meta: Blocking, bucket: str) -> None:
    meta.put_object(object_record(bucket, "from-child"))
    assert meta.get_object(bucket, "from-parent") is not None


def test_store_survives_a_fork(meta: Blocking, bucket: str) -> None:
    meta.put_object(object_record(bucket, "from-parent"))
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_child_uses_inherited_store, args=(meta, bucket))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert meta.get_object(bucket, "from-child") is not None
    meta.put_object(object_record(bucket, "parent-again"))


def test_group_commit_fails_writes_alone(meta: Blocking, bucket: str) -> None:
    """Writes that share a group transaction fail one by one: a failing condition rolls back
    its own write only."""
    from oxstore.meta.store import NoSuchBucketError

    def refuse(current: object) -> None:
        raise ValueError("precondition")

    results: dict[int, object] = {}

    def work(i: int) -> None:
        try:
            if i % 3 == 0:
                meta.put_object(object_record(bucket, f"g{i}"), condition=refuse)
            elif i % 3 == 1:
                meta.put_object(object_record("no-such-bucket", f"g{i}"))
            else:
                meta.put_object(object_record(bucket, f"g{i}", inline=b"ok"))
            results[i] = "ok"
        except (ValueError, NoSuchBucketError) as exc:
            results[i] = type(exc).__name__

    pool = [threading.Thread(target=work, args=(i,)) for i in range(60)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    for i in range(60):
        expected = ["ValueError", "NoSuchBucketError", "ok"][i % 3]
        assert results[i] == expected, i
        assert (meta.get_object(bucket, f"g{i}") is not None) == (expected == "ok")
