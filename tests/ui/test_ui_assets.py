"""The dashboard's files are served from the package with safe headers."""

from __future__ import annotations

import re

import httpx
from tests.support.live import LiveRelay

from mjrelay.api.routes.ui import UI_DIR


async def test_dashboard_page_and_modules_are_served(live: LiveRelay) -> None:
    async with httpx.AsyncClient(base_url=live.base_url) as browser:  # no key: it is public
        page = await browser.get("/ui")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert (await browser.get("/ui/", follow_redirects=False)).headers["location"] == "/ui"
        referenced = re.findall(r'(?:src|href)="(/ui/static/[^"]+)"', page.text)
        assert referenced == ["/ui/static/app.css", "/ui/static/js/app.js"]
        for module in sorted(p.name for p in (UI_DIR / "js").iterdir()):
            response = await browser.get(f"/ui/static/js/{module}")
            assert response.status_code == 200
            assert "javascript" in response.headers["content-type"]
            assert response.headers["x-content-type-options"] == "nosniff"
        assert (await browser.get("/ui/static/js/nope.js")).status_code == 404
        assert (await browser.get("/ui/static/%2e%2e/routes/ui.py")).status_code == 404
        assert (await browser.get("/")).json()["dashboard"] == "/ui"


def test_no_asset_loads_anything_from_another_origin() -> None:
    for path in UI_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not re.search(r"""(?:import|from|src=|href=|url\()\s*["']?https?://""", text), (
                path
            )
