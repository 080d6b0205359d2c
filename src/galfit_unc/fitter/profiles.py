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
    "SB_KINDS",
    "LN10_04",
    "FWHM_PER_SIGMA",
    "PROFILE_KINDS",
    "flux_from_mag",
    "sersic_kappa",
    "sersic_dkappa_dn",
    "ellipse_log_r",
    "sersic_sb_log_area",
    "truncation_radii",
    "truncation",
    "evaluate",
]

#: d ln F / d mag = -0.4 ln 10.
LN10_04 = 0.4 * math.log(10.0)
#: FWHM of a Gaussian in units of its sigma.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Radial profile families (devauc is a Sersic with n = 4).
PROFILE_KINDS = ("sersic", "expdisk", "gaussian", "moffat", "nuker", "king", "ferrer", "edgedisk")
#: Families whose flux parameter is a surface brightness (mag/arcsec^2) at a fixed point of
#: the profile, not a total magnitude: I = Sigma g(r / s) with g = 1 there.
SB_KINDS = ("nuker", "king", "ferrer", "edgedisk")

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


def sersic_sb_log_area(n, re, q, c0=None, r_ref=None):
    """ln A, with A = F / Sigma_ref, of Sersic profiles given a surface brightness Sigma_ref.

    GALFIT's truncated Sersic (``sersic1``, ``sersic3``) takes in row 3) the surface
    brightness at a reference radius: the centre (``r_ref`` None) or ``r_ref`` pixels
    along the major axis.  A is the total flux of the untruncated profile per unit of
    that brightness: ``2 pi Re^2 q n kappa^(-2n) Gamma(2n) exp(kappa (r_ref/Re)^(1/n)) / R(C0)``.

    Parameters
    ----------
    n, re, q : ndarray, shape (m,)
    c0 : ndarray, shape (m,), optional
    r_ref : ndarray, shape (m,), optional

    Returns
    -------
    ln_a : ndarray (m,)
    d : dict
        d ln A / d of "SIZE" (Re), "SHAPE" (n), "AR" (q), "C0" (with ``c0``) and "REF"
        (``r_ref``, with ``r_ref``), each (m,).
    """
    n, re, q = (np.asarray(v, dtype=np.float64) for v in (n, re, q))
    kappa, dkappa, ln_norm, dln_norm = _sersic_constants(n)
    ln_a = ln_norm - kappa + 2.0 * np.log(re) + np.log(q)
    d = {"SIZE": 2.0 / re, "SHAPE": dln_norm - dkappa, "AR": 1.0 / q}
    if c0 is not None:
        ln_r, dln_r = _ellipse_log_norm(np.asarray(c0, dtype=np.float64) + 2.0)
        ln_a = ln_a - ln_r
        d["C0"] = -dln_r
    if r_ref is not None:
        r_ref = np.asarray(r_ref, dtype=np.float64)
        ratio = np.log(r_ref / re)
        b = np.exp(ratio / n)
        ln_a = ln_a + kappa * b
        d["SIZE"] = d["SIZE"] - kappa * b / (n * re)
        d["SHAPE"] = d["SHAPE"] + b * (dkappa - kappa * ratio / n**2)
        d["REF"] = kappa * b / (n * r_ref)
    return ln_a, d


#: GALFIT's truncation: 1/2 [1 - tanh((2 - B) r / r1 + B)] outside, its complement inside,
#: with B = TRUNC_B0 - TRUNC_B1 r1 / Delta (found on GALFIT's renders; see truncation).
TRUNC_B0 = 2.65
TRUNC_B1 = 4.95


