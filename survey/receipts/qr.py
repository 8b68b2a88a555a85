"""Render survey-link QR codes: SVG (one <path>, for print) and PNG (Pillow).

The link is all upper case (see services.survey_url), so ``qrcode`` encodes it in alphanumeric mode;
error correction M (15 %).  ``qrcode`` builds the symbol, but two of its steps are slow in pure
Python and are done here with numpy instead, with identical results (tests compare them):

- choosing the mask: ``qrcode`` lays the data out eight times and scores each layout module by
  module; :class:`_FastQRCode` lays it out once, applies the eight masks as array XORs and scores
  them with the same four penalty rules (ISO/IEC 18004 §7.8.3, as ``qrcode.util.lost_point`` counts them);
- drawing: the SVG is one ``<path>`` whose horizontal runs of dark modules are merged into one
  rectangle each (``qrcode``'s SvgPathImage writes one sub-path per module), and the PNG is the
  module matrix scaled up with numpy rather than drawn box by box.

Rendering is pure and deterministic, so results are also cached per URL.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import qrcode
import qrcode.constants
import qrcode.main
from PIL import Image

ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
BORDER = 4  # quiet zone in modules, as the standard asks
PNG_BOX_SIZE = 8


def _mask_grid(pattern: int, n: int) -> np.ndarray:
    """The mask of ``qrcode.util.mask_func(pattern)`` for every (row, col) of an n x n symbol."""
    i, j = np.indices((n, n))
    grids = {
        0: (i + j) % 2 == 0,
        1: i % 2 == 0,
        2: j % 3 == 0,
        3: (i + j) % 3 == 0,
        4: (i // 2 + j // 3) % 2 == 0,
        5: (i * j) % 2 + (i * j) % 3 == 0,
        6: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
        7: ((i * j) % 3 + (i + j) % 2) % 2 == 0,
    }
    return grids[pattern]


@lru_cache(maxsize=64)
def _masks(n: int) -> np.ndarray:
    return np.stack([_mask_grid(p, n) for p in range(8)])


# the two 1:1:3:1:1 finder-like patterns with 4 light modules on one side (penalty rule 3)
_FINDER_LIKE = (
    np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool),
    np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool),
)


def _runs_penalty(m: np.ndarray) -> int:
    """Rule 1: each run of >= 5 same-coloured modules in a row or column costs (length - 2)."""
    total = 0
    for a in (m, m.T):
        a = a.astype(np.int8)
        n = a.shape[1]
        change = np.ones((a.shape[0], n + 1), dtype=bool)
        change[:, 1:n] = a[:, 1:] != a[:, :-1]
        rows, cols = np.nonzero(change)
        # run boundaries per row: consecutive change positions in the same row
        same_row = rows[1:] == rows[:-1]
        lengths = (cols[1:] - cols[:-1])[same_row]
        long = lengths[lengths >= 5]
        total += int((long - 2).sum())
    return total


def _blocks_penalty(m: np.ndarray) -> int:
    """Rule 2: each 2 x 2 block of one colour costs 3."""
    same = (m[:-1, :-1] == m[:-1, 1:]) & (m[:-1, :-1] == m[1:, :-1]) & (m[:-1, :-1] == m[1:, 1:])
    return 3 * int(same.sum())


def _finder_penalty(m: np.ndarray) -> int:
    """Rule 3: each 1:1:3:1:1 pattern next to 4 light modules, in a row or a column, costs 40."""
    total = 0
    n = m.shape[0]
    if n < 11:
        return 0
    for a in (m, m.T):
        windows = np.lib.stride_tricks.sliding_window_view(a, 11, axis=1)  # (n, n - 10, 11)
        for pattern in _FINDER_LIKE:
            total += int((windows == pattern).all(axis=2).sum())
    return 40 * total


def _balance_penalty(m: np.ndarray) -> int:
    """Rule 4: 10 for every 5 % the proportion of dark modules departs from 50 %."""
    n = m.shape[0]
    percent = float(int(m.sum())) / (n**2)
    return int(abs(percent * 100 - 50) / 5) * 10


def lost_point(m: np.ndarray) -> int:
    """The penalty score ``qrcode.util.lost_point`` gives the same matrix."""
    return _runs_penalty(m) + _blocks_penalty(m) + _finder_penalty(m) + _balance_penalty(m)


class _FastQRCode(qrcode.QRCode):
    """``qrcode.QRCode`` with the mask chosen on arrays: the same mask, about ten times faster."""

    def best_mask_pattern(self) -> int:
        # one layout with mask 0 and the format/version areas blank (light), as qrcode's test layouts are
        self.makeImpl(True, 0)
        m0 = np.array(self.modules, dtype=bool)
        n = self.modules_count
        # data modules: what the blank symbol (finder, timing, alignment, format, version) leaves free
        self.modules = qrcode.main.copy_2d_array(qrcode.main.precomputed_qr_blanks[self.version])
        self.setup_type_info(True, 0)
        if self.version >= 7:
            self.setup_type_number(True)
        data = np.array([[v is None for v in row] for row in self.modules], dtype=bool)
        masks = _masks(n)
        best, best_score = 0, None
        for p in range(8):
            candidate = m0 ^ (data & (masks[0] ^ masks[p]))
            score = lost_point(candidate)
            if best_score is None or score < best_score:
                best, best_score = p, score
        return best


def build(data: str) -> qrcode.QRCode:
    qr = _FastQRCode(error_correction=ERROR_CORRECTION, border=BORDER, box_size=10)
    qr.add_data(data, optimize=0)  # one segment: the whole link is alphanumeric
    qr.make(fit=True)
    return qr


def version(data: str) -> int:
    """The QR version (size) the link needs; 3 (29 x 29 modules) for a typical link."""
    return build(data).version


def matrix(data: str) -> np.ndarray:
    """The module matrix (True = dark) including the quiet zone."""
    modules = np.array(build(data).modules, dtype=bool)
    return np.pad(modules, BORDER, constant_values=False)


def svg_path(m: np.ndarray) -> str:
    """Path data drawing the dark modules of ``m``: one ``M x,y h w v 1 h -w z`` rectangle per horizontal run."""
    parts = []
    padded = np.zeros((m.shape[0], m.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = m
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past its end
    for y in range(m.shape[0]):
        starts = np.flatnonzero(edges[y] == 1)
        ends = np.flatnonzero(edges[y] == -1)
        for x0, x1 in zip(starts.tolist(), ends.tolist(), strict=True):
            parts.append(f"M{x0},{y}h{x1 - x0}v1h-{x1 - x0}z")
    return "".join(parts)


@lru_cache(maxsize=2048)
def svg(data: str) -> bytes:
    """A scalable SVG (one <path>), 1 mm per module; the slip's CSS sizes it."""
    m = matrix(data)
    size = m.shape[0]
    text = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f'<svg width="{size}mm" height="{size}mm" version="1.1" viewBox="0 0 {size} {size}" xmlns="http://www.w3.org/2000/svg">'
        f'<path d="{svg_path(m)}" id="qr-path" fill="#000000" fill-opacity="1" fill-rule="nonzero" stroke="none" /></svg>'
    )
    return text.encode("utf-8")


def svg_inline(data: str) -> str:
    """The SVG without its XML declaration, for embedding in an HTML page."""
    text = svg(data).decode("utf-8")
    if text.startswith("<?xml"):
        text = text.split("?>", 1)[1].lstrip()
    return text


@lru_cache(maxsize=2048)
def png(data: str, box_size: int = PNG_BOX_SIZE) -> bytes:
    """A black-on-white 1-bit PNG, ``box_size`` pixels per module (the same pixels qrcode's PilImage draws)."""
    m = matrix(data)
    pixels = np.repeat(np.repeat(~m, box_size, axis=0), box_size, axis=1)  # True = white
    img = Image.fromarray(pixels.astype(np.uint8) * 255).convert("1")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
