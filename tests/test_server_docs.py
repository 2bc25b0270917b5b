"""``mixdown serve``'s docs pages work offline: Swagger UI and ReDoc come from the server, not from a CDN."""

from __future__ import annotations

import asyncio
import re

import httpx

from mixdown.server import create_app
from mixdown.server.config import ServerConfig

#: What each page must load, and a mark of the real file (not an empty or error page).
ASSETS = {"swagger-ui-bundle.js": "SwaggerUIBundle", "swagger-ui.css": ".swagger-ui", "redoc.standalone.js": "Redoc"}


def _references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)


def test_docs_pages_and_their_assets_are_served_locally(tmp_path):
    """The pages name only the server's own paths (no scheme, no host), and each of those paths answers the
    real file: a browser with no network shows the docs. The app runs in-process without its lifespan (no
    workers are needed to serve static files)."""
    app = create_app(ServerConfig(home=tmp_path / "home"))

    async def fetch() -> dict[str, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            pages = {path: await client.get(path) for path in ("/docs", "/redoc")}
            references = {ref for page in pages.values() for ref in _references(page.text)}
            assets = {ref: await client.get(ref) for ref in references}
            return {**pages, **assets}

    replies = asyncio.run(fetch())
    for page in ("/docs", "/redoc"):
        assert replies[page].status_code == 200
        assert "//" not in "".join(_references(replies[page].text)), "a page loads something from another host"
        assert "cdn" not in replies[page].text.lower()
    assert "/openapi.json" in replies["/docs"].text
    loaded = {path.rsplit("/", 1)[-1]: reply for path, reply in replies.items() if not path.endswith(("docs", "redoc"))}
    for name, mark in ASSETS.items():
        assert loaded[name].status_code == 200, name
        assert mark in loaded[name].text, name
    assert loaded["favicon.png"].content.startswith(b"\x89PNG")
