"""Stand-in for ``galfit FEEDME`` that measures the pixels it is given.

Every component of the input file is rendered by the embedded fitter's renderer at its
starting values (in the workflow, the original best fit); the fluxes of the components whose
magnitude is free, and the free terms of a sky plane (level, x and y gradients about the
region's centre), are then fitted to the input image by linear least squares (unweighted,
bad pixels of F) left out).  Shapes and positions stay at their starting values.  So the
output block's magnitudes and sky follow the injected pixels: a wrong injection, cleaning or
sky decision upstream moves them, which a stand-in that returns its starting values cannot
show.  It is deterministic and takes a fraction of a second for the DECaLS group.

The output is written as GALFIT writes it: image block (HDU0 zeros, HDU1 data with
``OBJECT ...[x1:x2,y1:y2]``, HDU2 the model with GALFIT's keywords and value grammar, HDU3
the residual), a restart file ``galfit.NN`` and a ``fit.log`` entry.  A component whose
fitted flux is not positive keeps its starting magnitude, marked ``*...*`` (FLAGS 2).
"""

import sys
from pathlib import Path

import numpy as np
from astropy.io import fits

from galfit_unc.fitter.psf import load_psf
from galfit_unc.fitter.render import ModelRenderer
from galfit_unc.fitter.sigma import read_mask
from galfit_unc.galfit_files import format_feedme, format_fitsect, format_header_value, next_restart_name, parameter_table, read_feedme, region_slices

SKY_TERMS = ("SKY", "DSDX", "DSDY")
#: Relative singular-value cut of the least squares (on unit-norm columns).
RCOND = 1e-2
#: 2.5 / ln 10: d mag = MAG_PER_FLUX * d flux / flux.
MAG_PER_FLUX = 2.5 / np.log(10.0)


def measure(fm, data, psf, exptime, good):
    """Linear fit of the free fluxes and sky terms of ``fm`` to ``data`` (the region).

    Returns
    -------
    values : dict
        (component index, header key) -> fitted value (magnitudes and sky terms; other
        parameters keep their starting values).
    errors : dict
        The same keys -> formal error.
    suspect : set
        Keys of magnitudes whose fitted flux is not positive (starting value kept).
    model : ndarray
        The fitted model image of the region.
    """
    renderer = ModelRenderer(fm.components, fm.region, psf, fm.convbox, fm.zeropoint, exptime)
    images = renderer.component_images(renderer.theta0)
    ny, nx = renderer.shape
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    # Gradients are about the region's centre, as in GALFIT's sky.
    plane_terms = {"SKY": np.ones((ny, nx)), "DSDX": x - (nx - 1) / 2, "DSDY": y - (ny - 1) / 2}
    columns, keys, starts = [], [], []
    fixed = np.zeros((ny, nx))
    for i, comp in enumerate(fm.components):
        for key, row, index in parameter_table(comp):
            free = comp.rows[row].free(index)
            start = comp.rows[row].values[index]
            if comp.base_type == "sky" and key in SKY_TERMS:
                basis = plane_terms[key]
                if free:
                    columns.append(basis)
                    keys.append((i, key))
                    starts.append(start)
                else:
                    fixed += start * basis
            elif key == "MAG" and comp.base_type != "sky":
                if free:
                    columns.append(images[i])
                    keys.append((i, key))
                    starts.append(start)
                else:
                    fixed += images[i]
    design = np.stack([c[good] for c in columns], axis=1)
    norms = np.linalg.norm(design, axis=0)
    target = (data - fixed)[good]
    # Identical components (a real fit may have them) make the system singular: directions
    # below RCOND of the largest singular value are dropped, so such components share their
    # light instead of taking huge fluxes of opposite signs.
    pinv = np.linalg.pinv(design / norms, rcond=RCOND)
    coef = pinv @ target / norms
    residual = target - design @ coef
    dof = max(target.size - len(coef), 1)
    coef_err = np.sqrt((pinv**2).sum(axis=1) * (residual @ residual / dof)) / norms
    values, errors, suspect = {}, {}, set()
    for (i, key), start, a, da in zip(keys, starts, coef, coef_err):
        if key in SKY_TERMS:
            values[(i, key)], errors[(i, key)] = float(a), float(da)
        elif a > 0:
            # The image was rendered at the starting magnitude: a is the flux ratio.
            values[(i, key)], errors[(i, key)] = float(start - 2.5 * np.log10(a)), float(MAG_PER_FLUX * da / a)
        else:
            values[(i, key)], errors[(i, key)] = float(start), 0.0
            suspect.add((i, key))
    model = fixed + sum(a * c for a, c in zip(coef, columns))
    return values, errors, suspect, model


