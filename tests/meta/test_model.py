"""Buckets, objects, garbage and records in the metadata model."""

from __future__ import annotations

import time

import msgspec
import pytest

from oxstore.meta.model.keys import after_prefix, key_bytes, version_key
from oxstore.meta.records import BucketRecord, ObjectRecord, decode_object, encode_record
from oxstore.meta.store import BucketExistsError, NoSuchBucketError, Tx
from tests.meta.helpers import Blocking, bucket_record, object_record

# -- buckets -----------------------------------------------------------------------------------


def test_bucket_crud(meta: Blocking) -> None:
    assert meta.get_bucket("b1") is None
    rec = bucket_record("b1", owner="ALICE")
    meta.create_bucket(rec)
    assert meta.get_bucket("b1") == rec
    with pytest.raises(BucketExistsError) as info:
        meta.create_bucket(bucket_record("b1", owner="BOB"))
    assert info.value.owner == "ALICE"
    assert meta.get_bucket("b1") == rec  # unchanged


def test_list_and_count_buckets(meta: Blocking) -> None:
    for name, owner in [("zeta", "A"), ("alpha", "B"), ("mid", "A"), ("beta", "A")]:
        meta.create_bucket(bucket_record(name, owner))
    assert [b.name for b in meta.list_buckets("A")] == ["beta", "mid", "zeta"]
    assert [b.name for b in meta.list_buckets("B")] == ["alpha"]
    assert [b.name for b in meta.list_buckets(None)] == ["alpha", "beta", "mid", "zeta"]
    assert meta.list_buckets("nobody") == []
    assert meta.count_buckets("A") == 3
    assert meta.count_buckets("nobody") == 0


def test_delete_bucket(meta: Blocking) -> None:
    assert meta.delete_bucket("b") == "missing"
    meta.create_bucket(bucket_record("b"))
    meta.put_object(object_record("b", "k"))
    assert meta.delete_bucket("b") == "not_empty"
    meta.delete_object("b", "k")
    assert meta.delete_bucket("b") == "deleted"
    assert meta.get_bucket("b") is None
    assert meta.delete_bucket("b") == "missing"


def test_bucket_settings_round_trip(meta: Blocking) -> None:
    rec = bucket_record("b")
    meta.create_bucket(rec)

    def change(bucket: BucketRecord) -> None:
        bucket.versioning = "Enabled"
        bucket.acl = "[]"
        bucket.cors = "[]"
        bucket.tags = {"a": "1"}

    changed = meta.change_bucket("b", change)
    assert changed is not None and meta.get_bucket("b") == changed
    assert changed.owner == rec.owner and changed.tags == {"a": "1"}
    assert meta.change_bucket("nope", change) is None


def test_a_write_probe_leaves_nothing(meta: Blocking) -> None:
    def settings(tx: Tx) -> list[tuple[bytes, bytes]]:
        return list(tx.scan("settings", b""))

    before = meta.snapshot(settings)
    meta.prove_writable()
    assert meta.snapshot(settings) == before


# -- objects -----------------------------------------------------------------------------------


def test_object_crud(meta: Blocking, bucket: str) -> None:
    assert meta.get_object(bucket, "k") is None
    rec = ObjectRecord(
        bucket=bucket,
        key="dir/k",
        size=10,
        etag="0123456789abcdef0123456789abcdef-3",
        last_modified=1700000000.5,
        content_type="text/plain",
        headers={"content-encoding": "gzip", "cache-control": "no-cache"},
        user_meta={"color": "blue", "ünïcode": "välue"},
        checksums={"crc32": "AAAAAA=="},
        storage_class="REDUCED_REDUNDANCY",
        owner="OWNER",
        data_id="d1",
    )
    assert meta.put_object(rec) is None
    assert meta.get_object(bucket, "dir/k") == rec
    assert meta.get_object(bucket, "dir") is None
    assert meta.get_object("other", "dir/k") is None
    assert meta.delete_object(bucket, "dir/k") == rec
    assert meta.get_object(bucket, "dir/k") is None
    assert meta.delete_object(bucket, "dir/k") is None


def test_put_into_missing_bucket(meta: Blocking) -> None:
    with pytest.raises(NoSuchBucketError):
        meta.put_object(object_record("ghost", "k"))
    meta.create_bucket(bucket_record("b"))
    assert meta.delete_bucket("b") == "deleted"
    with pytest.raises(NoSuchBucketError):  # deleted meanwhile
        meta.put_object(object_record("b", "k", data_id="d"))
    assert meta.take_garbage(time.time() + 1, 10) == []


