"""Web page dependencies: the signed-in user (cookie) and a same-origin check for form posts."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import Depends, Request

from cloud.api.deps import CurrentScope
from cloud.api.errors import ApiError


def same_origin(request: Request) -> None:
    """Form posts must come from our own pages (the cookie is SameSite=Strict as well)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlparse(origin).netloc != request.url.netloc:
        raise ApiError(403, "forbidden", "cross-site form post refused")


SameOrigin = Annotated[None, Depends(same_origin)]
# Pages use the same scope as the API; an anonymous visitor gets 401, which the HTML error
# handler turns into a redirect to the login page.
WebScope = CurrentScope
