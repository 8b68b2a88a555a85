"""Render survey-link QR codes with ``qrcode``: SVG (path image, for print) and PNG (Pillow).

The link is all upper case (see services.survey_url), so ``qrcode`` encodes it in alphanumeric mode;
error correction M (15 %).  Rendering is pure and deterministic, so results are cached per URL.
"""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
BORDER = 4  # quiet zone in modules, as the standard asks


def build(data: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=BORDER, box_size=10)
    qr.add_data(data, optimize=0)  # one segment: the whole link is alphanumeric
    qr.make(fit=True)
    return qr


def version(data: str) -> int:
    """The QR version (size) the link needs; 3 (29 x 29 modules) for a typical link."""
    return build(data).version


@lru_cache(maxsize=2048)
def svg(data: str) -> bytes:
    """A scalable SVG (one <path>), sized in mm by the slip's CSS."""
    img = build(data).make_image(image_factory=SvgPathImage)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue()


def svg_inline(data: str) -> str:
    """The SVG without its XML declaration, for embedding in an HTML page."""
    text = svg(data).decode("utf-8")
    if text.startswith("<?xml"):
        text = text.split("?>", 1)[1].lstrip()
    return text


@lru_cache(maxsize=2048)
def png(data: str, box_size: int = 8) -> bytes:
    qr = build(data)
    qr.box_size = box_size
    img = qr.make_image(image_factory=PilImage)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