def test_replace_returns_the_old_record(meta: Blocking, bucket: str) -> None:
    first = object_record(bucket, "k", data_id="d1", size=5)
    second = object_record(bucket, "k", data_id="d2", size=7)
    assert meta.put_object(first) is None
    assert meta.put_object(second) == first
    assert meta.get_object(bucket, "k") == second


def test_inline_payloads(meta: Blocking, bucket: str) -> None:
    small = object_record(bucket, "k", inline=b"hello")
    empty = object_record(bucket, "e", inline=b"")
    meta.put_object(small)
    meta.put_object(empty)
    assert meta.get_object(bucket, "k") == small
    got = meta.get_object(bucket, "e")
    assert got is not None and got.inline == b""
    # replacing inline by inline reuses the payload row; by a data file drops it
    old = meta.put_object(object_record(bucket, "k", inline=b"bye"))
    assert old is not None and old.inline is None and old.size == 5
    assert meta.get_object(bucket, "k").inline == b"bye"  # type: ignore[union-attr]
    meta.put_object(object_record(bucket, "k", data_id="d9", size=100))
    rec = meta.get_object(bucket, "k")
    assert rec is not None and rec.inline is None and rec.data_id == "d9"
    meta.delete_object(bucket, "e")
    assert meta.snapshot(lambda tx: list(tx.scan("payloads", b""))) == []
    # listings never carry payloads
    meta.put_object(object_record(bucket, "x", inline=b"data"))
    page = meta.list_objects(bucket)
    assert [(o.key, o.inline) for o in page.contents] == [("k", None), ("x", None)]


def test_get_and_head_read_bucket_object_and_payload_at_once(meta: Blocking, bucket: str) -> None:
    """get_bucket_and_object takes the key's newest payload as the current version's only when
    it is its own; versions of a versioned key, and a stray newer payload, do not mislead it."""
    assert meta.get_bucket_and_object("nope", "k") == (None, None)
    found, record = meta.get_bucket_and_object(bucket, "k")
    assert found is not None and found.name == bucket and record is None
    meta.change_bucket(bucket, lambda b: setattr(b, "versioning", "Enabled"))
    meta.put_object(object_record(bucket, "k", inline=b"one"))
    meta.put_object(object_record(bucket, "k", data_id="d1", size=9))
    _, record = meta.get_bucket_and_object(bucket, "k")
    assert record is not None and record.data_id == "d1" and record.inline is None
    meta.put_object(object_record(bucket, "k", inline=b"three"))
    _, record = meta.get_bucket_and_object(bucket, "k")
    assert record is not None and record.inline == b"three"
    assert record.seq is not None
    stray = version_key(bucket, key_bytes("k"), record.seq + 1)  # sorts before its payload
    meta.write(lambda tx: tx.put("payloads", stray, b"stray"))
    _, record = meta.get_bucket_and_object(bucket, "k")
    assert record is not None and record.inline == b"three"


def test_unusual_keys_round_trip(meta: Blocking, bucket: str) -> None:
    keys = ["é", "😀/x", "\ud800lone", "\udc80", "a\x00b", "\uffff", " ", "a" * 1024]
    for key in keys:
        meta.put_object(object_record(bucket, key, inline=key.encode("utf-8", "surrogatepass")))
    for key in keys:
        rec = meta.get_object(bucket, key)
        assert rec is not None and rec.key == key and rec.bucket == bucket
    listed = [o.key for o in meta.list_objects(bucket).contents]
    assert listed == sorted(keys)  # code point order == UTF-8 byte order


def test_records_are_versioned_maps() -> None:
    rec = object_record("b", "k", data_id="d")
    raw = encode_record(rec)
    as_map = msgspec.msgpack.decode(raw)
    assert as_map["format"] == 1
    # a newer writer's unknown field is ignored; a missing optional field takes its default
    as_map["future_field"] = [1, 2]
    del as_map["storage_class"]
    again = decode_object(msgspec.msgpack.encode(as_map))
    assert again == rec
    bucket = BucketRecord(name="b", owner="o", created=1.0, region="r")
    assert msgspec.msgpack.decode(encode_record(bucket))["format"] == 1


# -- garbage -----------------------------------------------------------------------------------


