"""The upload page: one HTML file with its script and style inline (no build, no CDN: the
server may be offline), served with a Content-Security-Policy that allows exactly that script
and that style, by hash, and nothing from elsewhere."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib.resources import files

__all__ = ["Page", "load_page"]

_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


class Page:
    """The page's HTML and the headers it is served with."""

    def __init__(self, html: str) -> None:
        self.html = html
        scripts = " ".join(_digest(s) for s in _SCRIPT.findall(html))
        styles = " ".join(_digest(s) for s in _STYLE.findall(html))
        self.headers = {
            "Content-Security-Policy": (
                f"default-src 'none'; script-src {scripts}; style-src {styles}; "
                "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }


def _digest(text: str) -> str:
    """A CSP source for an inline element: 'sha256-<base64 of its exact text>'."""
    value = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{value}'"


@cache
def load_page() -> Page:
    """The page from the package data (``conveyor/web/index.html``)."""
    return Page(files("conveyor.web").joinpath("index.html").read_text(encoding="utf-8"))