def main(path):
    fm = read_feedme(path)
    with fits.open(fm.input_image) as hdul:
        hdu = next(h for h in hdul if h.data is not None and h.data.ndim == 2)
        image, header = hdu.data.astype(np.float64), hdu.header.copy()
    region = fm.region
    data = image[region_slices(region)]
    good = np.isfinite(data)
    if fm.mask is not None:
        good &= ~read_mask(fm.mask, image.shape)[region_slices(region)]
    psf = load_psf(fm.psf) if fm.psf is not None else None
    values, errors, suspect, model = measure(fm, np.where(good, data, 0.0), psf, float(header.get("EXPTIME", 1.0)), good)

    out = fits.Header()
    for key, value in (("INITFILE", path), ("DATAIN", fm.input_image), ("SIGMA", fm.sigma or "none"), ("PSF", fm.psf or "none"),
                       ("CONSTRNT", fm.constraints or "none"), ("MASK", fm.mask or "none"), ("FITSECT", format_fitsect(region)),
                       ("CONVBOX", "{}, {}".format(*fm.convbox)), ("MAGZPT", fm.zeropoint)):
        out[key] = value
    nfree = nfix = 0
    for i, comp in enumerate(fm.components):
        out[f"COMP_{i + 1}"] = comp.type
        if comp.base_type == "sky":
            # GALFIT writes the sky's centre (the region's, fixed) before its parameters.
            x1, x2, y1, y2 = region
            out[f"{i + 1}_XC"] = format_header_value((x1 + x2) / 2, None, "fixed")
            out[f"{i + 1}_YC"] = format_header_value((y1 + y2) / 2, None, "fixed")
        for key, row, index in parameter_table(comp):
            free = comp.rows[row].free(index)
            nfree, nfix = nfree + free, nfix + (not free)
            value = values.get((i, key), comp.rows[row].values[index])
            comp.rows[row].values[index] = value
            kind = "fixed" if not free else "suspect" if (i, key) in suspect else "free"
            out[f"{i + 1}_{key}"] = format_header_value(value, errors.get((i, key), 0.0) if free else None, kind)
    resid = np.where(good, data - model, 0.0)
    ndof = int(good.sum()) - nfree
    # Unweighted: chi^2 in units of the residual's own variance, so CHI2NU is 1.
    out["FLAGS"] = "2" if suspect else ""
    out["CHISQ"] = float(ndof)
    out["NDOF"] = ndof
    out["NFREE"] = nfree
    out["NFIX"] = nfix
    out["CHI2NU"] = 1.0
    restart = next_restart_name(".")
    out["LOGFILE"] = restart
    header["OBJECT"] = f"{header.get('OBJECT', 'data')}{format_fitsect(region)}"
    hdus = [fits.PrimaryHDU(np.zeros_like(data, dtype=np.float32)), fits.ImageHDU(data.astype(np.float32), header),
            fits.ImageHDU(model.astype(np.float32), out), fits.ImageHDU(resid.astype(np.float32))]
    fits.HDUList(hdus).writeto(fm.output_block, overwrite=True)
    Path(restart).write_text(format_feedme(fm, header="stand-in restart file"))
    with open("fit.log", "a") as fh:
        fh.write(f"Input image     : {fm.input_image}\nInit. par. file : {path}\nRestart file    : {restart}\nOutput image    : {fm.output_block}\n")


if __name__ == "__main__":
    main(sys.argv[1])
