"""Stand-in for ``galfit FEEDME``: writes a plausible output block without fitting.

It reads the input file like GALFIT, cuts the fitting region from the input image and
writes the image block (HDU0 zeros, HDU1 data, HDU2 model header with GALFIT's keywords
and value grammar, HDU3 residual), a restart file and a fit.log line.  The "best fit" is the
input values with each free magnitude moved by a small amount drawn from a generator seeded
by the data, so different windows give different magnitudes.  Fits whose data checksum is
divisible by 3 are marked as having hit the iteration limit (FLAGS 1, which the shared DECaLS
fit has not), so some windows come out flagged.
"""

import sys
import zlib

import numpy as np
from astropy.io import fits

from galfit_unc.galfit_files import format_feedme, format_fitsect, format_header_value, next_restart_name, parameter_table, read_feedme, region_slices


def main(path):
    fm = read_feedme(path)
    with fits.open(fm.input_image) as hdul:
        hdu = next(h for h in hdul if h.data is not None and h.data.ndim == 2)
        data, header = hdu.data.astype(np.float64), hdu.header.copy()
    region = fm.region
    cut = data[region_slices(region)]
    checksum = zlib.crc32(np.ascontiguousarray(cut).tobytes())
    rng = np.random.default_rng(checksum)
    model = fits.Header()
    for key, value in (("INITFILE", path), ("DATAIN", fm.input_image), ("SIGMA", fm.sigma or "none"), ("PSF", fm.psf or "none"),
                       ("CONSTRNT", fm.constraints or "none"), ("MASK", fm.mask or "none"), ("FITSECT", format_fitsect(region)),
                       ("CONVBOX", "{}, {}".format(*fm.convbox)), ("MAGZPT", fm.zeropoint)):
        model[key] = value
    nfree = nfix = 0
    for i, comp in enumerate(fm.components, 1):
        model[f"COMP_{i}"] = comp.type
        for key, row, index in parameter_table(comp):
            value = comp.rows[row].values[index]
            free = comp.rows[row].free(index)
            nfree, nfix = nfree + free, nfix + (not free)
            if key == "MAG" and free:
                value += rng.normal(0.0, 0.03)
                comp.rows[row].values[index] = value
            model[f"{i}_{key}"] = format_header_value(value, 0.01, "free") if free else format_header_value(value, None, "fixed")
    ndof = cut.size - nfree
    model["FLAGS"] = "1" if checksum % 3 == 0 else ""
    model["CHISQ"] = float(ndof)
    model["NDOF"] = ndof
    model["NFREE"] = nfree
    model["NFIX"] = nfix
    model["CHI2NU"] = 1.0
    restart = next_restart_name(".")
    model["LOGFILE"] = restart
    header["OBJECT"] = f"{header.get('OBJECT', 'data')}{format_fitsect(region)}"
    zeros = np.zeros_like(cut, dtype=np.float32)
    fits.HDUList([fits.PrimaryHDU(zeros), fits.ImageHDU(cut, header), fits.ImageHDU(zeros, model), fits.ImageHDU(cut.astype(np.float32))]).writeto(fm.output_block, overwrite=True)
    with open(restart, "w") as fh:
        fh.write(format_feedme(fm, header="stand-in restart file"))
    with open("fit.log", "a") as fh:
        fh.write(f"Input image     : {fm.input_image}\nInit. par. file : {path}\nRestart file    : {restart}\nOutput image    : {fm.output_block}\n")


if __name__ == "__main__":
    main(sys.argv[1])
