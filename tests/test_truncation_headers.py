"""Image blocks of GALFIT fits with To)/Ti) truncations are read, with GALFIT 3.0.5's own
headers (its linked component is typed 'sersic1 \\' or 'sersic3 /', the truncation 'radial'…,
the links are lists of component numbers)."""

import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf


@pytest.mark.parametrize(
    "case, ctype, flux_key, links, ttype, tlinks",
    [
        ("mod-trunc-outer-radial", "sersic1 \\", "MU_0", {"TOUTR": [2]}, "radial", {"INNER": [], "OUTER": [1]}),
        ("mod-trunc-outer-radial2-b", "sersic1 \\", "MU_0", {"TOUTR": [2]}, "radial2-b", {"INNER": [], "OUTER": [1]}),
        ("mod-trunc-inner-radial", "sersic3 /", "MUBRK", {"TINNR": [2]}, "radial", {"INNER": [1], "OUTER": []}),
    ],
)
def test_truncated_block_is_read(shared, case, ctype, flux_key, links, ttype, tlinks):
    header = fits.getheader(shared("galfit305-renders", "renders", case, "model.fits"))
    sersic, trunc = gf.parse_fit_header(header, case).components
    assert (sersic.type, sersic.base_type, sersic.links) == (ctype, "sersic", links)
    assert sersic[flux_key].value == 21.0
    assert (trunc.type, trunc.base_type, trunc.links) == (ttype, ttype, tlinks)
    assert [k for k, _ in trunc.params] == ["RBRK", "RSFT" if "radial2" in ttype else "DSFT", "AR", "PA"]


def test_untruncated_render_header_still_reads(shared):
    header = fits.getheader(shared("galfit305-renders", "renders", "mod-bending-2", "model.fits"))
    assert [c.type for c in gf.parse_fit_header(header).components] == ["sersic"]
