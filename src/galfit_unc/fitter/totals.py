"""Total flux of the surface-brightness components per unit of their reference brightness.

Kept apart from :mod:`profiles` so that the fitter does not load ``scipy.integrate``; the
workflow's batch and table jobs import this module for every target, so ``scipy.integrate`` is
imported only where a king component needs it.
"""

from __future__ import annotations

import math

from scipy import special

import numpy as np

from .profiles import ellipse_log_r, sersic_kappa, truncation, truncation_radii

__all__ = ["sb_area", "truncated_sersic_area"]

# Polar quadrature of truncated profiles: Gauss-Legendre panels in ln(radius) from
# _LN_SPAN[0] to _LN_SPAN[1] scale radii, midpoints in angle (periodic integrand).
_LN_SPAN = (-12.0, 16.0)
_PANELS, _NODES, _ANGLES = 280, 8, 256


def sb_area(kind, size, shape, shape2=None, shape3=None, q=1.0, c0=0.0):
    """Total flux of a surface-brightness component per unit of its reference brightness.

    The integral over the plane of the radial profile g (1 at the centre, or at Rb for
    nuker; see :mod:`galfit_unc.fitter.profiles`), in square pixels when the lengths are in pixels, derived analytically
    where a closed form exists:

    - edgedisk: ``2 pi Rs hs`` (``int |u| K1(|u|) du = pi``, ``int sech^2 = 2``; no q, no C0);
    - nuker: ``2 pi q Rb^2 2^((beta-gamma)/alpha) B((2-gamma)/alpha, (beta-2)/alpha) / alpha``,
      infinite (``inf``) unless gamma < 2 < beta;
    - ferrer: ``2 pi q Rout^2 B(2/(2-beta), alpha+1) / (2-beta)``;
    - king: ``2 pi q`` times the radial integral out to Rt, by Gauss-Kronrod quadrature.

    A boxiness C0 divides by R(C0) (the area of the generalised ellipse relative to the
    ellipse); Fourier modes leave the total unchanged (they are renormalised, see
    :func:`galfit_unc.fitter.profiles.fourier_log_norm`).
    """
    if kind == "edgedisk":
        return 2.0 * math.pi * size * shape
    two_pi_q = 2.0 * math.pi * q / math.exp(float(ellipse_log_r(c0)))
    if kind == "nuker":
        alpha, beta, gamma = shape, shape2, shape3
        if not gamma < 2.0 < beta:
            return math.inf
        ln_b = special.betaln((2.0 - gamma) / alpha, (beta - 2.0) / alpha)
        return two_pi_q * size**2 * math.exp((beta - gamma) / alpha * math.log(2.0) + ln_b) / alpha
    if kind == "ferrer":
        alpha, beta = shape, shape2
        return two_pi_q * size**2 * math.exp(special.betaln(2.0 / (2.0 - beta), alpha + 1.0)) / (2.0 - beta)
    if kind == "king":
        from scipy import integrate

        alpha, rt = shape, shape2
        b = (1.0 + (rt / size) ** 2) ** (-1.0 / alpha)

        def g(r):
            return r * ((1.0 + (r / size) ** 2) ** (-1.0 / alpha) - b) ** alpha / (1.0 - b) ** alpha

        return two_pi_q * integrate.quad(g, 0.0, rt, epsabs=0.0, epsrel=1e-10, limit=200)[0]
    raise ValueError(f"sb_area: {kind!r} is not a surface-brightness profile")


def truncated_sersic_area(re, n, q, pa, c0, trunc, inner):
    """Total flux of a truncated Sersic per unit of its row-3 surface brightness, in pixels^2.

    The brightness is the centre's (outer truncation, ``sersic1``) or the untruncated
    profile's at the break radius T4) (inner, ``sersic3``); the profile is multiplied by
    the truncation (see :func:`galfit_unc.fitter.profiles.truncation`), whose centre,
    axis ratio and PA may differ from the component's.  Integrated numerically in polar
    coordinates about the component's centre.

    Parameters
    ----------
    re, n, q, pa, c0 : float
        The Sersic's Re (pixels), index, axis ratio, PA (degrees) and boxiness.
    trunc : dict
        ``dx, dy`` (truncation centre minus the component's, pixels), ``t4``, ``t5``,
        ``q``, ``pa`` and ``radial2`` (bool).
    inner : bool
        Inner (``Ti)``) rather than outer (``To)``) truncation.
    """
    kappa = float(sersic_kappa(n))
    u = np.linspace(*_LN_SPAN, _PANELS + 1)
    node, weight = np.polynomial.legendre.leggauss(_NODES)
    half = np.diff(u)[:, None] / 2
    ln_rho = ((u[:-1, None] + u[1:, None]) / 2 + half * node).ravel()
    w_rho = (half * weight).ravel()
    rho = re * np.exp(ln_rho)
    phi = (np.arange(_ANGLES) + 0.5) * (2 * math.pi / _ANGLES)
    # Points in the component's frame (x' along the major axis, y'/q = rho sin phi).
    xp = rho[:, None] * np.cos(phi)[None, :]
    yp = q * rho[:, None] * np.sin(phi)[None, :]
    p = c0 + 2.0
    r = (np.abs(xp) ** p + np.abs(yp / q) ** p) ** (1.0 / p)
    ref = trunc["t4"] if inner else 0.0
    g = np.exp(-kappa * ((r / re) ** (1.0 / n) - (ref / re) ** (1.0 / n)))
    t = math.radians(pa)
    dx = trunc["dx"] + (yp * math.cos(t) - xp * math.sin(t))
    dy = trunc["dy"] + (xp * math.cos(t) + yp * math.sin(t))
    r1, delta, _ = truncation_radii(np.array([trunc["t4"]]), np.array([trunc["t5"]]), np.array([trunc["radial2"]]), np.array([inner]))
    factor = truncation(dx.reshape(1, -1), dy.reshape(1, -1), r1, delta, [trunc["q"]], [trunc["pa"]], [inner]).reshape(r.shape)
    # d area = q rho d rho d phi, and d rho = rho d ln rho.
    return float(q * np.sum(w_rho[:, None] * rho[:, None] ** 2 * g * factor) * (2 * math.pi / _ANGLES))
