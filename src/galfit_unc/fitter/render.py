"""GALFIT model images: components rendered over the fitting region, convolved with the PSF.

The model is computed on a grid that extends the fitting region H) by the PSF's half-size
on every side (rounded up to a fast FFT length), so light from just outside the region is
convolved into it.  Pixel values are pixel means of the profile: pixel-centre samples
corrected by a 24th of their Laplacian, and, in nested boxes around each centre,
Gauss-Legendre quadrature of increasing order (thin components get more nodes).

Cores of steep Sersic profiles (n >= CORE_MIN_N, not too thin) are convolved at the
sub-pixel positions of their light: a fine grid of cells around the centre enters the
convolution as point sources (a separable DFT), not as whole pixels.  GALFIT's model images
of such cores are reproduced this way; for shallower profiles pixel-level convolution is
what matches them.  The measurements behind these choices are in the tests.

That is the ``exact`` sampling.  The ``galfit`` sampling (the command line's default)
follows GALFIT's own rule instead where it differs: in models without a PSF, pixel-centre
values beyond ten pixels of the centre, cell grids inside (see GALFIT_INNER_N); with a PSF,
the placement of psf components (see :mod:`.psfplace`).

The convolution is a real FFT of the whole stack (model plus every Jacobian column) at
once; ``psf`` components are the PSF itself, not convolved again: shifted in Fourier space
(``exact``) or placed as GALFIT places it (``galfit``, see :mod:`.psfplace`) and added after
the convolution, like the sky.  A convolution box I) smaller than the
region is not emulated: the whole region is always convolved.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import scipy.fft

from .. import galfit_files as gf
from . import profiles, rotation
from .psf import psf_centre
from .psfplace import place_psf
from .threads import single_threaded_blas

__all__ = ["ModelRenderer", "FluxModel", "FLUX_KEYS", "check_supported", "needs_platescale", "SUBSAMPLING"]

#: Nested boxes around every profile centre: (half-width in pixels, Gauss-Legendre nodes
#: per pixel side).  Coarse to fine; each finer box replaces the pixels it covers.
SUBSAMPLING = ((4, 3), (1, 8))
#: The centre pixel (a cusp for n > 1) is cut into CENTRE_CELLS cells per side, ...
CENTRE_CELLS = 8
#: ... and the cells nearest the centre are re-integrated on nested finer grids:
#: (reach in cells, sub-cells per cell side).
CELL_REFINE = ((2, 8), (0, 32))
#: Steep cores convolved at sub-pixel positions: (half-width in pixels, cells per pixel side).
CORE_BOX = (1, 4)
#: Sersic components with n >= CORE_MIN_N and q >= CORE_MIN_Q have a steep core.
CORE_MIN_N = 3.0
CORE_MIN_Q = 0.3

#: GALFIT's own sampling of unconvolved models (``sampling="galfit"`` without a PSF), found on
#: its renders to single precision:
#: a pixel whose centre lies at elliptical radius r (pixels, along the major axis) is the
#: mean of an n x n grid of cell centres, n = GALFIT_INNER_N for r < GALFIT_INNER_R,
#: round(GALFIT_INNER_N / r) for r < GALFIT_OUTER_R, else the pixel-centre value.  Thin
#: components therefore lose the light between pixel centres, as GALFIT's models do.
GALFIT_INNER_N = 20
GALFIT_INNER_R = 4.0
GALFIT_OUTER_R = 10.0
#: ... and a pixel with r < GALFIT_CENTRE_R at least round(GALFIT_CENTRE_Q / q) cells per side.
GALFIT_CENTRE_R = 1.0
GALFIT_CENTRE_Q = 2.0
SAMPLING_MODES = ("galfit", "exact")

# Thin components (axis ratio below the key) get this many times more nodes, up to 64.
_THIN_REFINE = {0.15: 2}
_MAX_NODES = 64


def _refinement(q):
    """Node multiplier for a component of axis ratio ``q``."""
    return max([1] + [m for limit, m in _THIN_REFINE.items() if q < limit])


_PROFILE_TYPES = {
    "sersic": "sersic", "devauc": "sersic", "expdisk": "expdisk", "gaussian": "gaussian", "moffat": "moffat",
    "nuker": "nuker", "king": "king", "ferrer": "ferrer", "edgedisk": "edgedisk",
}
#: Parameters the model is linear in (through the flux 10^(-0.4 mag)): see :class:`FluxModel`.
FLUX_KEYS = ("MAG", "MU", "MU_0", "MUBRK", "SKY")
_SIZE_KEY = {
    "sersic": "RE", "devauc": "RE", "expdisk": "RS", "gaussian": "FWHM", "moffat": "FWHM",
    "nuker": "RB", "king": "RC", "ferrer": "ROUT", "edgedisk": "RS",
}
_SHAPE_KEY = {"sersic": "N", "moffat": "POW", "nuker": "ALPHA", "king": "ALPHA", "ferrer": "ALPHA", "edgedisk": "HS"}
_SHAPE2_KEY = {"nuker": "BETA", "king": "RT", "ferrer": "BETA"}
_SHAPE3_KEY = {"nuker": "GAMMA"}
_DEVAUC_N = 4.0
_ALLOWED_ROW = re.compile(r"^(\d{1,2}|Z|C0|[FB]\d{1,2}|To|Ti|R[0-4]|R9|R10)$")
_ROTATION_ROW = re.compile(r"^R\d{1,2}$")
# Coordinate rotation is rendered on these types: nuker, king and ferrer would repeat the
# rotation's header keys ALPHA, ROUT; edgedisk has no reference render (nor Fourier modes).
_ROTATION_TYPES = ("sersic", "devauc", "expdisk", "gaussian", "moffat")
_TRUNCATION_ROWS = ("T1", "T4", "T5", "T9", "T10")
_FOURIER_ROW = re.compile(r"^F\d{1,2}$")
_BENDING_ROW = re.compile(r"^B\d{1,2}$")
_FIELDS = ("XC", "YC", "MAG", "SIZE", "SHAPE", "SHAPE2", "SHAPE3", "AR", "PA", "C0")


#: Fields of a group with truncated members: the truncation's centre, axis ratio, PA, T4), T5).
_TRUNC_FIELDS = ("TXC", "TYC", "TAR", "TPA", "T4", "T5")


def _group_fields(modes, bends, truncated=False, rotated=False):
    return (
        _FIELDS
        + tuple(f"F{m}{part}" for m in modes for part in ("", "PA"))
        + tuple(f"B{m}" for m in bends)
        + (_TRUNC_FIELDS if truncated else ())
        + (rotation.ROTATION_FIELDS if rotated else ())
    )


def _rotated_derivatives(img, d, dmap, incl):
    """Chain rule of the coordinate rotation on the derivatives ``d`` evaluate gave at the
    rotated offsets; ``dmap`` from :func:`rotation.rotate_with_derivatives`, ``incl`` (m,)."""
    gx, gy = d["XC"], d["YC"]  # -df/d(ndx), -df/d(ndy)
    dt = gx.dtype
    out = dict(d)
    (xx, yx), (xy, yy) = dmap["dx"], dmap["dy"]
    out["XC"] = (gx * xx + gy * yx).astype(dt)
    out["YC"] = (gx * xy + gy * yy).astype(dt)
    for field in rotation.ROTATION_FIELDS:
        a, b = dmap[field]
        out[field] = (-(gx * a + gy * b)).astype(dt)
    # The surface brightness is divided by cos(R9).
    out["ROT_INCL"] += img * (np.tan(np.radians(incl)) * math.pi / 180.0)[:, None].astype(dt)
    return out


def needs_platescale(components):
    """Whether K) is needed: surface-brightness components (also truncated ones)."""
    return any(profiles_kind(c) in profiles.SB_KINDS or c.truncations for c in components)


def _truncate(img, der, parts, k):
    """Apply the truncations of :meth:`ModelRenderer._truncation_parts` to ``ev``'s result.

    ``img``/``der`` are the untruncated profile and its derivatives (rows ``k`` of the
    group's active members) at offsets ``dx, dy``; returns the truncated image and
    derivatives, including those by the truncation's own parameters.
    """
    dx, dy, p = parts
    rows = np.flatnonzero(p["sign"][k] != 0)
    if not len(rows):
        zero = np.zeros_like(img)
        return img, {**der, **{f: zero for f in _TRUNC_FIELDS}} if der else der
    pk = {f: np.asarray(v)[k][rows] for f, v in p.items()}
    dln_a = {key[4:]: v for key, v in pk.items() if key.startswith("dln_")}
    t = profiles.truncation(
        dx[rows] - pk["dxc"][:, None].astype(dx.dtype), dy[rows] - pk["dyc"][:, None].astype(dy.dtype),
        pk["r1"], pk["delta"], pk["TAR"], pk["TPA"], pk["sign"] > 0, derivs=bool(der),
    )
    out_img = img.copy()
    if not der:
        out_img[rows] *= t
        return out_img, der
    t, dt = t
    base = img[rows]
    out = {}
    for key, arr in der.items():
        arr = arr.copy()
        if key in dln_a:  # row 3) is a surface brightness: the flux moves with the shape
            arr[rows] += base * dln_a[key][:, None].astype(arr.dtype)
        arr[rows] *= t
        out[key] = arr
    zero = np.zeros_like(img)
    for key in _TRUNC_FIELDS:
        out[key] = zero.copy()
    jac = pk["radii_jac"]
    d_r1, d_delta = dt["R1"], dt["DELTA"]
    out["TXC"][rows] = base * dt["XC"]
    out["TYC"][rows] = base * dt["YC"]
    out["TAR"][rows] = base * dt["AR"]
    out["TPA"][rows] = base * dt["PA"]
    for col, key in enumerate(("T4", "T5")):
        d = d_r1 * jac[:, 0, col, None].astype(img.dtype) + d_delta * jac[:, 1, col, None].astype(img.dtype)
        ref = dln_a["REF"][:, None].astype(img.dtype) * t if key == "T4" else 0.0
        out[key][rows] = base * (d + ref)
    out_img[rows] *= t
    return out_img, out


def _bend(dx, dy, modes, amp, size, pa):
    """GALFIT's bending modes as a shift of the offsets along the minor axis.

    With x' = dy cos(PA) - dx sin(PA) along the major axis and u = -x' / Re, the minor-axis
    coordinate moves by ``dB = sum_m a_m u^m`` pixels (found on GALFIT's B1-B3 renders),
    i.e. ``dx + cos(PA) dB, dy + sin(PA) dB``.  Returns the new offsets and the pieces of
    the chain rule: (cos, sin, dB, B' = d dB / d x', y', u^m per mode, d dB / d Re).
    """
    dt = dx.dtype
    theta = np.radians(np.asarray(pa, dtype=np.float64))[:, None]
    c, sn = np.cos(theta).astype(dt), np.sin(theta).astype(dt)
    size = np.asarray(size, dtype=np.float64)[:, None].astype(dt)
    xp = dy * c - dx * sn
    u = -xp / size
    powers = [u**m for m in modes]
    a = [np.asarray(amp[:, k : k + 1], dtype=dt) for k in range(len(modes))]
    db = sum(ak * pk for ak, pk in zip(a, powers))
    dpow = [m * u ** (m - 1) if m > 1 else np.ones_like(u) for m in modes]
    bprime = -sum(ak * dk for ak, dk in zip(a, dpow)) / size
    dsize = -sum(m * ak * pk for m, ak, pk in zip(modes, a, powers)) / size
    yp = dx * c + dy * sn
    return dx + c * db, dy + sn * db, (c, sn, db, bprime, yp, powers, dsize)


def _bent_derivatives(d, parts, modes):
    """Chain rule of :func:`_bend` on the derivatives ``d`` evaluate gave at the bent offsets."""
    c, sn, db, bp, yp, powers, dsize = parts
    gx, gy = d["XC"], d["YC"]  # -df/d(dx'), -df/d(dy')
    along = gx * c + gy * sn
    out = dict(d)
    out["XC"] = gx * (1 - c * sn * bp) - gy * sn * sn * bp
    out["YC"] = gx * c * c * bp + gy * (1 + sn * c * bp)
    deg = np.asarray(math.pi / 180.0, dtype=gx.dtype)
    out["PA"] = d["PA"] - (gx * (-sn * db - c * bp * yp) + gy * (c * db - sn * bp * yp)) * deg
    out["SIZE"] = d["SIZE"] - along * dsize
    for m, pk in zip(modes, powers):
        out[f"B{m}"] = -along * pk
    return out


def profiles_kind(comp):
    """The radial-profile family of a component (None for psf and sky)."""
    return _PROFILE_TYPES.get(comp.base_type)


def _refuse(source, number, comp, why):
    return gf.GalfitFormatError(
        f"{source}component {number} ({comp.type}): {why}: not supported by the embedded fitter; use engine galfit"
    )


def check_supported(components, has_psf, finesample=1, source=None):
    """Refuse, in one line naming the component and the row, what the renderer cannot do.

    Called on the parsed input file before any image is read, and again by
    :class:`ModelRenderer`: nothing the file asks for is ever silently dropped.

    Parameters
    ----------
    components : list of galfit_files.Component
    has_psf : bool
        Whether D) gives a PSF image.
    finesample : int
        E) of the input file.
    source : str, optional
        The input file's name, put first in the message.

    Raises
    ------
    GalfitFormatError
    """
    where = f"{source}: " if source else ""
    if int(finesample) < 1:
        raise gf.GalfitFormatError(f"{where}E) PSF fine sampling {finesample}: must be a positive integer; give E) 1 or more")
    for i, comp in enumerate(components, 1):
        base = comp.base_type
        if base in gf.TRUNCATION_TYPES:
            _check_truncation(where, i, comp, components)
            continue
        if base not in _PROFILE_TYPES and base not in ("psf", "sky"):
            raise _refuse(where, i, comp, "component type")
        if comp.type != base:
            raise _refuse(where, i, comp, "surface-brightness variant of the type")
        for key in comp.rows:
            if not _ALLOWED_ROW.match(key):
                raise _refuse(where, i, comp, f"hidden row {key})")
            # GALFIT's EXAMPLE.INPUT: it ignores hidden rows on these two types.
            if base in ("psf", "sky") and not key.isdigit() and key != "Z":
                raise gf.GalfitFormatError(
                    f"{where}component {i} ({comp.type}) row {key}): GALFIT ignores hidden rows on psf and sky components; move the row to the component it belongs to, or remove it"
                )
            # Past the line above every type here has a radial profile.
            if key == "C0" and base == "edgedisk":
                raise _refuse(where, i, comp, "C0) boxiness on this type")
            if _FOURIER_ROW.match(key) and base == "edgedisk":
                raise _refuse(where, i, comp, f"Fourier mode {key}) on this type")
            # GALFIT's bending radius is known (found on its renders) for Sersic's Re only.
            if _BENDING_ROW.match(key) and (_PROFILE_TYPES.get(base) != "sersic" or int(key[1:]) < 1):
                raise _refuse(where, i, comp, f"bending mode {key}) on this type")
        _check_rotation(where, i, comp)
        _check_links(where, i, comp, components)
        if base == "psf" and not has_psf:
            raise gf.GalfitFormatError(f"{where}component {i} (psf): needs a PSF image; give one in D)")


def _check_truncation(where, i, comp, components):
    """A truncation must be linked by a component's To)/Ti) and have its T4) and T5)."""
    if not any(i in c.truncations.get(link, []) for c in components for link in ("To", "Ti")):
        raise _refuse(where, i, comp, "hidden row T0) (a truncation no To)/Ti) row links)")
    for key in comp.rows:
        if key not in _TRUNCATION_ROWS:
            raise _refuse(where, i, comp, f"hidden row {key})")
    for hkey, row, idx in gf.PARAMETERS[comp.base_type] + (("XC", "T1", 0), ("YC", "T1", 1)):
        if (row != "T1" or row in comp.rows) and (row not in comp.rows or len(comp.rows[row].values) <= idx):
            raise gf.GalfitFormatError(f"{where}component {i} ({comp.type}) row {row}): missing value for {hkey}; add the row")


def _check_rotation(where, i, comp):
    """R0)-R10): a power or log rotation with all its rows, on a type it is rendered for,
    without bending modes (their order with the rotation is not known)."""
    rows = [key for key in comp.rows if _ROTATION_ROW.match(key)]
    if not rows:
        return
    if "R0" not in comp.rows:
        raise gf.GalfitFormatError(f"{where}component {i} ({comp.type}) row {rows[0]}): no R0) names the rotation function; add R0) power or R0) log")
    func = gf.rotation_function(comp)
    if func is None:
        return
    if func not in ("power", "log"):
        raise gf.GalfitFormatError(
            f"{where}component {i} ({comp.type}) row R0): rotation function {comp.rows['R0'].text!r}; use power, log or none"
        )
    if comp.base_type not in _ROTATION_TYPES:
        raise _refuse(where, i, comp, "hidden row R0)")
    if any(_BENDING_ROW.match(key) for key in comp.rows):
        raise _refuse(where, i, comp, "hidden row R0) (coordinate rotation with bending modes)")
    for hkey, row, idx in gf.parameter_table(comp):
        if _ROTATION_ROW.match(row) and (row not in comp.rows or len(comp.rows[row].values) <= idx):
            raise gf.GalfitFormatError(f"{where}component {i} ({comp.type}): hidden row R0) {func}: row {row}) ({hkey}) missing; add the row")


def _check_links(where, i, comp, components):
    """To)/Ti): one truncation each, on a Sersic (or devauc) without Fourier or bending
    modes, as GALFIT's renders show them; an inner one of type radial or radial-b."""
    for link, numbers in comp.truncations.items():
        row = f"hidden row {link})"
        if _PROFILE_TYPES.get(comp.base_type) != "sersic":
            raise _refuse(where, i, comp, f"{row} (a truncation of this type)")
        if len(comp.truncations) > 1 or len(numbers) != 1:
            raise _refuse(where, i, comp, f"{row} (more than one truncation on a component)")
        target = numbers[0]
        if not 1 <= target <= len(components) or components[target - 1].base_type not in gf.TRUNCATION_TYPES:
            raise gf.GalfitFormatError(
                f"{where}component {i} ({comp.type}): hidden row {link}): component {target} is not a truncation; give the number of a T0) component"
            )
        if link == "Ti" and components[target - 1].base_type.startswith("radial2"):
            raise _refuse(where, i, comp, f"{row} (inner truncation of type {components[target - 1].type})")
        if any(_FOURIER_ROW.match(key) or _BENDING_ROW.match(key) for key in comp.rows):
            raise _refuse(where, i, comp, f"{row} (truncation with Fourier or bending modes)")
        if gf.rotation_function(comp) is not None:
            raise _refuse(where, i, comp, f"{row} (truncation with coordinate rotation)")


@functools.lru_cache(maxsize=64)
def _cell_offsets(n):
    """x and y offsets from a pixel's centre of the centres of its n x n cells."""
    t = (np.arange(n) + 0.5) / n - 0.5
    yy, xx = np.meshgrid(t, t, indexing="ij")
    return xx.ravel(), yy.ravel()


def _add_curvature(stack):
    """``stack += laplacian(stack) / 24`` in place, for images (n, ny, nx).

    The mean of a smooth function over a pixel is its centre value plus a 24th of its
    Laplacian (to fourth order).  Edge pixels, lacking neighbours, are left unchanged.
    """
    inner = stack[:, 1:-1, 1:-1]
    lap = stack[:, :-2, 1:-1] + stack[:, 2:, 1:-1]
    lap += stack[:, 1:-1, :-2]
    lap += stack[:, 1:-1, 2:]
    lap -= 4.0 * inner
    lap *= np.float32(1.0 / 24.0)
    inner += lap


class _Group:
    """Components of one radial-profile family, with the theta index of each parameter."""

    def __init__(self, kind, members, index, modes=(), bends=(), truncation=None, rotation_kind=None):
        self.kind = kind
        self.members = np.array(members)
        # index[field] -> (m,) positions in the extended theta (constants appended).
        self.index = index
        self.has_c0 = bool(np.any(index["C0"] < index["_n_theta"]))
        # Fourier mode numbers of any member (amplitude 0 for members without the mode).
        self.modes = tuple(modes)
        # Bending mode numbers of any member (amplitude 0 for members without the mode).
        self.bends = tuple(bends)
        # Per member: (sign, radial2) of its truncation, sign -1 outer, +1 inner, 0 none;
        # None when no member is truncated.
        self.truncation = truncation
        # Per member: whether its rotation is the log form (members without rotation get
        # the identity map, see ModelRenderer._rotation_index); None when none is rotated.
        self.rotation_kind = rotation_kind
        self.fields = _group_fields(self.modes, self.bends, truncation is not None, rotation_kind is not None)


class ModelRenderer:
    """Renders GALFIT components over a fitting region, convolved with the PSF.

    Parameters
    ----------
    components : list of galfit_files.Component
        The components, in input-file order.
    region : tuple of int
        H) ``(x1, x2, y1, y2)``, 1-based inclusive, in the full image's frame.
    psf : ndarray or None
        PSF normalised to sum 1 (see :func:`load_psf`), centred on pixel N//2 (0-based);
        None: no convolution.
    convbox : tuple of int or None
        I); recorded only (the whole region is always convolved).
    zeropoint : float
        J) magnitude zeropoint.
    exptime : float
        EXPTIME of the input image (1 when absent).
    finesample : int
        E); must be 1 here (:class:`finesample.FineSampledRenderer` renders finer grids).
    platescale : tuple of float, optional
        K) (dx, dy) in arcsec per pixel: converts the surface brightnesses of edgedisk,
        nuker, king and ferrer; required when there are such components.
    sampling : {"exact", "galfit"}
        "exact": pixel means of the profiles (see the module's description); "galfit":
        without a PSF, GALFIT's own sub-sampling rule (see GALFIT_INNER_N), which
        reproduces its model images, including the light it loses on thin components;
        with a PSF the same as "exact", which is what matches GALFIT's convolved models.

    Raises
    ------
    GalfitFormatError
        A component type, row or option the embedded fitter does not implement (one line
        naming the component number and type), or a psf component without a PSF.

    Attributes
    ----------
    names : list of (int, str)
        Parameter vector layout: (component index 0-based, header key).
    theta0 : ndarray
        Initial parameter vector from the components' rows.
    shape : tuple of int
        ``(ny, nx)`` of the region.
    """

    def __init__(
        self, components, region, psf, convbox, zeropoint, exptime=1.0, finesample=1, platescale=None, sampling="exact"
    ):
        check_supported(components, psf is not None, finesample)
        if int(finesample) != 1:
            raise gf.GalfitFormatError(
                f"E) PSF fine sampling {finesample}: this renderer samples the data's pixels; use finesample.make_renderer"
            )
        if sampling not in SAMPLING_MODES:
            raise ValueError(f"sampling {sampling!r}: use one of {', '.join(SAMPLING_MODES)}")
        self.sampling = sampling
        # With a PSF, GALFIT's image blocks are matched by the exact pixel means and the
        # sub-pixel convolution of steep cores (its rule below makes them 3-5 times worse).
        self._galfit_rule = sampling == "galfit" and psf is None
        # psf components: GALFIT's own placement (see psfplace) or the exact Fourier shift.
        self._psf_placed = sampling == "galfit" and psf is not None
        self._psf = None if psf is None else np.asarray(psf, dtype=np.float64)
        if platescale is None and needs_platescale(components):
            raise gf.GalfitFormatError("K) plate scale: needed for surface-brightness components; give K)")
        # Surface brightness per arcsec^2 -> per pixel.
        self.pixel_area = 1.0 if platescale is None else float(platescale[0]) * float(platescale[1])
        self.components = list(components)
        self.region = tuple(int(v) for v in region)
        self.convbox = convbox
        self.zeropoint = float(zeropoint)
        self.exptime = float(exptime)
        x1, x2, y1, y2 = self.region
        self.shape = (y2 - y1 + 1, x2 - x1 + 1)
        self.names = []
        self.theta0 = []
        for i, comp in enumerate(self.components):
            for hkey, row, idx in gf.parameter_table(comp):
                self.names.append((i, hkey))
                self.theta0.append(comp.value(row, idx))
        self.theta0 = np.array(self.theta0, dtype=np.float64)
        self._setup_grid(psf)
        self._setup_groups()

    # ------------------------------------------------------------------ set-up
    def _setup_grid(self, psf):
        ny, nx = self.shape
        x1, _, y1, _ = self.region
        if psf is None:
            pady = padx = 0
            self.grid_shape = (ny, nx)
            self._psf_hat = None
        else:
            psf = np.asarray(psf, dtype=np.float64)
            cy, cx = (int(c) for c in psf_centre(psf.shape))
            pady = max(cy, psf.shape[0] - 1 - cy)
            padx = max(cx, psf.shape[1] - 1 - cx)
            self.grid_shape = (
                scipy.fft.next_fast_len(ny + 2 * pady, real=True),
                scipy.fft.next_fast_len(nx + 2 * padx, real=True),
            )
            kernel = np.zeros(self.grid_shape)
            # Kernel centre on index (0, 0): circular convolution then keeps positions.
            iy = (np.arange(psf.shape[0]) - cy) % self.grid_shape[0]
            ix = (np.arange(psf.shape[1]) - cx) % self.grid_shape[1]
            kernel[np.ix_(iy, ix)] = psf
            self._psf_hat = scipy.fft.rfft2(kernel.astype(np.float32), workers=1)
        # Full-image 1-based coordinates of grid pixel (0, 0).
        self._origin = (float(y1 - pady), float(x1 - padx))
        gy, gx = self.grid_shape
        yy, xx = np.mgrid[0:gy, 0:gx]
        self._gx = xx.ravel().astype(np.float32)
        self._gy = yy.ravel().astype(np.float32)
        self._crop = (slice(pady, pady + ny), slice(padx, padx + nx))
        # Sky plane coordinates relative to the region centre (GALFIT's pivot).
        ry, rx = np.mgrid[0:ny, 0:nx]
        self._sky_dx = (rx + x1 - 0.5 * (self.region[0] + self.region[1])).astype(np.float64)
        self._sky_dy = (ry + y1 - 0.5 * (self.region[2] + self.region[3])).astype(np.float64)
        # Sub-sample layouts per refinement factor (thin components need finer sampling).
        self._levels = {}
        for mult in {1} | set(_THIN_REFINE.values()):
            layout = []
            for half, sub in SUBSAMPLING:
                oy, ox = (a.ravel() for a in np.mgrid[-half : half + 1, -half : half + 1])
                # Gauss-Legendre nodes and weights over the pixel (-1/2 .. 1/2).
                node, weight = np.polynomial.legendre.leggauss(min(sub * mult, _MAX_NODES))
                sy, sx = (a.ravel() for a in np.meshgrid(node / 2, node / 2, indexing="ij"))
                w = (np.outer(weight, weight) / 4).ravel().astype(np.float32)
                layout.append((oy, ox, sy.astype(np.float32), sx.astype(np.float32), w))
            self._levels[mult] = layout
        if self._psf_hat is not None:
            self._fy = np.fft.fftfreq(gy)[:, None]
            self._fx = np.fft.rfftfreq(gx)[None, :]
            half, sub = CORE_BOX
            s = (np.arange(sub) + 0.5) / sub - 0.5
            self._core_offsets = (np.arange(-half, half + 1)[:, None] + s[None, :]).ravel()
            two_pi_i = -2j * np.pi
            core_ex = np.exp(two_pi_i * self._core_offsets[:, None] * self._fx).astype(np.complex64)
            # Contiguous real and imaginary parts: products with strided views skip BLAS.
            self._core_ex_re, self._core_ex_im = np.ascontiguousarray(core_ex.real), np.ascontiguousarray(core_ex.imag)
            self._core_ey = np.exp(two_pi_i * self._fy * self._core_offsets[None, :]).astype(np.complex64)
            self._shift_x = np.exp(two_pi_i * np.arange(gx)[:, None] * self._fx).astype(np.complex64)
            self._shift_y = np.exp(two_pi_i * np.arange(gy)[:, None] * self._fy[:, 0][None, :]).astype(np.complex64)

    def _setup_groups(self):
        n_theta = len(self.theta0)
        # Extended theta: constants appended for parameters a component does not have.
        self._const = np.array([_DEVAUC_N, 0.0, 1.0])
        k_n4, k_zero, k_one = n_theta, n_theta + 1, n_theta + 2
        where = {name: j for j, name in enumerate(self.names)}
        self._groups = []
        for kind in profiles.PROFILE_KINDS:
            members = [i for i, c in enumerate(self.components) if _PROFILE_TYPES.get(c.base_type) == kind]
            if not members:
                continue
            index = {"_n_theta": n_theta}
            modes = sorted({int(key[1:]) for i in members for key in self.components[i].rows if _FOURIER_ROW.match(key)})
            bends = sorted({int(key[1:]) for i in members for key in self.components[i].rows if _BENDING_ROW.match(key)})
            links = [self._truncation_of(i) for i in members]
            truncation = None
            if any(t is not None for t in links):
                truncation = (
                    np.array([0 if t is None else t[1] for t in links]),
                    np.array([t is not None and self.components[t[0]].base_type.startswith("radial2") for t in links]),
                )
            funcs = [gf.rotation_function(self.components[i]) for i in members]
            rotation_kind = None
            if any(funcs):
                rotation_kind = np.array([f == "log" for f in funcs])
            for field in _group_fields(modes, bends, truncation is not None, rotation_kind is not None):
                idx = []
                for i, link in zip(members, links):
                    base = self.components[i].base_type
                    if field in _TRUNC_FIELDS:
                        idx.append(self._truncation_index(i, link, field, where, k_one))
                        continue
                    if field in rotation.ROTATION_FIELDS:
                        idx.append(self._rotation_index(i, field, where, k_zero, k_one))
                        continue
                    key = {
                        "MAG": gf.parameter_table(self.components[i])[2][0],
                        "SIZE": _SIZE_KEY[base],
                        "SHAPE": _SHAPE_KEY.get(base),
                        "SHAPE2": _SHAPE2_KEY.get(base),
                        "SHAPE3": _SHAPE3_KEY.get(base),
                    }.get(field, field)
                    fallback = {"SHAPE": k_n4, "AR": k_one}.get(field, k_zero)
                    idx.append(where.get((i, key), fallback))
                index[field] = np.array(idx)
            self._groups.append(_Group(kind, members, index, modes, bends, truncation, rotation_kind))
        self._psf_members = [i for i, c in enumerate(self.components) if c.base_type == "psf"]
        self._sky_members = [i for i, c in enumerate(self.components) if c.base_type == "sky"]
        self._where = where

    def _truncation_of(self, i):
        """(truncation component index, sign) of component ``i``: -1 outer, +1 inner; or None."""
        for link, sign in (("To", -1), ("Ti", 1)):
            numbers = self.components[i].truncations.get(link)
            if numbers:
                return numbers[0] - 1, sign
        return None

    def _rotation_index(self, i, field, where, k_zero, k_one):
        """Theta index of a rotation field of component ``i``; for a component without
        rotation, constants that make the map the identity (R2) 1, R4) 1, the rest 0)."""
        table = {row: hkey for hkey, row, _ in gf.parameter_table(self.components[i])}
        row = gf.ROTATION_ROWS[rotation.ROTATION_FIELDS.index(field)][1]
        if row in table and (i, table[row]) in where:
            return where[(i, table[row])]
        return k_one if field in ("ROT_ROUT", "ROT_R4") else k_zero

    @staticmethod
    def _truncation_index(i, link, field, where, k_one):
        """Theta index of a truncation field of component ``i``: the truncation's own
        parameter, else (no T1), T9), T10) given) the component's, else a constant."""
        own = {"TXC": "XC", "TYC": "YC", "TAR": "AR", "TPA": "PA"}.get(field)
        if link is not None:
            key = {"T4": "RBRK", "T5": "DSFT"}.get(field, own)
            for name in (key, "RSFT") if field == "T5" else (key,):
                if (link[0], name) in where:
                    return where[(link[0], name)]
        return where.get((i, own), k_one) if own else k_one

    def _truncation_parts(self, group, par, sel):
        """Per active member: what :func:`_truncate` needs (centre offset, radii, the
        surface brightness's flux factor and their derivatives); and ln A, the log of the
        flux per unit of row 3)'s surface brightness (0 for members without truncation)."""
        sign = group.truncation[0][sel]
        radial2 = group.truncation[1][sel]
        on = sign != 0
        t4 = np.where(on, par["T4"], 1.0)
        r1, delta, jac = profiles.truncation_radii(t4, np.where(on, par["T5"], 1.0), radial2, sign > 0)
        c0 = par["C0"] if group.has_c0 else None
        ln_a, dln = profiles.sersic_sb_log_area(par["SHAPE"], par["SIZE"], par["AR"], c0)
        dln["REF"] = np.zeros_like(ln_a)
        inner = sign > 0
        if inner.any():  # the reference is the break radius T4), not the centre
            ln_i, dln_i = profiles.sersic_sb_log_area(par["SHAPE"], par["SIZE"], par["AR"], c0, np.where(inner, t4, par["SIZE"]))
            ln_a = np.where(inner, ln_i, ln_a)
            dln = {key: np.where(inner, dln_i[key], v) for key, v in dln.items()}
        p = {
            "sign": sign, "dxc": par["TXC"] - par["XC"], "dyc": par["TYC"] - par["YC"], "r1": r1, "delta": delta,
            "TAR": par["TAR"], "TPA": par["TPA"], "radii_jac": jac,
        }
        p.update((f"dln_{key}", np.where(on, v, 0.0)) for key, v in dln.items())
        return p, np.where(on, ln_a, 0.0)

    # ------------------------------------------------------------------ rendering
    def _group_images(self, group, theta_ext, active, derivs):
        """Images of the active components of one group on the grid.

        Returns the pixel-centre images (m, P) and their derivatives (field -> (m, P)), the
        theta index of every field, the corrections of each component's box (see
        :meth:`_box_corrections`), and the steep cores: component rows, fine-cell fluxes
        (k, Nb*Nb) with derivatives and centre pixels (None when there are none).
        """
        sel = active[group.members]
        idx = {f: group.index[f][sel] for f in group.fields}
        par = {f: theta_ext[idx[f]] for f in group.fields}
        flux = profiles.flux_from_mag(par["MAG"], self.zeropoint, self.exptime)
        if group.kind in profiles.SB_KINDS:
            flux = flux * self.pixel_area
        tparts = None
        if group.truncation is not None:
            tparts, ln_a = self._truncation_parts(group, par, sel)
            flux = np.where(tparts["sign"] != 0, flux * self.pixel_area * np.exp(ln_a), flux)
        c0 = par["C0"] if group.has_c0 else None
        oy0, ox0 = self._origin
        xc = (par["XC"] - ox0).astype(np.float32)
        yc = (par["YC"] - oy0).astype(np.float32)
        amp = np.stack([par[f"F{m}"] for m in group.modes], axis=1) if group.modes else None
        phase = np.stack([par[f"F{m}PA"] for m in group.modes], axis=1) if group.modes else None
        bamp = np.stack([par[f"B{m}"] for m in group.bends], axis=1) if group.bends else None
        args = (flux, par["SIZE"], par["SHAPE"], par["AR"], par["PA"], c0, par["SHAPE2"], par["SHAPE3"], amp, phase, bamp)
        rot_log = None if group.rotation_kind is None else group.rotation_kind[sel]

        def ev(dx, dy, k=slice(None)):
            sub = tuple(None if a is None else np.asarray(a)[k] for a in args)
            fourier = None if amp is None else (group.modes, sub[8], sub[9])
            if rot_log is not None:
                rpar = {f: np.asarray(par[f])[k] for f in rotation.ROTATION_FIELDS}
                if derivs:
                    ndx, ndy, scale, dmap = rotation.rotate_with_derivatives(dx, dy, rpar, rot_log[k])
                else:
                    ndx, ndy, scale = rotation.rotate(dx, dy, rpar, rot_log[k])
                dx, dy = ndx.astype(dx.dtype), ndy.astype(dy.dtype)
                sub = (sub[0] * scale[:, 0],) + sub[1:]
            if bamp is not None:
                dx, dy, parts = _bend(dx, dy, group.bends, sub[10], sub[1], sub[4])
            res = profiles.evaluate(
                group.kind, dx, dy, *sub[:6], derivs=derivs, shape2=sub[6], shape3=sub[7], fourier=fourier
            )
            if not derivs:
                res = (res, {})
            else:
                # Chain rules in the reverse order of the maps: a group may hold a bent and a
                # rotated member (each with the other map as the identity).
                if bamp is not None:
                    res = (res[0], _bent_derivatives(res[1], parts, group.bends))
                if rot_log is not None:
                    res = (res[0], _rotated_derivatives(res[0], res[1], dmap, rpar["ROT_INCL"]))
            if tparts is not None:
                res = _truncate(res[0], res[1], (dx, dy, tparts), k)
            return res

        # Pixel centres, one component at a time: the rows stay in cache (twice as fast).
        img = np.empty((len(xc), self._gx.size), dtype=np.float32)
        der = {}
        gy, gx = self.grid_shape
        for i in range(len(xc)):
            row, drow = ev((self._gx - xc[i])[None, :], (self._gy - yc[i])[None, :], [i])
            img[i] = row[0]
            for key, arr in drow.items():
                der.setdefault(key, np.empty_like(img))[i] = arr[0]
        ic = np.rint(par["XC"] - ox0).astype(np.int64)
        jc = np.rint(par["YC"] - oy0).astype(np.int64)
        steep = np.zeros(len(xc), dtype=bool)
        if self._psf_hat is not None and group.kind == "sersic":
            # The Fourier transform of the core is periodic: the core must lie on the grid.
            margin = CORE_BOX[0] + 1
            on_grid = (ic >= margin) & (ic < gx - margin) & (jc >= margin) & (jc < gy - margin)
            steep = (par["SHAPE"] >= CORE_MIN_N) & (par["AR"] >= CORE_MIN_Q) & on_grid
        if self._galfit_rule:
            boxes = self._galfit_corrections(ev, img, der, xc, yc, ic, jc, par["AR"], par["PA"])
            return img, der, idx, boxes, None
        refine = np.array([_refinement(q) for q in par["AR"]])
        # Pixel values inside the outermost box, per component: finer levels overwrite
        # their central part, steep cores are emptied (they go to Fourier space).
        outer = SUBSAMPLING[0][0]
        side = 2 * outer + 1
        box = np.zeros((len(xc), side, side), dtype=np.float32)
        dbox = {key: np.zeros_like(box) for key in der}
        for mult in np.unique(refine):
            for (half, _), (oy, ox, sy, sx, w) in zip(SUBSAMPLING, self._levels[mult]):
                # Levels inside the core box of steep components would be overwritten.
                k = np.flatnonzero((refine == mult) & ~(steep & (half <= CORE_BOX[0])))
                if not len(k):
                    continue
                npix, nsub = len(ox), len(sx)
                dx = ((ic[k, None] + ox[None, :] - xc[k, None]).astype(np.float32)[:, :, None] + sx).reshape(len(k), -1)
                dy = ((jc[k, None] + oy[None, :] - yc[k, None]).astype(np.float32)[:, :, None] + sy).reshape(len(k), -1)
                fine_img, fine_der = ev(dx, dy, k)
                part = (slice(outer - half, outer + half + 1),) * 2
                box[(k,) + part] = (fine_img.reshape(-1, npix, nsub) @ w).reshape(len(k), 2 * half + 1, -1)
                for key, arr in fine_der.items():
                    dbox[key][(k,) + part] = (arr.reshape(-1, npix, nsub) @ w).reshape(len(k), 2 * half + 1, -1)
        # The centre pixel holds the cusp: cells refined around the centre.
        k = np.flatnonzero(~steep)
        if len(k):
            cimg, cder = self._cell_means(ev, k, xc[k] - ic[k], yc[k] - jc[k], 0, CENTRE_CELLS)
            box[k, outer, outer] = cimg.mean(axis=(1, 2))
            for key, arr in cder.items():
                dbox[key][k, outer, outer] = arr.mean(axis=(1, 2))
        core_part = (slice(outer - CORE_BOX[0], outer + CORE_BOX[0] + 1),) * 2
        for arr in [box] + list(dbox.values()):
            arr[(np.flatnonzero(steep),) + core_part] = 0.0
        boxes = self._box_corrections(img, der, ic, jc, box, dbox)
        if not steep.any():
            return img, der, idx, boxes, None
        # Steep cores leave the pixel grid: their fine cells are convolved as point sources
        # at their own positions, in Fourier space (see _core_spectra).
        k = np.flatnonzero(steep)
        cimg, cder = self._cell_means(ev, k, xc[k] - ic[k], yc[k] - jc[k], *CORE_BOX)
        cimg = cimg.reshape(len(k), -1)
        cder = {key: v.reshape(len(k), -1) for key, v in cder.items()}
        area = np.float32(1.0 / CORE_BOX[1] ** 2)
        return img, der, idx, boxes, (k, cimg * area, {key: v * area for key, v in cder.items()}, ic[k], jc[k])

    def _box_corrections(self, img, der, ic, jc, box, dbox):
        """What to add, after the curvature correction of the pixel-centre images, to turn
        the pixels of each component's box into the box's sub-sampled values.

        Returns flat pixel indices (m, B), a mask of those inside the grid, and the
        corrections for the image (m, B) and each derivative.
        """
        gy, gx = self.grid_shape
        outer = SUBSAMPLING[0][0]
        off = np.arange(-outer, outer + 1)
        py = np.broadcast_to((jc[:, None] + off)[:, :, None], box.shape)
        px = np.broadcast_to((ic[:, None] + off)[:, None, :], box.shape)
        inside = ((px >= 0) & (px < gx) & (py >= 0) & (py < gy)).reshape(len(ic), -1)
        # Pixels whose curvature term is computed (the grid's edges have none).
        inner = ((px >= 1) & (px < gx - 1) & (py >= 1) & (py < gy - 1)).reshape(len(ic), -1)
        flat = (np.clip(py, 0, gy - 1) * gx + np.clip(px, 0, gx - 1)).reshape(len(ic), -1)
        rows = np.arange(len(ic))[:, None]
        neighbours = [np.clip(flat + d, 0, gy * gx - 1) for d in (-gx, gx, -1, 1)]

        def correction(coarse, target):
            centre = coarse[rows, flat]
            lap = sum(coarse[rows, nb] for nb in neighbours) - 4.0 * centre
            return target.reshape(len(ic), -1) - centre - np.where(inner, lap * np.float32(1.0 / 24.0), 0.0)

        return flat, inside, correction(img, box), {key: correction(der[key], dbox[key]) for key in der}

    def _galfit_corrections(self, ev, img, der, xc, yc, ic, jc, q, pa):
        """GALFIT's sub-sampling near each centre as corrections of the pixel-centre images
        (same layout as :meth:`_box_corrections`; no curvature term in this mode)."""
        gy, gx = self.grid_shape
        half = int(np.ceil(GALFIT_OUTER_R))
        off = np.arange(-half, half + 1)
        m = len(xc)
        shape = (m, off.size, off.size)
        py = np.broadcast_to((jc[:, None] + off)[:, :, None], shape)
        px = np.broadcast_to((ic[:, None] + off)[:, None, :], shape)
        dx = px - xc.astype(np.float64)[:, None, None]
        dy = py - yc.astype(np.float64)[:, None, None]
        theta = np.radians(pa)[:, None, None]
        xp = dy * np.cos(theta) - dx * np.sin(theta)
        yp = (dx * np.cos(theta) + dy * np.sin(theta)) / q[:, None, None]
        r = np.hypot(xp, yp)
        nsub = np.where(
            r < GALFIT_INNER_R, GALFIT_INNER_N, np.where(r < GALFIT_OUTER_R, np.rint(GALFIT_INNER_N / np.maximum(r, 1e-9)), 1)
        ).astype(np.int64)
        # Within a pixel of the centre: finer still for thin components.
        core_n = np.maximum(nsub, np.rint(GALFIT_CENTRE_Q / q)[:, None, None]).astype(np.int64)
        nsub = np.where(r < GALFIT_CENTRE_R, core_n, nsub)
        inside = ((px >= 0) & (px < gx) & (py >= 0) & (py < gy) & (nsub > 1)).reshape(m, -1)
        flat = (np.clip(py, 0, gy - 1) * gx + np.clip(px, 0, gx - 1)).reshape(m, -1)
        nsub = nsub.reshape(m, -1)
        corr = np.zeros((m, flat.shape[1]), dtype=np.float32)
        dcorr = {key: np.zeros_like(corr) for key in der}
        for i in range(m):
            sel = np.flatnonzero(inside[i])
            if not sel.size:
                continue
            ns = nsub[i, sel]
            cells = [_cell_offsets(int(n)) for n in ns]
            pix = np.repeat(np.arange(sel.size), ns * ns)
            cx = np.concatenate([c[0] for c in cells])
            cy = np.concatenate([c[1] for c in cells])
            fx, fy = flat[i, sel] % gx, flat[i, sel] // gx
            sx = (fx[pix] + cx - xc[i]).astype(np.float32)[None, :]
            sy = (fy[pix] + cy - yc[i]).astype(np.float32)[None, :]
            val, dval = ev(sx, sy, [i])
            weight = 1.0 / (ns * ns)[pix]
            corr[i, sel] = np.bincount(pix, weights=val[0] * weight, minlength=sel.size) - img[i, flat[i, sel]]
            for key, arr in dval.items():
                dcorr[key][i, sel] = np.bincount(pix, weights=arr[0] * weight, minlength=sel.size) - der[key][i, flat[i, sel]]
        return flat, inside, corr, dcorr

    @staticmethod
    def _cell_means(ev, k, ux, uy, half, sub):
        """Means of the profile over square cells around the centre pixels, (m, Nb, Nb).

        The (2 half + 1) pixels around each centre pixel are cut into ``sub`` cells per side
        and sampled at the cells' centres; the cells nearest the centre (a cusp) are
        re-integrated on the nested finer grids of CELL_REFINE.  ``ux, uy``: the centres'
        offsets from their centre pixels.  Returns the cell means and their derivatives.
        """
        nb = (2 * half + 1) * sub
        m = len(k)
        centres = (np.arange(nb) + 0.5) / sub - half - 0.5  # cell centres from the pixel centre
        dx = np.broadcast_to((centres[None, :] - ux[:, None]).astype(np.float32)[:, None, :], (m, nb, nb))
        dy = np.broadcast_to((centres[None, :] - uy[:, None]).astype(np.float32)[:, :, None], (m, nb, nb))
        cimg, cder = ev(dx.reshape(m, -1), dy.reshape(m, -1), k)
        cimg = cimg.reshape(m, nb, nb)
        cder = {key: v.reshape(m, nb, nb) for key, v in cder.items()}
        rows = np.arange(m)[:, None, None]
        ca = np.clip(np.floor((ux + half + 0.5) * sub).astype(np.int64), 0, nb - 1)
        cb = np.clip(np.floor((uy + half + 0.5) * sub).astype(np.int64), 0, nb - 1)
        for reach, nsub in CELL_REFINE:
            cells = np.arange(-reach, reach + 1)
            ia = ca[:, None] + cells[None, :]
            ib = cb[:, None] + cells[None, :]
            ok = ((ib >= 0) & (ib < nb))[:, :, None] & ((ia >= 0) & (ia < nb))[:, None, :]
            t = ((np.arange(nsub) + 0.5) / nsub - 0.5) / sub
            xa = (ia + 0.5) / sub - half - 0.5 - ux[:, None]
            yb = (ib + 0.5) / sub - half - 0.5 - uy[:, None]
            n = len(cells)
            dx = np.broadcast_to(xa[:, None, :, None, None] + t[None, None, None, None, :], (m, n, n, nsub, nsub))
            dy = np.broadcast_to(yb[:, :, None, None, None] + t[None, None, None, :, None], (m, n, n, nsub, nsub))
            img, der = ev(dx.reshape(m, -1).astype(np.float32), dy.reshape(m, -1).astype(np.float32), k)
            sel = (np.broadcast_to(rows, ok.shape)[ok], np.broadcast_to(ib[:, :, None], ok.shape)[ok],
                   np.broadcast_to(ia[:, None, :], ok.shape)[ok])
            cimg[sel] = img.reshape(m, n, n, -1).mean(axis=3)[ok]
            for key, arr in der.items():
                cder[key][sel] = arr.reshape(m, n, n, -1).mean(axis=3)[ok]
        return cimg, cder

    def _core_spectra(self, values, ic, jc):
        """2-D DFT on the grid's rfft frequencies of fine-cell fluxes at their positions.

        ``values`` (k, Nb*Na) on the core's fine grid around pixels ``(jc, ic)`` (k,); the
        DFT is separable, E_y @ f @ E_x^T, with the integer shift applied as a phase.
        """
        nb = len(self._core_offsets)
        k = len(ic)
        f = values.reshape(k * nb, nb)
        # x transform as two real products (f is real), then the y transform in one product.
        t = (f @ self._core_ex_re + 1j * (f @ self._core_ex_im)).astype(np.complex64)
        nxr = t.shape[1]
        t = t.reshape(k, nb, nxr).transpose(1, 0, 2).reshape(nb, k * nxr)
        # The shifts are applied in the product's own (y, k, x) layout, which is contiguous.
        out = (self._core_ey @ t).reshape(-1, k, nxr)
        out *= self._shift_y[jc % self.grid_shape[0]].T[:, :, None]
        out *= self._shift_x[ic % self.grid_shape[1]][None, :, :]
        return out.transpose(1, 0, 2)

    def _psf_terms(self, theta, active, free_cols):
        """Fourier transforms of psf components (shifted deltas) and their derivatives."""
        total = 0.0
        cols = {}
        oy0, ox0 = self._origin
        gy, gx = self.grid_shape
        for i in self._psf_members:
            jx, jy, jm = (self._where[(i, k)] for k in ("XC", "YC", "MAG"))
            # A PSF centred off the grid cannot reach the region (the grid extends the
            # region by the PSF's half-size); its periodic transform would wrap it in.
            if not (active[i] and 0 <= theta[jx] - ox0 < gx and 0 <= theta[jy] - oy0 < gy):
                continue
            flux = float(profiles.flux_from_mag(theta[jm], self.zeropoint, self.exptime))
            phase = np.exp(-2j * np.pi * (self._fx * (theta[jx] - ox0) + self._fy * (theta[jy] - oy0)))
            term = (flux * phase).astype(np.complex64)
            total = total + term
            if jm in free_cols:
                cols[jm] = term * np.float32(-profiles.LN10_04)
            if jx in free_cols:
                cols[jx] = term * (-2j * np.pi * self._fx).astype(np.complex64)
            if jy in free_cols:
                cols[jy] = term * (-2j * np.pi * self._fy).astype(np.complex64)
        return total, cols

    def _psf_images(self, theta, active, free_cols):
        """psf components placed as GALFIT places them (:func:`psfplace.place_psf`): their
        images under key None, and the derivative images of the free columns by column."""
        out = {None: []}
        y1, x1 = self.region[2], self.region[0]
        for i in self._psf_members:
            if not active[i]:
                continue
            jx, jy, jm = (self._where[(i, k)] for k in ("XC", "YC", "MAG"))
            flux = float(profiles.flux_from_mag(theta[jm], self.zeropoint, self.exptime))
            moved = jx in free_cols or jy in free_cols
            img, d_dy, d_dx = place_psf(self._psf, psf_centre(self._psf.shape), theta[jy] - y1, theta[jx] - x1, self.shape, moved)
            out[None].append(flux * img)
            for j, part in ((jm, -profiles.LN10_04 * img), (jx, d_dx), (jy, d_dy)):
                if j in free_cols:
                    out[j] = flux * part
        return out

    def _sky(self, theta, active):
        out = np.zeros(self.shape)
        for i in self._sky_members:
            if active[i]:
                s, gx, gy = (theta[self._where[(i, k)]] for k in ("SKY", "DSDX", "DSDY"))
                out += s + gx * self._sky_dx + gy * self._sky_dy
        return out

    def _render(self, theta, active, free):
        """Model (ny, nx) and, when ``free`` is given, J (nfree, ny, nx)."""
        # Threaded BLAS is far slower than one thread for these small products.
        with single_threaded_blas():
            return self._render_core(theta, active, free)

    def _render_core(self, theta, active, free):
        theta = np.asarray(theta, dtype=np.float64)
        theta_ext = np.concatenate([theta, self._const])
        free_idx = [] if free is None else list(np.flatnonzero(free))
        derivs = bool(free_idx)
        pos = {j: k + 1 for k, j in enumerate(free_idx)}  # stack row of each free column
        gy, gx = self.grid_shape
        stack = np.zeros((1 + len(free_idx), gy * gx), dtype=np.float32)
        core_vals, core_rows, core_ic, core_jc, box_parts = [], [], [], [], []
        for group in self._groups:
            if not active[group.members].any():
                continue
            img, der, idx, boxes, core = self._group_images(group, theta_ext, active, derivs)
            stack[0] += img.sum(axis=0)
            cols = [(field, m, pos[j]) for field in der for m, j in enumerate(idx[field]) if j in pos]
            for field, m, row in cols:
                stack[row] += der[field][m]
            box_parts.append((boxes, cols))
            if core is not None:
                k, cimg, cder, ic, jc = core
                where_k = {m: t for t, m in enumerate(k)}
                ccols = [(field, where_k[m], row) for field, m, row in cols if m in where_k]
                core_vals += [cimg] + [cder[field][t : t + 1] for field, t, _ in ccols]
                core_rows += [np.zeros(len(k), dtype=np.int64)] + [np.array([row]) for *_, row in ccols]
                core_ic += [ic] + [ic[t : t + 1] for _, t, _ in ccols]
                core_jc += [jc] + [jc[t : t + 1] for _, t, _ in ccols]
        stack = stack.reshape(-1, gy, gx)
        if not self._galfit_rule:
            for i in range(0, len(stack), 8):  # a few images at a time stay in cache
                _add_curvature(stack[i : i + 8])
        flat_stack = stack.reshape(len(stack), -1)
        for (flat, inside, corr, dcorr), cols in box_parts:
            flat_stack[0] += np.bincount(flat[inside], weights=corr[inside], minlength=gy * gx).astype(np.float32)
            for field, m, row in cols:
                flat_stack[row, flat[m][inside[m]]] += dcorr[field][m][inside[m]]
        if self._psf_hat is None:
            conv = stack[(slice(None),) + self._crop]
        else:
            spec = scipy.fft.rfft2(stack, workers=1)
            if core_vals:
                rows = np.concatenate(core_rows)
                core_hat = self._core_spectra(
                    np.concatenate(core_vals), np.concatenate(core_ic), np.concatenate(core_jc)
                )
                spec[0] += core_hat[rows == 0].sum(axis=0)
                # Each Jacobian row once: in place, row by row (a fancy-indexed sum copies).
                for t in np.flatnonzero(rows):
                    spec[rows[t]] += core_hat[t]
            if not self._psf_placed:
                psf_total, psf_cols = self._psf_terms(theta, active, pos)
                spec[0] += psf_total
                for j, term in psf_cols.items():
                    spec[pos[j]] += term
            spec *= self._psf_hat
            # Inverse transform along y, then along x for the region's rows only.
            rows = scipy.fft.ifft(spec, axis=1, workers=1, overwrite_x=True)[:, self._crop[0]]
            conv = scipy.fft.irfft(rows, n=gx, axis=2, workers=1)[:, :, self._crop[1]]
        model = conv[0].astype(np.float64) + self._sky(theta, active)
        placed = self._psf_images(theta, active, pos) if self._psf_placed else {}
        for image in placed.pop(None, ()):
            model += image
        if not derivs:
            return model, None
        jac = conv[1:].astype(np.float64)
        for j, image in placed.items():
            jac[pos[j] - 1] = image
        for i in self._sky_members:
            if active[i]:
                for key, plane in (("SKY", 1.0), ("DSDX", self._sky_dx), ("DSDY", self._sky_dy)):
                    j = self._where[(i, key)]
                    if j in pos:
                        jac[pos[j] - 1] = plane
        return model, jac

    # ------------------------------------------------------------------ public API
    def _active(self, include_skipped=True):
        return np.array([include_skipped or not c.skip for c in self.components], dtype=bool)

    def model(self, theta, include_skipped=True) -> np.ndarray:
        """Model image of the region, shape (ny, nx), float64.

        ``include_skipped=False`` leaves out components with ``Z) 1`` (as GALFIT's output
        model does; the fit uses them).
        """
        return self._render(theta, self._active(include_skipped), None)[0]

    def model_and_jacobian(self, theta, free) -> tuple[np.ndarray, np.ndarray]:
        """Model (ny, nx) and J = d model / d theta[free], shape (nfree, ny, nx), float64."""
        free = np.asarray(free, dtype=bool)
        if not free.any():
            return self.model(theta), np.zeros((0,) + self.shape)
        return self._render(theta, self._active(), free)

    def component_images(self, theta) -> list[np.ndarray]:
        """Each component's image over the region (convolved where GALFIT convolves)."""
        n = len(self.components)
        return [self._render(theta, np.arange(n) == i, None)[0] for i in range(n)]


class FluxModel:
    """The model as a function of the magnitudes and sky levels alone (:data:`FLUX_KEYS`).

    With every other parameter held at ``theta_ref``, each component's image only scales
    with its flux and the sky only shifts: one render of the Jacobian at ``theta_ref``
    holds every component's image (d model / d mag = -0.4 ln 10 x image), and any model
    or Jacobian over these parameters is a linear combination of those images.  A fit of
    the fluxes alone then costs one render instead of one per step.

    Parameters
    ----------
    renderer : ModelRenderer
    theta_ref : ndarray
        The parameter vector whose non-flux entries are held.
    """

    def __init__(self, renderer, theta_ref):
        self.theta_ref = np.array(theta_ref, dtype=np.float64)
        self.shape = renderer.shape
        keys = [key for _, key in renderer.names]
        self._cols = np.flatnonzero([key in FLUX_KEYS for key in keys])
        self._is_mag = np.array([keys[j] != "SKY" for j in self._cols], dtype=bool)
        self._held = np.ones(len(keys), dtype=bool)
        self._held[self._cols] = False
        self._row = np.full(len(keys), -1)
        self._row[self._cols] = np.arange(len(self._cols))
        self._model0, self._jac0 = renderer.model_and_jacobian(self.theta_ref, ~self._held)

    def _scale(self, theta):
        """Flux ratios F / F_ref of the magnitude entries (1 for sky levels)."""
        theta = np.asarray(theta, dtype=np.float64)
        if np.any(theta[self._held] != self.theta_ref[self._held]):
            raise ValueError("FluxModel: only magnitudes and sky levels may differ from theta_ref")
        delta = theta[self._cols] - self.theta_ref[self._cols]
        return delta, np.where(self._is_mag, 10.0 ** (-0.4 * delta), 1.0)

    def model(self, theta) -> np.ndarray:
        """Model image (ny, nx), as :meth:`ModelRenderer.model`."""
        delta, scale = self._scale(theta)
        # Image_i = J_i / (-0.4 ln 10); a sky level adds its (unit) column.
        coef = np.where(self._is_mag, (scale - 1.0) / -profiles.LN10_04, delta)
        return self._model0 + np.tensordot(coef, self._jac0, axes=1)

    def model_and_jacobian(self, theta, free) -> tuple[np.ndarray, np.ndarray]:
        """Model and J over ``free`` (magnitudes and sky levels only), as the renderer's."""
        free = np.flatnonzero(free)
        rows = self._row[free]
        if np.any(rows < 0):
            raise ValueError("FluxModel: Jacobian asked for a parameter other than a magnitude or sky level")
        scale = self._scale(theta)[1]
        return self.model(theta), self._jac0[rows] * scale[rows][:, None, None]