def truncation_radii(t4, t5, radial2, inner):
    """r1, Delta of GALFIT's truncation function and their derivatives by T4) and T5).

    ``radial``: T4) the radius of 99 % of the profile, T5) the length to the radius of
    1 %, outside (T4 + T5) or inside (T4 - T5); ``radial2``: T5) is that radius itself
    (outer truncations only).  Outside, r1 is the 1 % radius and Delta its distance from
    the 99 % one; inside, r1 is the 99 % radius and Delta the same distance.

    Returns
    -------
    r1, delta : ndarray (m,)
    jac : ndarray (m, 2, 2)
        ``[[dr1/dT4, dr1/dT5], [dDelta/dT4, dDelta/dT5]]``.
    """
    t4, t5 = np.asarray(t4, dtype=np.float64), np.asarray(t5, dtype=np.float64)
    radial2 = np.asarray(radial2, dtype=bool)
    inner = np.asarray(inner, dtype=bool)
    r1 = np.where(inner, t4, np.where(radial2, t5, t4 + t5))
    delta = np.where(radial2 & ~inner, t5 - t4, t5)
    jac = np.empty(t4.shape + (2, 2))
    jac[..., 0, 0] = np.where(inner, 1.0, np.where(radial2, 0.0, 1.0))
    jac[..., 0, 1] = np.where(inner, 0.0, 1.0)
    jac[..., 1, 0] = np.where(radial2 & ~inner, -1.0, 0.0)
    jac[..., 1, 1] = 1.0
    return r1, delta, jac


def truncation(dx, dy, r1, delta, q, pa, inner, derivs=False):
    """GALFIT's truncation factor at offsets ``dx, dy`` (m, k) from the truncation's centre.

    T = 1/2 [1 -+ tanh(z)], z = (2 - B) r / r1 + B, B = TRUNC_B0 - TRUNC_B1 r1 / Delta,
    minus outside (``inner`` False) and plus inside, r the elliptical radius (axis ratio
    ``q``, position angle ``pa`` as for the profiles).  These reproduce GALFIT 3.0.5's
    renders of truncated Sersic profiles to single precision.

    Returns
    -------
    T : ndarray (m, k)
    D : dict, only with ``derivs``
        dT/d of "XC", "YC" (the truncation's centre), "R1", "DELTA", "AR", "PA" (per degree).
    """
    dt = dx.dtype
    col = lambda v: np.asarray(v, dtype=np.float64)[:, None]  # noqa: E731
    r1, delta, q, theta = col(r1), col(delta), col(q), np.radians(col(pa))
    sign = np.where(col(inner) > 0, 1.0, -1.0)
    big_b = TRUNC_B0 - TRUNC_B1 * r1 / delta
    cast = lambda v: np.asarray(v, dtype=dt)  # noqa: E731
    sn, cs = cast(np.sin(theta)), cast(np.cos(theta))
    xp = dy * cs - dx * sn
    yp = dx * cs + dy * sn
    u = yp / cast(q)
    tiny = np.finfo(dt).tiny ** 0.25
    r = np.sqrt(np.maximum(xp * xp + u * u, tiny * tiny))
    z = cast(2.0 - big_b) * (r / cast(r1)) + cast(big_b)
    th = np.tanh(z)
    t = np.float32(0.5) * (1.0 + cast(sign) * th)
    if not derivs:
        return t
    g = cast(0.5 * sign) * (1.0 - th * th)  # dT/dz
    dz_dr = g * cast((2.0 - big_b) / r1)
    rho = r / cast(r1)
    out = {
        "XC": dz_dr * (xp * sn - u * cs / cast(q)) / r,
        "YC": dz_dr * (-xp * cs - u * sn / cast(q)) / r,
        "R1": g * (-cast(2.0 - big_b) * rho / cast(r1) - (1.0 - rho) * cast(TRUNC_B1 / delta)),
        "DELTA": g * (1.0 - rho) * cast(TRUNC_B1 * r1 / delta**2),
        "AR": -dz_dr * u * u / (cast(q) * r),
        "PA": dz_dr * xp * yp * cast((1.0 / q**2 - 1.0) * math.pi / 180.0) / r,
    }
    return t, out


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


