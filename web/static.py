"""The pages' one CSS file and one JS file, each assembled from the parts in ``web/static/css``
and ``web/static/js`` (one part per area of the site, in name order), compressed once at start-up
and served with a content hash in the URL, so browsers keep them for a year and a change is
fetched at once.

Starlette's ``StaticFiles`` serves files one by one and does not compress; two small files
made once in memory are simpler than a build step and cost nothing per request.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

__all__ = ["Asset", "Assets", "static_router"]

STATIC_DIR = Path(__file__).parent / "static"
_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    gzipped: bytes
    media_type: str
    version: str

    @property
    def url(self) -> str:
        return f"/static/{self.version}/{self.name}"


def _assemble(kind: str) -> Asset:
    parts = sorted((STATIC_DIR / kind).glob(f"*.{kind}"))
    body = b"\n".join(part.read_bytes() for part in parts)
    version = hashlib.sha256(body).hexdigest()[:12]
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(f"ruche.{kind}", body, gzipped, _TYPES[kind], version)


class Assets:
    def __init__(self) -> None:
        self.css = _assemble("css")
        self.js = _assemble("js")
        self.by_name = {asset.name: asset for asset in (self.css, self.js)}


def static_router(assets: Assets) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/static/{version}/{name}")
    async def serve(version: str, name: str, request: Request) -> Response:
        asset = assets.by_name.get(name)
        if asset is None:
            return Response(status_code=404)
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Vary": "Accept-Encoding",
            # A stale version in the URL still gets today's file, but not for a year.
            "Cache-Control": "public, max-age=31536000, immutable"
            if version == asset.version
            else "no-cache",
        }
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    return router
