"""Markdown to HTML that is safe to publish: raw HTML is shown as text, links keep only safe schemes."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from functools import lru_cache

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_CONTROL = {c: None for c in range(0x21)}


def safe_url(url: str) -> bool:
    """True for http(s), mailto and relative URLs; False for javascript:, data: and other schemes."""
    # Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:").
    cleaned = url.translate(_CONTROL).lower()
    head = cleaned.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if ":" not in head:
        return True
    return head.split(":", 1)[0] in _SAFE_SCHEMES


class _Sanitise(Treeprocessor):  # type: ignore[misc]  # markdown ships no types
    """Drop unsafe link targets and every image (a page loads no external assets)."""

    def run(self, root: ET.Element) -> None:
        for parent in list(root.iter()):
            for child in list(parent):
                if child.tag == "img":
                    _unwrap_image(parent, child)
                    continue
                href = child.get("href")
                if href is not None and not safe_url(href):
                    del child.attrib["href"]
                if child.tag == "a" and child.get("href", "").startswith(("http://", "https://")):
                    child.set("rel", "nofollow noopener noreferrer")


def _unwrap_image(parent: ET.Element, img: ET.Element) -> None:
    # Keep the alt text and the text after the image in place; only the image itself goes.
    words = img.get("alt", "") + (img.tail or "")
    index = list(parent).index(img)
    parent.remove(img)
    if index == 0:
        parent.text = (parent.text or "") + words
    else:
        before = parent[index - 1]
        before.tail = (before.tail or "") + words


class _SafeExtension(Extension):  # type: ignore[misc]
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Raw HTML, entities and <autolinks> are not recognised, so they stay text and the serialiser escapes
        # them once. (Escaping the source before parsing escaped code spans twice: `a<b` showed "a&lt;b".)
        md.preprocessors.deregister("html_block")
        for name in ("html", "entity", "autolink", "automail"):
            md.inlinePatterns.deregister(name)
        md.treeprocessors.register(_Sanitise(md), "dialtone_sanitise", 0)


MAX_MARKDOWN_BLOCK = 4000
"""A paragraph longer than this is shown as plain text: Python-Markdown's inline processing is quadratic on some
inputs (thousands of brackets or entities in one paragraph), and one incident file must never stall the page."""

_BLOCKS = re.compile(r"\n[ \t]*\n")


def _plain_html(text: str) -> str:
    """Text as escaped paragraphs with line breaks, no Markdown."""
    blocks = [b.strip("\n") for b in _BLOCKS.split(text) if b.strip()]
    return "\n".join("<p>" + html.escape(b).replace("\n", "<br>\n") + "</p>" for b in blocks)


@lru_cache(maxsize=8192)
def markdown_html(text: str) -> str:
    """Markdown source -> sanitised HTML. Raw HTML in the source is escaped, never passed through."""
    if any(len(block) > MAX_MARKDOWN_BLOCK for block in _BLOCKS.split(text)):
        return _plain_html(text)
    html: str = markdown.markdown(_escape_unclosed_brackets(text), extensions=[_SafeExtension()], output_format="html")
    return html


def _escape_unclosed_brackets(text: str) -> str:
    """Backslash-escape every "[" that no "]" closes: Python-Markdown's link scan is quadratic in them.
    Closed pairs stay, so links still work."""
    if "[" not in text:
        return text
    open_at: list[int] = []
    for i, ch in enumerate(text):
        if ch == "[" and (i == 0 or text[i - 1] != "\\"):
            open_at.append(i)
        elif ch == "]" and open_at:
            open_at.pop()
    if not open_at:
        return text
    out, last = [], 0
    for i in open_at:
        out.append(text[last:i])
        out.append("\\[")
        last = i + 1
    out.append(text[last:])
    return "".join(out)