def test_garbage_from_replace_and_delete(meta: Blocking, bucket: str) -> None:
    meta.put_object(object_record(bucket, "k", data_id="d1"))
    assert meta.is_data_referenced("d1")
    assert not meta.is_data_referenced("d2")
    meta.put_object(object_record(bucket, "k", data_id="d2"))  # d1 orphaned
    meta.put_object(object_record(bucket, "k", data_id="d2"))  # same data: nothing orphaned
    meta.put_object(object_record(bucket, "j", data_id="d3"))
    meta.delete_object(bucket, "j")  # d3 orphaned
    meta.put_object(object_record(bucket, "k", inline=b"x"))  # d2 orphaned
    meta.put_object(object_record(bucket, "k", inline=b"y"))  # inline: nothing orphaned
    later = time.time() + 1
    assert sorted(meta.take_garbage(later, 100)) == ["d1", "d2", "d3"]
    assert meta.take_garbage(0.0, 100) == []  # nothing that old
    assert len(meta.take_garbage(later, 2)) == 2
    assert meta.take_garbage(later, 100) == meta.take_garbage(later, 100)  # taking is a read
    assert meta.is_data_referenced("d1")  # queued garbage counts as referenced
    assert sorted(meta.claim_garbage(later, 100)) == ["d1", "d2", "d3"]  # claimed: gone
    assert meta.take_garbage(later, 100) == []
    assert not meta.is_data_referenced("d1")


def test_shared_data_is_not_garbage_while_referenced(meta: Blocking, bucket: str) -> None:
    meta.put_object(object_record(bucket, "a", data_id="shared"))
    meta.put_object(object_record(bucket, "b", data_id="shared"))
    meta.delete_object(bucket, "a")
    assert meta.take_garbage(time.time() + 1, 10) == []
    meta.delete_object(bucket, "b")
    assert meta.take_garbage(time.time() + 1, 10) == ["shared"]


def test_garbage_is_claimed_oldest_first(meta: Blocking, bucket: str) -> None:
    for n in (1, 2, 3):
        meta.put_object(object_record(bucket, f"k{n}", data_id=f"g{n}"))
    for n in (2, 1, 3):
        meta.delete_object(bucket, f"k{n}")
        time.sleep(0.01)
    assert meta.claim_garbage(time.time() + 1, 2) == ["g2", "g1"]
    assert meta.claim_garbage(time.time() + 1, 2) == ["g3"]


def test_after_prefix() -> None:
    assert after_prefix(b"") is None
    assert after_prefix(b"a") == b"b"
    assert after_prefix(b"a/") == b"a0"
    assert after_prefix(b"a\xff\xff") == b"b"
    assert after_prefix(b"\xff") is None
    assert after_prefix("é".encode()) == b"\xc3\xaa"
    assert after_prefix("\U0010ffff".encode()) == b"\xf4\x8f\xbf\xc0"
    for text in ["é", "😀", "\uffff", "\U0010ffff", "a/"]:
        upper = after_prefix(text.encode())
        assert upper is not None
        for tail in ["", "\x00", "z", "\U0010ffff" * 3]:
            assert (text + tail).encode() < upper


def test_a_copy_onto_itself_keeps_its_shared_data(meta: Blocking, bucket: str) -> None:
    meta.put_object(object_record(bucket, "k", data_id="d1", size=10))
    meta.put_object(object_record(bucket, "k", data_id="d1", size=10), shares_data=True)
    assert meta.take_garbage(time.time() + 1, 10) == []
    assert meta.is_data_referenced("d1")
    meta.put_object(object_record(bucket, "k", data_id="d2", size=10))
    assert meta.take_garbage(time.time() + 1, 10) == ["d1"]


# -- leases ------------------------------------------------------------------------------------


def test_a_lease_has_one_holder_until_it_expires(meta: Blocking) -> None:
    assert meta.take_lease("collector", "gw-a", 0.3)
    assert meta.take_lease("collector", "gw-a", 0.3)  # its holder renews it
    assert not meta.take_lease("collector", "gw-b", 0.3)
    assert meta.take_lease("sweep", "gw-b", 10)  # leases are separate
    time.sleep(0.35)
    assert meta.take_lease("collector", "gw-b", 10)  # expired: anyone takes it
    assert not meta.take_lease("collector", "gw-a", 10)
    meta.release_lease("collector", "gw-a")  # not its holder: nothing happens
    assert not meta.take_lease("collector", "gw-a", 10)
    meta.release_lease("collector", "gw-b")
    assert meta.take_lease("collector", "gw-a", 10)
