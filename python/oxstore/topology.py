"""Regions, storage policies and storage classes: what an operator offers, from a TOML file.

    default_region = "eu"
    storage_classes = ["STANDARD", "COLD"]

    [[regions]]
    name = "eu"
    endpoint = "s3-eu.example.com"     # host of the region's endpoint (virtual-host style too)

    [[sites]]                          # drives of `oxstore server DRIVE...` by site
    name = "london"
    drives = ["/srv/d1", "/srv/d2"]    # a drive in no site is in site "local"

    [[policies]]
    id = "af465a16f7aac15f6283316b0113057e"
    region = "eu"
    placement = "1+1+1"                # copies: how many in each of `sites`, in order
    sites = ["london", "slough", "amsterdam"]
    default = true                     # the region's policy for buckets that name none
    description = "London, Slough, Amsterdam"

    [[policies]]
    id = "ec"
    region = "eu"
    erasure = "4+2"                    # Reed-Solomon k+m over distinct drives of the set

A policy with neither (or placement "1") takes the drive set's default layout; `placement`
without `sites` puts that many copies on distinct drives. Without a file there is one region
(`--region`) with one default policy.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from pathlib import Path

import msgspec

DEFAULT_POLICY_ID = "default"
_PLACEMENT = re.compile(r"^\d+(\+\d+)+$")
_STORAGE_CLASS = re.compile(r"^[A-Z][A-Z0-9_]*$")


class Region(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    endpoint: str = ""


class Site(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    drives: tuple[str, ...] = ()


class StoragePolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    region: str
    placement: str = "1"
    sites: tuple[str, ...] = ()
    erasure: str = ""  # "k+m": erasure coding (instead of copies)
    default: bool = False
    description: str = ""


class Topology(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    default_region: str
    regions: tuple[Region, ...] = ()
    policies: tuple[StoragePolicy, ...] = ()
    sites: tuple[Site, ...] = ()
    storage_classes: tuple[str, ...] = ("STANDARD",)

    @classmethod
    def single(cls, region: str) -> Topology:
        """One region with one default policy (a server without a topology file)."""
        return _single(region)

    @classmethod
    def load(cls, path: str | Path) -> Topology:
        """Reads and checks a topology file; ValueError says what is wrong."""
        with open(path, "rb") as f:
            raw = tomllib.load(f)
        try:
            topology = msgspec.convert(raw, cls)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{path}: {exc}") from exc
        topology.check()
        return topology

    def check(self) -> None:
        names = [r.name for r in self.regions]
        if len(set(names)) != len(names) or self.default_region not in names:
            raise ValueError("regions must have unique names and include default_region")
        ids = [p.id for p in self.policies]
        if len(set(ids)) != len(ids):
            raise ValueError("storage policy ids must be unique")
        for policy in self.policies:
            if policy.region not in names:
                raise ValueError(f"policy {policy.id}: unknown region {policy.region}")
            if not (_PLACEMENT.match(policy.placement) or policy.placement == "1"):
                raise ValueError(f"policy {policy.id}: placement must look like 1+1+1 or 2+1")
        sites = {s.name for s in self.sites}
        for policy in self.policies:
            if policy.erasure and policy.placement not in ("", "1"):
                raise ValueError(f"policy {policy.id}: placement (copies) or erasure, not both")
            if missing := set(policy.sites) - sites:
                raise ValueError(f"policy {policy.id}: unknown sites {sorted(missing)}")
        for name in names:
            defaults = [p for p in self.policies if p.region == name and p.default]
            if len(defaults) != 1:
                raise ValueError(f"region {name} needs exactly one default storage policy")
        if "STANDARD" not in self.storage_classes or not all(
            _STORAGE_CLASS.match(c) for c in self.storage_classes
        ):
            raise ValueError("storage_classes must include STANDARD (names in upper case)")

    def site_of(self, drive: str) -> str | None:
        """The site whose drives include the directory `drive` (an absolute path)."""
        for site in self.sites:
            if any(os.path.abspath(d) == drive for d in site.drives):
                return site.name
        return None

    def region(self, name: str) -> Region | None:
        return next((r for r in self.regions if r.name == name), None)

    def policy(self, policy_id: str) -> StoragePolicy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    def default_policy(self, region: str) -> StoragePolicy:
        return next(p for p in self.policies if p.region == region and p.default)

    @property
    def signing_regions(self) -> tuple[str, ...]:
        """Regions a SigV4 scope may name: every region, the default first, and us-east-1,
        which clients sign with for a bucket whose location is empty (the default region)."""
        others = [r.name for r in self.regions if r.name != self.default_region]
        return (self.default_region, *others, "us-east-1")

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(r.endpoint for r in self.regions if r.endpoint)


@functools.cache
def _single(region: str) -> Topology:
    return Topology(
        default_region=region,
        regions=(Region(name=region),),
        policies=(StoragePolicy(id=DEFAULT_POLICY_ID, region=region, default=True),),
    )