def _sb_radial(kind, rho, size, shapes, want):
    """ln g, L = d ln g / d ln rho, d ln g / d shape_k and an extra d ln g / d size.

    ``shapes`` are the (m, 1) columns SHAPE, SHAPE2, SHAPE3 of the family:
    nuker (alpha, beta, gamma) with g = 1 at rho = 1 (mu(Rb));
    king (alpha, Rt) and ferrer (alpha, beta) with g = 1 at the centre (mu(0)).
    Outside the truncation radius of king and ferrer g = 0 and every derivative is 0.
    """
    tiny = np.finfo(rho.dtype).tiny ** 0.25
    if kind == "nuker":
        alpha, beta, gamma = shapes[:3]
        ln_rho = np.log(rho)
        t = np.exp(np.minimum(alpha * ln_rho, _LN_B_MAX))
        lp = np.log1p(t)
        ln2 = math.log(2.0)
        lng = (beta - gamma) / alpha * ln2 - gamma * ln_rho + (gamma - beta) / alpha * lp
        big_l = -gamma + (gamma - beta) * t / (1.0 + t)
        if not want:
            return lng, big_l, {}, None
        d = {
            "SHAPE": -(beta - gamma) * ln2 / alpha**2 - (gamma - beta) / alpha**2 * lp
            + (gamma - beta) / alpha * t * ln_rho / (1.0 + t),
            "SHAPE2": (ln2 - lp) / alpha,
            "SHAPE3": -ln2 / alpha - ln_rho + lp / alpha,
        }
        return lng, big_l, d, None
    if kind == "ferrer":
        alpha, beta = shapes[:2]
        inside = rho < 1.0
        ln_rho = np.log(rho)
        t = np.exp((2.0 - beta) * np.minimum(ln_rho, 0.0))
        w = np.maximum(1.0 - t, tiny)
        lnw = np.log(w)
        lng = np.where(inside, alpha * lnw, -np.inf)
        big_l = np.where(inside, -alpha * (2.0 - beta) * t / w, 0.0)
        if not want:
            return lng, big_l, {}, None
        d = {"SHAPE": np.where(inside, lnw, 0.0), "SHAPE2": np.where(inside, alpha * t * ln_rho / w, 0.0)}
        return lng, big_l, d, None
    if kind == "king":
        alpha, rt = shapes[:2]
        big_t2 = (rt / size) ** 2
        inside = rho * size < rt
        r2 = rho * rho
        a = np.exp(-np.log1p(r2) / alpha)
        b = np.exp(-np.log1p(big_t2) / alpha)
        amb = np.maximum(a - b, tiny)
        lng = np.where(inside, alpha * (np.log(amb) - np.log1p(-b)), -np.inf)
        big_l = np.where(inside, -2.0 * r2 * a / ((1.0 + r2) * amb), 0.0)
        if not want:
            return lng, big_l, {}, None
        # g depends on Rt and Rc also through T = Rt / Rc.
        dlng_dt = b * (-2.0 * np.sqrt(big_t2) / (1.0 + big_t2)) * (1.0 / (1.0 - b) - 1.0 / amb)
        da = np.log(amb) - np.log1p(-b) + (a * np.log1p(r2) - b * np.log1p(big_t2)) / (alpha * amb) + b * np.log1p(big_t2) / (alpha * (1.0 - b))
        d = {"SHAPE": np.where(inside, da, 0.0), "SHAPE2": np.where(inside, dlng_dt / size, 0.0)}
        return lng, big_l, d, np.where(inside, -dlng_dt * rt / size**2, 0.0)
    raise ValueError(kind)


def _edgedisk(dx, dy, sb, hs, rs, pa, derivs):
    """Edge-on disc Sigma0 (|x'|/Rs) K1(|x'|/Rs) sech^2(y'/hs), x' along the PA."""
    dt = dx.dtype
    cast = lambda v: np.asarray(v, dtype=dt)  # noqa: E731
    theta = np.radians(pa)
    sn, cs = cast(np.sin(theta)), cast(np.cos(theta))
    xp = dy * cs - dx * sn
    yp = dx * cs + dy * sn
    tiny = np.finfo(dt).tiny ** 0.25
    a = np.maximum(np.abs(xp) / cast(rs), tiny)
    b = yp / cast(hs)
    ab = np.abs(b)
    # ln(a K1(a)) with the exponentially scaled K1; ln sech^2 b = 2 (ln 2 - |b| - ln(1 + e^-2|b|)).
    ln_k = np.log(a) + np.log(special.k1e(a)) - a
    ln_sech2 = 2.0 * (math.log(2.0) - ab - np.log1p(np.exp(-2.0 * ab)))
    img = np.exp(ln_k + ln_sech2 + cast(np.log(sb)))
    if not derivs:
        return img
    # d ln(a K1(a)) / da = -K0(a) / K1(a); d ln sech^2 b / db = -2 tanh b.
    ga = -special.k0e(a) / special.k1e(a)
    gb = -2.0 * np.tanh(b)
    gx = ga * np.sign(xp) / cast(rs)  # d ln I / d x'
    gy = gb / cast(hs)  # d ln I / d y'
    return img, {
        "XC": img * (gx * sn - gy * cs),
        "YC": img * (-gx * cs - gy * sn),
        "MAG": img * cast(-LN10_04),
        "SIZE": img * (-ga * a / cast(rs)),
        "SHAPE": img * (-gb * b / cast(hs)),
        "PA": img * (gy * xp - gx * yp) * cast(math.pi / 180.0),
    }


