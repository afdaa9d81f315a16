"""Health for load balancers and orchestrators: /-/health/live (the process answers) and
/-/health/ready (this gateway can take writes: the metadata store answers, the drive set has
the drives a write needs online and with room above the free-space floor). Not ready answers
503 with the reasons, one per line."""

from __future__ import annotations

import asyncio
import os

from oxstore import drain
from oxstore.http.request import Request, Response
from oxstore.s3.context import Services


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
        await asyncio.wait_for(services.meta.setting(b"drives"), timeout=5)
    except Exception as exc:  # any failure to answer is the reason
        reasons.append(f"metadata store: {type(exc).__name__}: {exc}")
    data = services.data
    online = data.drives.online()
    spec = data.default
    needed = min(spec.k + 1, spec.k + spec.m)  # the write quorum
    if sum(online) < min(needed, len(online)):
        reasons.append(f"drives: {sum(online)} of {len(online)} online, {needed} needed")
    for slot, up in enumerate(online):
        if up and data.min_free and _free(data.drives[slot].objects) < data.min_free:
            reasons.append(f"drive {slot}: below the free-space floor")
    return reasons


def _free(path: str | os.PathLike[str]) -> int:
    try:
        disk = os.statvfs(path)
    except OSError:
        return 0
    return disk.f_bavail * disk.f_frsize
