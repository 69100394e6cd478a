"""HTTP conditional requests and content negotiation helpers (pure)."""

from __future__ import annotations

from config_client.wire import V2_MEDIA_TYPE

__all__ = ["etag_matches", "wants_v2"]


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 ``If-None-Match`` (weak comparison): ``*`` or any listed tag equal to ``etag``."""
    if not if_none_match:
        return False
    want = etag.removeprefix("W/")
    for raw in if_none_match.split(","):
        tag = raw.strip()
        if tag == "*" or tag.removeprefix("W/") == want:
            return True
    return False


def wants_v2(accept: str | None) -> bool:
    """Whether ``Accept`` asks for the V2 (``{value, origin}``) environment shape."""
    if not accept:
        return False
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() != V2_MEDIA_TYPE:
            continue
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            return float(q) > 0
        except ValueError:
            return True
    return False