#: Azimuth nodes of the flux normalisation of Fourier modes.
_FOURIER_NODES = (np.arange(720) + 0.5) * (2.0 * math.pi / 720)


def fourier_log_norm(modes, amp, phase):
    """ln N and d ln N / d (amplitude, phase in degrees) of Fourier modes, per component.

    The radius r0 (1 + sum a_m cos(m (theta - phi_m))) shrinks the profile by the factor
    in each direction, so the flux of a given central brightness scales by
    N = <(1 + sum ...)^-2> over theta; GALFIT keeps the magnitude the total, i.e. divides
    by N (measured on its renders: F1 = 0.1 gives a total 1/N = (1 - a^2)^1.5 lower).
    """
    t = _FOURIER_NODES[None, None, :]
    m = np.asarray(modes, dtype=np.float64)[None, :, None]
    arg = m * (t - np.radians(phase)[:, :, None])
    f = 1.0 + np.sum(amp[:, :, None] * np.cos(arg), axis=1)  # (m, nodes)
    f = np.maximum(f, 1e-3)
    big_n = np.mean(f**-2.0, axis=1)
    common = -2.0 * f[:, None, :] ** -3.0
    d_amp = np.mean(common * np.cos(arg), axis=2) / big_n[:, None]
    d_phase = np.mean(common * amp[:, :, None] * m * np.sin(arg), axis=2) / big_n[:, None] * (math.pi / 180.0)
    return np.log(big_n), d_amp, d_phase


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


