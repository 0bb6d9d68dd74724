"""The page is one self-contained HTML file, served with a policy that runs only its own
inline script and style."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx


def test_the_page_allows_only_its_own_inline_script_and_style(api: httpx.Client) -> None:
    response = api.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    script = re.search(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_page_loads_nothing_from_elsewhere(api: httpx.Client) -> None:
    html = api.get("/").text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "innerHTML" not in html and "insertAdjacentHTML" not in html
    assert html.count("<script") == 1 and html.count("<style") == 1
    assert api.get("/favicon.ico").status_code == 204
