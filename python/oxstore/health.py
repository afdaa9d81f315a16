"""Health for load balancers and orchestrators: /-/health/live (the process answers) and
/-/health/ready (this gateway can take writes: a write to the metadata store commits, the
drive set has the drives a write needs online, taking a file, and with room above the
free-space floor). Not ready answers 503 with the reasons, one per line."""

from __future__ import annotations

import asyncio
import os

from oxstore import drain
from oxstore.data.drives import DriveSet
from oxstore.http.request import Request, Response
from oxstore.s3.context import Services

PROBE_SECONDS = 5  # how long the store and the drives may take to show they take writes


async def live(req: Request, services: Services) -> Response:
    return Response(status=200, headers=[("content-type", "text/plain")], body=b"live\n")


async def ready(req: Request, services: Services) -> Response:
    reasons = await not_ready(services)
    body = ("\n".join(reasons) if reasons else "ready") + "\n"
    headers = [("content-type", "text/plain"), ("cache-control", "no-store")]
    return Response(status=503 if reasons else 200, headers=headers, body=body.encode())


async def not_ready(services: Services) -> list[str]:
    reasons = []
    if drain.marker(services.config).exists():
        reasons.append("draining: the server is stopping")
    try:
        await asyncio.wait_for(services.meta.prove_writable(), timeout=PROBE_SECONDS)
    except Exception as exc:  # any failure to answer is the reason
        reasons.append(f"metadata store: {type(exc).__name__}: {exc}")
    data = services.data
    online = data.drives.online()
    try:
        troubles = await asyncio.wait_for(
            asyncio.to_thread(_write_troubles, data.drives, online), timeout=PROBE_SECONDS
        )
    except TimeoutError:  # a hung mount: the thread goes on, the answer does not wait
        troubles = {slot: f"no write within {PROBE_SECONDS} s" for slot in range(len(online))}
    usable = sum(up and slot not in troubles for slot, up in enumerate(online))
    spec = data.default
    needed = min(spec.k + 1, spec.k + spec.m)  # the write quorum
    if usable < min(needed, len(online)):
        reasons.append(f"drives: {usable} of {len(online)} online and writable, {needed} needed")
        reasons += [f"drive {slot}: not writable: {why}" for slot, why in troubles.items()]
    for slot, up in enumerate(online):
        if up and data.min_free and _free(data.drives[slot].objects) < data.min_free:
            reasons.append(f"drive {slot}: below the free-space floor")
    return reasons


def _write_troubles(drives: DriveSet, online: list[bool]) -> dict[int, str]:
    """slot -> why a file cannot be written there, for each drive online that cannot."""
    troubles = {}
    for slot, up in enumerate(online):
        why = drives[slot].write_trouble(drives.gateway) if up else ""
        if why:
            troubles[slot] = why
    return troubles


def _free(path: str | os.PathLike[str]) -> int:
    try:
        disk = os.statvfs(path)
    except OSError:
        return 0
    return disk.f_bavail * disk.f_frsize