def evaluate(kind, dx, dy, flux, size, shape, q, pa, c0=None, derivs=False, shape2=None, shape3=None, fourier=None):
    """Surface brightness (per pixel area) of ``m`` components at ``k`` points each.

    Parameters
    ----------
    kind : one of PROFILE_KINDS
    dx, dy : ndarray, shape (m, k)
        x - XC and y - YC in pixels (x = column); their dtype is the working precision.
    flux : ndarray, shape (m,)
        Total flux F; for SB_KINDS the surface brightness per pixel Sigma at the
        profile's reference point (centre; Rb for nuker).
    size : ndarray, shape (m,)
        Re (sersic), Rs (expdisk, edgedisk), FWHM (gaussian, moffat), Rb (nuker),
        Rc (king) or Rout (ferrer), in pixels.
    shape : ndarray, shape (m,)
        Sersic index n, Moffat power, alpha (nuker, king, ferrer) or the scale height
        hs (edgedisk); ignored otherwise.
    q, pa : ndarray, shape (m,)
        Axis ratio b/a and position angle in degrees (from +y counter-clockwise).
    c0 : ndarray, shape (m,), optional
        Boxiness; None for plain ellipses (faster).
    derivs : bool
        Also return the derivatives.
    shape2, shape3 : ndarray, shape (m,), optional
        beta and gamma (nuker), Rt (king), beta (ferrer).
    fourier : tuple (modes, amp, phase), optional
        Azimuthal Fourier modes: mode numbers (K,), amplitudes and phases in degrees
        (m, K).  The radius becomes r (1 + sum a_m cos(m (theta - phi_m))) with
        theta = atan2(y'/q, -x') (GALFIT's convention, found on its renders); derivatives
        ``F<m>`` and ``F<m>PA`` are returned.

    Returns
    -------
    I : ndarray, shape (m, k)
    D : dict, only with ``derivs``
        dI/dXC, dI/dYC, dI/dMAG, dI/dSIZE, dI/dSHAPE, dI/dAR, dI/dPA (per degree), dI/dC0,
        each shape (m, k); SHAPE only for profiles with a shape parameter (SHAPE2, SHAPE3
        for the second and third), AR not for edgedisk, C0 only when ``c0`` is given.
    """
    if kind == "edgedisk":
        col = lambda v: np.asarray(v, dtype=np.float64)[:, None]  # noqa: E731
        return _edgedisk(dx, dy, col(flux), col(shape), col(size), col(pa), derivs)
    sb = kind in SB_KINDS
    dt = dx.dtype
    col = lambda v: np.asarray(v, dtype=np.float64)[:, None]  # noqa: E731
    flux, size, shape, q, pa = col(flux), col(size), col(shape), col(q), col(pa)
    s, dlns_dsize, dlns_dn = _scale(kind, size, shape)
    p = None if c0 is None else col(c0) + 2.0
    ln_r, dln_r = (0.0, None) if p is None else _ellipse_log_norm(p)
    const = np.log(flux) if sb else np.log(flux) + ln_r - np.log(q) - 2.0 * np.log(s)
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
    if fourier is not None:
        modes, amp, phase = fourier
        amp, phase = np.asarray(amp, dtype=np.float64), np.asarray(phase, dtype=np.float64)
        theta_f = np.arctan2(u, -xp)
        ff = np.ones_like(r)
        dff = np.zeros_like(r)  # d f / d theta
        cosines = []
        for k, m in enumerate(modes):
            arg = m * (theta_f - cast(np.radians(phase[:, k : k + 1])))
            c, sn_m = np.cos(arg), np.sin(arg)
            cosines.append((c, sn_m))
            ff += cast(amp[:, k : k + 1]) * c
            dff -= cast(amp[:, k : k + 1] * m) * sn_m
        ff = np.maximum(ff, cast(1e-3))
        r = r * ff
        ln_nf, dln_nf_amp, dln_nf_phase = fourier_log_norm(modes, amp, phase)
        const = const - ln_nf[:, None]
    rho = r / sd
    if kind == "sersic":
        rad_par = (shape,) + _sersic_constants(shape[:, 0])
        rad_par = tuple(cast(v if np.ndim(v) == 2 else np.asarray(v)[:, None]) for v in rad_par)
    else:
        rad_par = cast(shape)
    if sb:
        shapes = [cast(col(v if v is not None else np.zeros_like(flux[:, 0]))) for v in (shape[:, 0], shape2, shape3)]
        lnh, big_l, dshape, dsize_extra = _sb_radial(kind, rho, sd, shapes, derivs)
    else:
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
    if fourier is not None:
        # d ln r / d theta = f'/f, with d theta / d x' = u / (x'^2 + u^2), d theta / d u = -x' / (...).
        g_theta = big_l * dff / ff / np.maximum(xp * xp + u * u, tiny * tiny)
        gx = gx + g_theta * u
        gu = gu - g_theta * xp
    # A surface-brightness parameter fixes I at a point: no flux normalisation terms.
    norm = 0.0 if sb else 1.0
    out = {
        "XC": img * (gx * sn - gu * (cs / qd)),
        "YC": img * (-gx * cs - gu * (sn / qd)),
        "MAG": img * cast(-LN10_04),
        "SIZE": img * (-2.0 * norm - big_l) * cast(dlns_dsize),
        "AR": img * (cast(-norm / q) - gu * u / qd),
        "PA": img * (gu * xp / qd - gx * yp) * cast(math.pi / 180.0),
    }
    if kind in ("sersic", "moffat"):
        out["SHAPE"] = img * (dlnh_dn + (-2.0 - big_l) * cast(dlns_dn))
    if sb:
        out.update((key, img * v) for key, v in dshape.items())
        if dsize_extra is not None:
            out["SIZE"] += img * dsize_extra
    if p is not None:
        dlnr_dp = -np.log(big_s) / pd**2 + (special.xlogy(axp, ax) + special.xlogy(aup, au)) / (pd * big_s)
        out["C0"] = img * (cast(norm * dln_r) + big_l * dlnr_dp)
    if fourier is not None:
        deg = cast(math.pi / 180.0)
        for k, m in enumerate(modes):
            c, sn_m = cosines[k]
            out[f"F{m}"] = img * (big_l * c / ff - cast(dln_nf_amp[:, k : k + 1]))
            out[f"F{m}PA"] = img * (big_l * cast(amp[:, k : k + 1] * m) * sn_m / ff * deg - cast(dln_nf_phase[:, k : k + 1]))
    return img, out
