"""galfit-unc: systematic uncertainties for GALFIT models, and DS9 region files of them.

Pixel conventions (stated once, used everywhere)
-------------------------------------------------
* GALFIT coordinates are 1-based and pixel centres are integers: pixel ``X`` spans
  ``X - 0.5 .. X + 0.5``; ``x`` is the column (FITS NAXIS1), ``y`` the row.
* numpy arrays are indexed ``[y, x]`` and 0-based, so GALFIT pixel ``(X, Y)`` is
  ``array[Y - 1, X - 1]``; see :func:`galfit_unc.galfit_files.region_slices`.
* Regions (GALFIT ``H)``, FITSECT ``[x1:x2,y1:y2]``) are inclusive on both ends:
  ``nx = x2 - x1 + 1``.
* Position angles are GALFIT's: degrees from +y, counter-clockwise (towards -x).
"""

__version__ = "0.1.0"
