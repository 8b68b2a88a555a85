"""Render survey-link QR codes: SVG (one <path>, for print) and PNG (Pillow).

The link is all upper case (see services.survey_url), so ``qrcode`` encodes it in alphanumeric mode;
error correction M (15 %).  ``qrcode`` encodes the data segments and picks the version; the steps
that are slow in pure Python (about 3.5 ms a code, issue 13) are done here on tables and arrays, with
identical results (tests compare every module with ``qrcode``'s own symbol):

- the Reed-Solomon codewords: GF(256) log/antilog tables instead of qrcode's polynomial objects;
- the layout: function patterns per (version, mask) and the data-module order are computed once and
  cached, so placing the codewords is one array assignment (qrcode's map_data walks every module);
- choosing the mask: the eight candidate layouts are one (8, n, n) array scored with the four
  penalty rules (ISO/IEC 18004 §7.8.3, as ``qrcode.util.lost_point`` counts them) in one pass;
- drawing: the SVG is one ``<path>`` whose horizontal runs of dark modules are merged into one
  rectangle each (``qrcode``'s SvgPathImage writes one sub-path per module), and the PNG is the
  module matrix scaled up with numpy rather than drawn box by box.

A fresh link costs under a millisecond (``benchmarks/bench_intake.py`` prints it).
Rendering is pure and deterministic, so results are also cached per URL.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import qrcode
import qrcode.base
import qrcode.constants
import qrcode.exceptions
import qrcode.main
import qrcode.util
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


def _runs_penalties(stack: np.ndarray) -> np.ndarray:
    """Rule 1 for each matrix of ``stack`` (k, n, n): each run of >= 5 same-coloured modules in a row or
    column costs (length - 2)."""
    k, n, _ = stack.shape
    total = np.zeros(k, dtype=np.int64)
    for a in (stack, stack.transpose(0, 2, 1)):
        boundary = np.ones((k, n, n + 1), dtype=bool)  # a run starts at 0, at each colour change, and n closes the last
        boundary[:, :, 1:n] = a[:, :, 1:] != a[:, :, :-1]
        kk, rr, cc = np.nonzero(boundary)  # C order: sorted by matrix, row, column
        same_line = (kk[1:] == kk[:-1]) & (rr[1:] == rr[:-1])
        lengths = (cc[1:] - cc[:-1])[same_line]
        owners = kk[1:][same_line]
        long = lengths >= 5
        total += np.bincount(owners[long], weights=lengths[long] - 2, minlength=k).astype(np.int64)
    return total


def _blocks_penalties(stack: np.ndarray) -> np.ndarray:
    """Rule 2: each 2 x 2 block of one colour costs 3."""
    tl = stack[:, :-1, :-1]
    same = (tl == stack[:, :-1, 1:]) & (tl == stack[:, 1:, :-1]) & (tl == stack[:, 1:, 1:])
    return 3 * same.sum(axis=(1, 2))


#: the two finder-like patterns as 11-bit numbers (module i of the window is bit i)
_FINDER_CODES = tuple(int(sum(int(b) << i for i, b in enumerate(p))) for p in _FINDER_LIKE)


def _finder_penalties(stack: np.ndarray) -> np.ndarray:
    """Rule 3: each 1:1:3:1:1 pattern next to 4 light modules, in a row or a column, costs 40."""
    k, n, _ = stack.shape
    if n < 11:
        return np.zeros(k, dtype=np.int64)
    total = np.zeros(k, dtype=np.int64)
    for a in (stack, stack.transpose(0, 2, 1)):
        a = a.astype(np.int16)
        code = np.zeros((k, n, n - 10), dtype=np.int16)
        for i in range(11):  # every 11-module window of every line as one number
            code |= a[:, :, i : n - 10 + i] << i
        total += ((code == _FINDER_CODES[0]) | (code == _FINDER_CODES[1])).sum(axis=(1, 2))
    return 40 * total


def _balance_penalties(stack: np.ndarray) -> np.ndarray:
    """Rule 4: 10 for every 5 % the proportion of dark modules departs from 50 %."""
    n = stack.shape[1]
    percent = stack.sum(axis=(1, 2)) / (n**2)
    return (np.abs(percent * 100 - 50) / 5).astype(np.int64) * 10


def lost_points(stack: np.ndarray) -> np.ndarray:
    """The penalty score ``qrcode.util.lost_point`` gives each matrix of ``stack`` (k, n, n), in one pass."""
    return _runs_penalties(stack) + _blocks_penalties(stack) + _finder_penalties(stack) + _balance_penalties(stack)


def lost_point(m: np.ndarray) -> int:
    """The penalty score ``qrcode.util.lost_point`` gives the same matrix."""
    return int(lost_points(np.asarray(m, dtype=bool)[None])[0])


# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1, as log/antilog tables
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


@lru_cache(maxsize=32)
def _generator(ec_count: int) -> tuple[int, ...]:
    """Coefficients of prod_{i < ec_count} (x - a^i), highest degree first (qrcode's rsPoly)."""
    poly = [1]
    for i in range(ec_count):
        nxt = [0] * (len(poly) + 1)
        for j, c in enumerate(poly):
            nxt[j] ^= c
            if c:
                nxt[j + 1] ^= _EXP[_LOG[c] + i]
        poly = nxt
    return tuple(poly)


def _ec_codewords(data: list[int], ec_count: int) -> list[int]:
    """The Reed-Solomon remainder of data(x) * x^ec_count by the generator: the block's EC codewords."""
    gen_logs = [_LOG[g] for g in _generator(ec_count)[1:]]
    rem = [0] * ec_count
    for byte in data:
        factor = byte ^ rem[0]
        rem = rem[1:] + [0]
        if factor:
            lf = _LOG[factor]
            for j, gl in enumerate(gen_logs):
                rem[j] ^= _EXP[gl + lf]
    return rem


def _create_data(version: int, error_correction: int, data_list) -> list[int]:
    """``qrcode.util.create_data`` (the same codewords), with the Reed-Solomon step on lookup tables."""
    buffer = qrcode.util.BitBuffer()
    for data in data_list:
        buffer.put(data.mode, 4)
        buffer.put(len(data), qrcode.util.length_in_bits(data.mode, version))
        data.write(buffer)
    rs_blocks = qrcode.base.rs_blocks(version, error_correction)
    bit_limit = sum(block.data_count * 8 for block in rs_blocks)
    if len(buffer) > bit_limit:
        raise qrcode.exceptions.DataOverflowError(f"Code length overflow. Data size ({len(buffer)}) > size available ({bit_limit})")
    for _ in range(min(bit_limit - len(buffer), 4)):
        buffer.put_bit(False)
    if len(buffer) % 8:
        for _ in range(8 - len(buffer) % 8):
            buffer.put_bit(False)
    for i in range((bit_limit - len(buffer)) // 8):
        buffer.put(qrcode.util.PAD0 if i % 2 == 0 else qrcode.util.PAD1, 8)
    dcdata, ecdata, offset = [], [], 0
    for block in rs_blocks:
        dc = [0xFF & b for b in buffer.buffer[offset : offset + block.data_count]]
        offset += block.data_count
        dcdata.append(dc)
        ecdata.append(_ec_codewords(dc, block.total_count - block.data_count))
    out: list[int] = []
    for i in range(max(len(d) for d in dcdata)):
        out.extend(d[i] for d in dcdata if i < len(d))
    for i in range(max(len(e) for e in ecdata)):
        out.extend(e[i] for e in ecdata if i < len(e))
    return out


@lru_cache(maxsize=128)
def _function_layout(version: int, mask: int, test: bool) -> tuple[np.ndarray, np.ndarray]:
    """The function patterns of a symbol (finders, timing, alignment, format and version information
    for ``mask``; all light in a ``test`` layout, as qrcode's) and where the data modules go."""
    probe = qrcode.QRCode(version=version, error_correction=ERROR_CORRECTION)
    n = probe.modules_count = version * 4 + 17
    probe.modules = [[None] * n for _ in range(n)]
    probe.setup_position_probe_pattern(0, 0)
    probe.setup_position_probe_pattern(n - 7, 0)
    probe.setup_position_probe_pattern(0, n - 7)
    probe.setup_position_adjust_pattern()
    probe.setup_timing_pattern()
    probe.setup_type_info(test, mask)
    if version >= 7:
        probe.setup_type_number(test)
    free = np.array([[v is None for v in row] for row in probe.modules], dtype=bool)
    fixed = np.array([[bool(v) for v in row] for row in probe.modules], dtype=bool)
    return fixed, free


@lru_cache(maxsize=64)
def _placement(version: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the data modules in the order qrcode's map_data fills them: two-column zigzag from
    the bottom right, skipping the vertical timing column."""
    _fixed, free = _function_layout(version, 0, True)
    n = free.shape[0]
    rows: list[int] = []
    cols: list[int] = []
    row, inc = n - 1, -1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if free[row, c]:
                    rows.append(row)
                    cols.append(c)
            row += inc
            if row < 0 or row >= n:
                row -= inc
                inc = -inc
                break
    return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)


def _symbol(version: int, codewords: list[int], mask: int, test: bool) -> np.ndarray:
    """The module matrix qrcode's ``makeImpl(test, mask)`` builds, from arrays."""
    fixed, _free = _function_layout(version, mask, test)
    rows, cols = _placement(version)
    bits = np.unpackbits(np.frombuffer(bytes(codewords), dtype=np.uint8))  # bit 7 of each codeword first
    placed = np.zeros(len(rows), dtype=bool)
    k = min(len(bits), len(rows))
    placed[:k] = bits[:k]  # remainder modules stay light before masking
    m = fixed.copy()
    m[rows, cols] = placed ^ _masks(fixed.shape[0])[mask][rows, cols]
    return m


class _FastQRCode(qrcode.QRCode):
    """``qrcode.QRCode`` whose codewords, layouts and mask choice are computed on tables and arrays."""

    def symbol(self) -> np.ndarray:
        """The final module matrix (no quiet zone): the same one ``qrcode`` makes, mask chosen by ISO penalties."""
        if self.version is None:
            self.best_fit(start=None)
        codewords = _create_data(self.version, self.error_correction, self.data_list)
        n = self.version * 4 + 17
        base = _symbol(self.version, codewords, 0, True)  # qrcode's test layout with mask 0
        masks = _masks(n)
        _fixed, free = _function_layout(self.version, 0, True)
        candidates = base[None] ^ (free[None] & (masks[0][None] ^ masks))  # the other masks differ only on data
        best = int(np.argmin(lost_points(candidates)))  # the first lowest score, as qrcode picks
        return _symbol(self.version, codewords, best, False)


def _fast(data: str) -> _FastQRCode:
    qr = _FastQRCode(error_correction=ERROR_CORRECTION, border=BORDER, box_size=10)
    qr.add_data(data, optimize=0)  # one segment: the whole link is alphanumeric
    qr.best_fit(start=None)
    return qr


def build(data: str) -> qrcode.QRCode:
    """A ``qrcode.QRCode`` for the link, made (for its version and modules)."""
    qr = _fast(data)
    qr.modules = qr.symbol().tolist()
    qr.modules_count = len(qr.modules)
    return qr


def version(data: str) -> int:
    """The QR version (size) the link needs; 3 (29 x 29 modules) for a typical link."""
    return _fast(data).version


def matrix(data: str) -> np.ndarray:
    """The module matrix (True = dark) including the quiet zone."""
    return np.pad(_fast(data).symbol(), BORDER, constant_values=False)


def svg_path(m: np.ndarray) -> str:
    """Path data drawing the dark modules of ``m``: one ``M x,y h w v 1 h -w z`` rectangle per horizontal run."""
    padded = np.zeros((m.shape[0], m.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = m
    edges = np.diff(padded, axis=1)  # +1 where a run starts, -1 one past its end
    ys, x0s = np.nonzero(edges == 1)  # row-major: runs in reading order
    _, x1s = np.nonzero(edges == -1)
    widths = (x1s - x0s).tolist()
    return "".join(f"M{x0},{y}h{w}v1h-{w}z" for x0, y, w in zip(x0s.tolist(), ys.tolist(), widths, strict=True))


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
