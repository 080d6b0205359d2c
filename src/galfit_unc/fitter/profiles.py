"""Surface-brightness profiles of GALFIT components and their analytic derivatives.

Every profile is written as

    I(x, y) = F R(C0) / (q s^2) h(r / s)

with F the total flux, q the axis ratio, s the profile's scale length, R(C0) the flux
correction of a generalised ellipse and h a radial profile normalised to
``integral h(rho) 2 pi rho d rho = 1``.  r is the generalised-ellipse radius along the
major axis, r = (|x'|^(C0+2) + |y'/q|^(C0+2))^(1/(C0+2)), with x' along the major axis
(PA from +y counter-clockwise) and y' along the minor axis.  Derivatives of ln I with
respect to every parameter follow from this form (see :func:`evaluate`).

Conventions and normalisations are GALFIT's (Peng et al. 2010, the GALFIT manual):
Sersic kappa = gammaincinv(2n, 1/2), Gaussian FWHM = 2 sqrt(2 ln 2) sigma, Moffat
rd = FWHM / (2 sqrt(2^(1/n) - 1)).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

__all__ = [
    "LN10_04",
    "FWHM_PER_SIGMA",
    "PROFILE_KINDS",
    "flux_from_mag",
    "sersic_kappa",
    "sersic_dkappa_dn",
    "ellipse_log_r",
    "evaluate",
]

#: d ln F / d mag = -0.4 ln 10.
LN10_04 = 0.4 * math.log(10.0)
#: FWHM of a Gaussian in units of its sigma.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Radial profile families (devauc is a Sersic with n = 4).
PROFILE_KINDS = ("sersic", "expdisk", "gaussian", "moffat")

_LN_2PI = math.log(2.0 * math.pi)
_LN_B_MAX = 60.0
_DERIV_KEYS = ("XC", "YC", "MAG", "SIZE", "SHAPE", "AR", "PA", "C0")


def flux_from_mag(mag, zeropoint: float, exptime: float = 1.0):
    """Total flux (counts) of magnitude ``mag``: mag = -2.5 log10(F / EXPTIME) + J."""
    return exptime * 10.0 ** (-0.4 * (np.asarray(mag, dtype=np.float64) - zeropoint))


def sersic_kappa(n):
    """kappa(n) such that Re encloses half the light: P(2n, kappa) = 1/2."""
    return special.gammaincinv(2.0 * np.asarray(n, dtype=np.float64), 0.5)


def sersic_dkappa_dn(n, kappa=None):
    """d kappa / d n by implicit differentiation of P(2n, kappa) = 1/2.

    dkappa/dn = -2 (dP/da) / (dP/dx) at a = 2n, x = kappa, with
    dP/da = exp(-x) sum_k x^(a+k) / Gamma(a+k+1) (ln x - psi(a+k+1)) (the series
    P(a, x) = exp(-x) sum_k x^(a+k) / Gamma(a+k+1) differentiated term by term;
    it converges because x < a) and dP/dx = x^(a-1) exp(-x) / Gamma(a).
    """
    n = np.atleast_1d(np.asarray(n, dtype=np.float64))
    kappa = sersic_kappa(n) if kappa is None else np.atleast_1d(np.asarray(kappa, dtype=np.float64))
    a = 2.0 * n[:, None]
    x = kappa[:, None]
    # Terms fall like exp(-k^2 / 2a): 60 + 12 sqrt(a) terms reach double precision.
    kmax = int(60 + 12 * math.sqrt(float(np.max(a))))
    ak1 = a + np.arange(kmax)[None, :] + 1.0
    lnx = np.log(x)
    terms = np.exp((ak1 - 1.0) * lnx - x - special.gammaln(ak1)) * (lnx - special.digamma(ak1))
    dp_da = terms.sum(axis=1)
    dp_dx = np.exp((a[:, 0] - 1.0) * lnx[:, 0] - x[:, 0] - special.gammaln(a[:, 0]))
    return -2.0 * dp_da / dp_dx


def _ellipse_log_norm(p):
    """ln R and d ln R / d p of a generalised ellipse with exponent p = C0 + 2.

    R(C0) = pi (C0+2) / (4 B(1/(C0+2), 1 + 1/(C0+2))) = pi Gamma(1+2/p) / (4 Gamma(1+1/p)^2).
    """
    ln_r = math.log(math.pi / 4.0) + special.gammaln(1.0 + 2.0 / p) - 2.0 * special.gammaln(1.0 + 1.0 / p)
    dln_r = 2.0 / p**2 * (special.digamma(1.0 + 1.0 / p) - special.digamma(1.0 + 2.0 / p))
    return ln_r, dln_r


def ellipse_log_r(c0):
    """ln R(C0), the flux correction of a generalised ellipse (R(0) = 1)."""
    return _ellipse_log_norm(np.asarray(c0, dtype=np.float64) + 2.0)[0]


def _scale(kind, size, n):
    """Scale length s, d ln s / d size and d ln s / d n of each profile."""
    if kind == "gaussian":
        return size / FWHM_PER_SIGMA, 1.0 / size, np.zeros_like(size)
    if kind == "moffat":
        t = 2.0 ** (1.0 / n)
        s = size / (2.0 * np.sqrt(t - 1.0))
        return s, 1.0 / size, t * math.log(2.0) / (2.0 * n**2 * (t - 1.0))
    return size, 1.0 / size, np.zeros_like(size)


def _radial(kind, rho, n, want_dn):
    """ln h(rho), L = d ln h / d ln rho and d ln h / d n (at fixed rho).

    ``n`` holds per-component constants broadcast against ``rho``: for the Sersic a
    tuple ``(n, kappa, dkappa/dn, ln N, d ln N / dn)``.
    """
    if kind == "sersic":
        n, kappa, dkappa, ln_norm, dln_norm = n
        ln_rho = np.log(rho)
        # Far out in low-n profiles (rho/Re)^(1/n) overflows single precision; the profile
        # is zero long before the cap (exp(-kappa e^60)), and its derivatives stay finite.
        b = np.exp(np.minimum(ln_rho / n, _LN_B_MAX))
        lnh = -kappa * (b - 1.0) - ln_norm
        big_l = -kappa / n * b
        dn = -dkappa * (b - 1.0) + kappa * b * ln_rho / n**2 - dln_norm if want_dn else None
        return lnh, big_l, dn
    if kind == "expdisk":
        return -rho - _LN_2PI, -rho, None
    if kind == "gaussian":
        t = rho * rho
        return -0.5 * t - _LN_2PI, -t, None
    if kind == "moffat":
        t = rho * rho
        lp = np.log1p(t)
        lnh = np.log((n - 1.0) / math.pi) - n * lp
        return lnh, -2.0 * n * t / (1.0 + t), (1.0 / (n - 1.0) - lp) if want_dn else None
    raise ValueError(kind)


def _sersic_constants(n):
    """kappa, dkappa/dn, ln N and d ln N / dn for Sersic indices ``n`` (memoised per n)."""
    return tuple(np.array(v) for v in zip(*(_sersic_constants_one(float(x)) for x in np.ravel(n))))


@functools.lru_cache(maxsize=4096)
def _sersic_constants_one(n):
    n = np.array([n])
    kappa = sersic_kappa(n)
    dkappa = sersic_dkappa_dn(n, kappa)
    ln_norm = _LN_2PI + kappa + np.log(n) - 2.0 * n * np.log(kappa) + special.gammaln(2.0 * n)
    dln_norm = dkappa + 1.0 / n - 2.0 * np.log(kappa) - 2.0 * n * dkappa / kappa + 2.0 * special.digamma(2.0 * n)
    return float(kappa[0]), float(dkappa[0]), float(ln_norm[0]), float(dln_norm[0])


def evaluate(kind, dx, dy, flux, size, shape, q, pa, c0=None, derivs=False):
    """Surface brightness (per pixel area) of ``m`` components at ``k`` points each.

    Parameters
    ----------
    kind : {"sersic", "expdisk", "gaussian", "moffat"}
    dx, dy : ndarray, shape (m, k)
        x - XC and y - YC in pixels (x = column); their dtype is the working precision.
    flux : ndarray, shape (m,)
        Total flux F.
    size : ndarray, shape (m,)
        Re (sersic), Rs (expdisk) or FWHM (gaussian, moffat), in pixels.
    shape : ndarray, shape (m,)
        Sersic index n or Moffat power; ignored otherwise.
    q, pa : ndarray, shape (m,)
        Axis ratio b/a and position angle in degrees (from +y counter-clockwise).
    c0 : ndarray, shape (m,), optional
        Boxiness; None for plain ellipses (faster).
    derivs : bool
        Also return the derivatives.

    Returns
    -------
    I : ndarray, shape (m, k)
    D : dict, only with ``derivs``
        dI/dXC, dI/dYC, dI/dMAG, dI/dSIZE, dI/dSHAPE, dI/dAR, dI/dPA (per degree), dI/dC0,
        each shape (m, k); SHAPE only for sersic and moffat, C0 only when ``c0`` is given.
    """
    dt = dx.dtype
    col = lambda v: np.asarray(v, dtype=np.float64)[:, None]  # noqa: E731
    flux, size, shape, q, pa = col(flux), col(size), col(shape), col(q), col(pa)
    s, dlns_dsize, dlns_dn = _scale(kind, size, shape)
    p = None if c0 is None else col(c0) + 2.0
    ln_r, dln_r = (0.0, None) if p is None else _ellipse_log_norm(p)
    const = np.log(flux) + ln_r - np.log(q) - 2.0 * np.log(s)
    cast = lambda v: np.asarray(v, dtype=dt)  # noqa: E731
    theta = np.radians(pa)
    sn, cs = cast(np.sin(theta)), cast(np.cos(theta))
    qd, sd = cast(q), cast(s)
    xp = dy * cs - dx * sn
    yp = dx * cs + dy * sn
    u = yp / qd
    tiny = np.finfo(dt).tiny ** 0.25
    if p is None:
        r2 = np.maximum(xp * xp + u * u, tiny * tiny)
        r = np.sqrt(r2)
    else:
        pd = cast(p)
        ax, au = np.abs(xp), np.abs(u)
        axp, aup = ax**pd, au**pd
        big_s = np.maximum(axp + aup, tiny**pd)
        r = big_s ** (1.0 / pd)
    rho = r / sd
    if kind == "sersic":
        rad_par = (shape,) + _sersic_constants(shape[:, 0])
        rad_par = tuple(cast(v if np.ndim(v) == 2 else np.asarray(v)[:, None]) for v in rad_par)
    else:
        rad_par = cast(shape)
    lnh, big_l, dlnh_dn = _radial(kind, rho, rad_par, derivs)
    img = np.exp(lnh + cast(const))
    if not derivs:
        return img
    if p is None:
        w = big_l / r2
        gx, gu = w * xp, w * u
    else:
        w = big_l / big_s
        gx = w * ax ** (pd - 1.0) * np.sign(xp)
        gu = w * au ** (pd - 1.0) * np.sign(u)
    out = {
        "XC": img * (gx * sn - gu * (cs / qd)),
        "YC": img * (-gx * cs - gu * (sn / qd)),
        "MAG": img * cast(-LN10_04),
        "SIZE": img * (-2.0 - big_l) * cast(dlns_dsize),
        "AR": img * (cast(-1.0 / q) - gu * u / qd),
        "PA": img * (gu * xp / qd - gx * yp) * cast(math.pi / 180.0),
    }
    if kind in ("sersic", "moffat"):
        out["SHAPE"] = img * (dlnh_dn + (-2.0 - big_l) * cast(dlns_dn))
    if p is not None:
        dlnr_dp = -np.log(big_s) / pd**2 + (special.xlogy(axp, ax) + special.xlogy(aup, au)) / (pd * big_s)
        out["C0"] = img * (cast(dln_r) + big_l * dlnr_dp)
    return img, out
