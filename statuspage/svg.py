"""An SVG logo made safe to publish: no scripts, event handlers, embedded documents or outside references.

The page shows the logo as an <img> (where scripts never run), but the file is also served on its own, from
the site's origin, where a script in it would run as the site. So the copy keeps drawing only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_DROP = frozenset(
    {
        "script",
        "foreignObject",
        "iframe",
        "embed",
        "object",
        "audio",
        "video",
        "handler",
        "listener",
        "animate",
        "set",
        "animateMotion",
        "animateTransform",
    }
)
_HREFS = frozenset({"href", f"{{{XLINK_NS}}}href"})
MAX_SVG_BYTES = 1 << 20


class SvgError(ValueError):
    """The SVG cannot be published: not SVG, too big, or declaring entities."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _clean(element: ET.Element) -> None:
    for child in list(element):
        if _local(child.tag) in _DROP:
            element.remove(child)
        else:
            _clean(child)
    for name in list(element.attrib):
        value = element.attrib[name].strip().lower()
        if _local(name).lower().startswith("on"):
            del element.attrib[name]  # onload=, onclick=...
        elif name in _HREFS and not (
            value.startswith("#")
            or value.startswith("data:image/png")
            or value.startswith("data:image/jpeg")
            or value.startswith("data:image/webp")
        ):
            del element.attrib[name]  # javascript:, outside documents, nested SVG data: URLs
        elif "javascript:" in value or "url(http" in value or "@import" in value:
            del element.attrib[name]  # style="background:url(https://...)" would load from outside


def sanitise_svg(data: bytes) -> bytes:
    """The SVG with only its drawing kept; SvgError when it is not an SVG this can check."""
    if len(data) > MAX_SVG_BYTES:
        raise SvgError(f"over {MAX_SVG_BYTES // 1024} KiB")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise SvgError("it declares a DOCTYPE or entities; export it as plain SVG")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SvgError(f"not well-formed XML: {exc}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise SvgError("the root element is not <svg> in the SVG namespace")
    for style in root.iter(f"{{{SVG_NS}}}style"):
        if style.text and ("@import" in style.text or "url(http" in style.text.lower()):
            style.text = ""
    _clean(root)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out
