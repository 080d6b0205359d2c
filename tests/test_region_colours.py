"""Objects in the region file get colours that can be told apart: every pair differs by at
least 20 in CIEDE2000 (Sharma, Wu & Dalal 2005), computed here from the colours written."""

import itertools
import math
import re

import pytest
from astropy.io import fits
from astropy.wcs import WCS

from galfit_unc import galfit_files as gf
from galfit_unc import ds9 as rf

#: Smallest CIEDE2000 difference between two objects' colours (about 2 is just noticeable).
THRESHOLD = 20.0


def srgb_to_lab(hex_colour):
    """CIELAB (D65) of an sRGB colour ``#RRGGBB``."""
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    xyz = [
        0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2],
        0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2],
        0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2],
    ]

    def f(t):
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = (f(v / w) for v, w in zip(xyz, (0.95047, 1.0, 1.08883)))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ciede2000(lab1, lab2):
    """CIEDE2000 colour difference (kL = kC = kH = 1)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    cbar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(cbar**7 / (cbar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p, h2p = (math.degrees(math.atan2(b, a)) % 360 for a, b in ((a1p, b1), (a2p, b2)))
    dlp, dcp = l2 - l1, c2p - c1p
    if c1p * c2p == 0:
        dhp = 0.0
    elif abs(h2p - h1p) <= 180:
        dhp = h2p - h1p
    else:
        dhp = h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360
    dhp_big = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dhp / 2))
    lbar, cbarp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbar = (h1p + h2p) / 2
    else:
        hbar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = 1 - 0.17 * math.cos(math.radians(hbar - 30)) + 0.24 * math.cos(math.radians(2 * hbar)) + 0.32 * math.cos(math.radians(3 * hbar + 6)) - 0.20 * math.cos(math.radians(4 * hbar - 63))
    dtheta = 30 * math.exp(-(((hbar - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cbarp**7 / (cbarp**7 + 25**7))
    sl = 1 + 0.015 * (lbar - 50) ** 2 / math.sqrt(20 + (lbar - 50) ** 2)
    sc, sh = 1 + 0.045 * cbarp, 1 + 0.015 * cbarp * t
    rt = -math.sin(math.radians(2 * dtheta)) * rc
    return math.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp_big / sh) ** 2 + rt * (dcp / sc) * (dhp_big / sh))


@pytest.mark.parametrize(
    "lab1, lab2, expected",
    # Pairs 1, 7, 17 and 25 of the CIEDE2000 test data of Sharma, Wu & Dalal (2005).
    [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425), ((50, 0, 0), (50, -1, 2), 2.3669), ((50, 2.5, 0), (73, 25, -18), 27.1492), ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644)],
)
def test_ciede2000_matches_published_values(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_the_threshold_refuses_look_alike_colours():
    # Named colours that were hard to tell apart on a region file fall below it.
    assert ciede2000(srgb_to_lab("#00FF00"), srgb_to_lab("#32CD32")) < THRESHOLD  # green / lime green
    assert ciede2000(srgb_to_lab("#FF00FF"), srgb_to_lab("#A020F0")) < THRESHOLD  # magenta / purple


def test_ten_objects_get_colours_told_apart(shared, tmp_path):
    path = shared("decals-coolj0112", "galfit_output_example.fits")
    ident = gf.read_comp_ident(shared("decals-coolj0112", "comp_ident_example.txt"))
    with fits.open(path) as hdul:
        wcs = WCS(hdul[1].header, naxis=2)
    reg, fk5 = tmp_path / "model.reg", tmp_path / "model_fk5.reg"
    rf.write_region_files(gf.read_fit_header(path), ident, wcs, reg, fk5)
    # Object -> colour, from the ellipses DS9 reads.
    colours = {}
    for line in reg.read_text().splitlines():
        colour, obj = re.search(r"color=(#[0-9A-Fa-f]{6})", line), re.search(r"text=\{obj (\S+):", line)
        if line.startswith("ellipse") and colour and obj:
            colours.setdefault(obj.group(1), set()).add(colour.group(1).upper())
    assert len(colours) == 10 and all(len(c) == 1 for c in colours.values())
    values = [c.pop() for c in colours.values()]
    worst = min(ciede2000(srgb_to_lab(a), srgb_to_lab(b)) for a, b in itertools.combinations(values, 2))
    assert worst >= THRESHOLD
