"""Image blocks of GALFIT fits with To)/Ti) truncations are refused by name when read, with
GALFIT 3.0.5's own headers (its linked component is typed 'sersic1 \\' or 'sersic3 /')."""

import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf


@pytest.mark.parametrize(
    "case, ctype",
    [("mod-trunc-outer-radial", "sersic1 \\\\"), ("mod-trunc-outer-radial2-b", "sersic1 \\\\"), ("mod-trunc-inner-radial", "sersic3 /")],
)
def test_truncated_block_is_refused_by_name(shared, case, ctype):
    header = fits.getheader(shared("galfit305-renders", "renders", case, "model.fits"))
    with pytest.raises(gf.GalfitFormatError) as err:
        gf.parse_fit_header(header, case)
    assert str(err.value) == (
        f"{case}: HDU2 COMP_1: component type '{ctype}' is part of a To)/Ti) truncation, which is not supported yet; give a fit without truncations"
    )


def test_untruncated_render_header_still_reads(shared):
    header = fits.getheader(shared("galfit305-renders", "renders", "mod-bending-2", "model.fits"))
    assert [c.type for c in gf.parse_fit_header(header).components] == ["sersic"]
