"""Layouts: how a storage policy spreads an object's bytes over the drive set.

- plain: one file on one drive (the fast path: served by the HTTP server's file response);
- copies: whole copies on distinct drives, a given number per site (the provider's `1+1+1`,
  `2+1`), stored as shards of a 1+m code so that every block is verified on read;
- erasure k+m: Reed-Solomon over k+m drives; any k shards rebuild the object.

Write quorum: a sharded write succeeds when at least k+1 shards (k when m is 0) are durable,
so the object survives one more lost drive before it is healed; fewer, and the write fails
leaving nothing. Read quorum: any k good shards (one good copy).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from oxstore.data.drives import DriveSet
from oxstore.meta.records import Layout, Plain, Sharded
from oxstore.topology import StoragePolicy, Topology

STRIPE_SIZE = 1 << 20  # bytes of the object per stripe (the native writer's block)
_KM = re.compile(r"^(\d+)\+(\d+)$")

# the default erasure code for a set of n drives, when the policy names no layout
_DEFAULT_CODES = ((12, 8, 4), (8, 6, 2), (6, 4, 2), (4, 2, 2), (3, 2, 1))


class LayoutError(ValueError):
    """A policy's layout cannot be placed on this drive set."""


@dataclass(frozen=True, slots=True)
class Spec:
    """What a policy asks for: `k` data shards and `m` redundant ones, placed `per_site`
    (copies: site name -> copies) or over any distinct drives. k == 1 and m == 0 is plain."""

    k: int = 1
    m: int = 0
    per_site: tuple[tuple[str, int], ...] = ()

    @property
    def plain(self) -> bool:
        return self.k == 1 and self.m == 0

    @property
    def quorum(self) -> int:
        return min(self.k + 1, self.k + self.m)


PLAIN_SPEC = Spec()


def default_spec(drives: int) -> Spec:
    """One drive: plain; two: a copy on each; three or more: an erasure code that keeps about
    a third of the set for parity."""
    if drives == 2:
        return Spec(1, 1)
    for least, k, m in _DEFAULT_CODES:
        if drives >= least:
            return Spec(k, m)
    return PLAIN_SPEC


def spec_of(policy: StoragePolicy | None, drives: DriveSet) -> Spec:
    """The layout a bucket's storage policy asks for on this drive set. LayoutError when the
    set cannot hold it (checked when the server starts, for every policy)."""
    if policy is None or (not policy.erasure and policy.placement in ("", "1")):
        return default_spec(len(drives))
    if policy.erasure:
        if policy.sites:  # an erasure code spreads over the whole set; sites place copies
            raise LayoutError(f"policy {policy.id}: sites go with placement (copies), not erasure")
        match = _KM.match(policy.erasure)
        if not match:
            raise LayoutError(f"policy {policy.id}: erasure must look like 4+2")
        k, m = int(match[1]), int(match[2])
        if not 1 <= k <= 32 or m > 32 or k + m > len(drives):
            raise LayoutError(f"policy {policy.id}: {k}+{m} needs {k + m} drives")
        return Spec(k, m)
    return _copies(policy, drives)


def _copies(policy: StoragePolicy, drives: DriveSet) -> Spec:
    counts = [int(c) for c in policy.placement.split("+")]
    sites = drives.sites()
    if not policy.sites:  # one site: the copies on distinct drives of the set
        if sum(counts) > len(drives):
            raise LayoutError(f"policy {policy.id}: {policy.placement} needs {sum(counts)} drives")
        return Spec(1, sum(counts) - 1)
    if len(policy.sites) != len(counts):
        raise LayoutError(f"policy {policy.id}: one site per count of {policy.placement}")
    for site, count in zip(policy.sites, counts, strict=True):
        if len(sites.get(site, ())) < count:
            raise LayoutError(f"policy {policy.id}: site {site} has fewer than {count} drives")
    return Spec(1, sum(counts) - 1, tuple(zip(policy.sites, counts, strict=True)))


def specs_of(topology: Topology, drives: DriveSet) -> dict[str, Spec]:
    """Every storage policy's layout on this drive set (LayoutError for one it cannot hold,
    and for a site naming a directory that is none of the set's drives: a typo would leave
    that site short of drives, or place nothing where the operator meant)."""
    given = {os.path.abspath(drive.root) for drive in drives.drives}
    for site in topology.sites:
        if stray := [d for d in site.drives if os.path.abspath(d) not in given]:
            raise LayoutError(f"site {site.name}: {', '.join(stray)} is no drive of this server")
    return {policy.id: spec_of(policy, drives) for policy in topology.policies}


def place(spec: Spec, drives: DriveSet, data_id: str) -> Layout:
    """Which drives hold the object's shards (in shard order): a rotation of the set (or of
    each site) that starts where the data id points, so objects spread evenly; the drives
    online first, so that a drive away takes no shard another could (its shard would be
    missing from the start, and a write short of its quorum refused)."""
    start = int.from_bytes(hashlib.blake2b(data_id.encode(), digest_size=8).digest())
    online = drives.online()
    if spec.plain:
        return Plain(drive=_rotation(list(range(len(drives))), start, online)[0], sums=True)
    if spec.per_site:
        sites = drives.sites()
        chosen: list[int] = []
        for site, count in spec.per_site:
            chosen += _rotation(sites[site], start, online)[:count]
    else:
        chosen = _rotation(list(range(len(drives))), start, online)[: spec.k + spec.m]
    return Sharded(k=spec.k, m=spec.m, stripe=STRIPE_SIZE, drives=tuple(chosen))


def _rotation(slots: list[int], start: int, online: list[bool]) -> list[int]:
    """The slots from where `start` points, round the set; those online before the others."""
    at = start % len(slots)
    turned = slots[at:] + slots[:at]
    return [s for s in turned if online[s]] + [s for s in turned if not online[s]]
