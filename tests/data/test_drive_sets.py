"""Drive sets and storage policies: the default layout by drive count, the layouts policies ask
for (and the ones a set cannot hold), copies placed per site, and drives that go missing."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from oxstore.data.drives import DriveEntry, DriveSet, DriveSetError, check_entries
from oxstore.data.layouts import LayoutError, Spec, default_spec, place, spec_of, specs_of
from oxstore.meta.records import Plain, Sharded
from oxstore.topology import Region, Site, StoragePolicy, Topology


def drive_set(root: Path, sites: list[str]) -> DriveSet:
    entries = [DriveEntry(str(root / f"d{i}"), site) for i, site in enumerate(sites)]
    drives = DriveSet(entries, "store")
    drives.prepare(new=True)
    return drives


@pytest.mark.parametrize(
    ("count", "spec"),
    [(1, Spec()), (2, Spec(1, 1)), (3, Spec(2, 1)), (4, Spec(2, 2)), (5, Spec(2, 2)),
     (6, Spec(4, 2)), (8, Spec(6, 2)), (12, Spec(8, 4)), (16, Spec(8, 4))],
)  # fmt: skip
def test_the_default_layout_follows_the_drive_count(count: int, spec: Spec) -> None:
    assert default_spec(count) == spec


def test_write_quorum_is_one_more_than_k() -> None:
    assert [Spec(2, 2).quorum, Spec(4, 2).quorum, Spec(1, 2).quorum, Spec().quorum] == [3, 5, 2, 1]


def test_policies_pick_their_layout(tmp_path: Path) -> None:
    drives = drive_set(tmp_path, ["a", "a", "b", "b"])
    policy = StoragePolicy
    assert spec_of(policy(id="p", region="r"), drives) == Spec(2, 2)
    assert spec_of(policy(id="p", region="r", placement="1"), drives) == Spec(2, 2)
    assert spec_of(policy(id="p", region="r", erasure="3+1"), drives) == Spec(3, 1)
    assert spec_of(policy(id="p", region="r", placement="1+1+1"), drives) == Spec(1, 2)
    per_site = spec_of(policy(id="p", region="r", placement="2+1", sites=("a", "b")), drives)
    assert per_site == Spec(1, 2, (("a", 2), ("b", 1)))
    for bad in (
        policy(id="p", region="r", erasure="4+2"),  # 6 drives
        policy(id="p", region="r", erasure="four"),
        policy(id="p", region="r", placement="3+1", sites=("a", "b")),  # a has 2
        policy(id="p", region="r", placement="1+1", sites=("a",)),
        policy(id="p", region="r", placement="1+1+1+1+1"),
        policy(id="p", region="r", erasure="2+1", sites=("a",)),  # sites place copies only
    ):
        with pytest.raises(LayoutError):
            spec_of(bad, drives)


def test_a_site_names_drives_of_the_set_only(tmp_path: Path) -> None:
    drives = drive_set(tmp_path, ["a", "a", "b", "b"])
    named = Site(name="a", drives=(str(tmp_path / "d0"), str(tmp_path / "d1")))
    policies = (StoragePolicy(id="p", region="r", default=True),)
    regions = (Region(name="r"),)
    offer = Topology(default_region="r", regions=regions, sites=(named,), policies=policies)
    assert specs_of(offer, drives) == {"p": Spec(2, 2)}
    typo = Site(name="a", drives=(str(tmp_path / "d0"), str(tmp_path / "d9")))
    with pytest.raises(LayoutError, match="d9"):
        specs_of(msgspec.structs.replace(offer, sites=(typo,)), drives)


def test_copies_land_in_their_sites(tmp_path: Path) -> None:
    drives = drive_set(tmp_path, ["london", "london", "slough", "amsterdam"])
    spec = Spec(1, 2, (("london", 2), ("slough", 1)))
    for n in range(10):
        placed = place(spec, drives, f"{n:032x}")
        assert isinstance(placed, Sharded)
        sites = [drives[s].site for s in placed.drives]
        assert sites == ["london", "london", "slough"]
    assert isinstance(place(Spec(), drives, "0" * 32), Plain)


def test_a_drive_without_its_marker_is_offline_and_left_alone(tmp_path: Path) -> None:
    drives = drive_set(tmp_path, ["local"] * 3)
    assert drives.online() == [True, True, True]
    (tmp_path / "d1" / ".oxstore" / "drive").unlink()  # as if unmounted
    again = DriveSet([DriveEntry(str(tmp_path / f"d{i}")) for i in range(3)], "store")
    said = again.prepare(new=False)
    assert again.online() == [True, False, True]
    assert "drive 1" in said[0] and "offline" in said[0]
    assert not (tmp_path / "d1" / ".oxstore" / "drive").exists()  # not formatted behind


def test_a_drive_of_another_store_is_refused(tmp_path: Path) -> None:
    drive_set(tmp_path, ["local"])
    other = DriveSet([DriveEntry(str(tmp_path / "d0"))], "another-store")
    with pytest.raises(DriveSetError):
        other.prepare(new=True)


def test_the_set_is_the_one_the_store_keeps(tmp_path: Path) -> None:
    known = [DriveEntry("/a"), DriveEntry("/b")]
    assert check_entries(None, known) == known
    assert check_entries(known, [DriveEntry("/b"), DriveEntry("/a")]) == known  # any order
    with pytest.raises(DriveSetError):
        check_entries(known, [DriveEntry("/a")])
    with pytest.raises(DriveSetError):
        check_entries(known, [DriveEntry("/a"), DriveEntry("/b", "elsewhere")])
