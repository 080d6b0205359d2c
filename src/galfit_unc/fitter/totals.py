"""Total flux of the surface-brightness components per unit of their reference brightness.

Kept apart from :mod:`profiles` so that the fitter does not load ``scipy.integrate``.
"""

from __future__ import annotations

import math

from scipy import integrate, special

from .profiles import ellipse_log_r

__all__ = ["sb_area"]


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
        alpha, rt = shape, shape2
        b = (1.0 + (rt / size) ** 2) ** (-1.0 / alpha)

        def g(r):
            return r * ((1.0 + (r / size) ** 2) ** (-1.0 / alpha) - b) ** alpha / (1.0 - b) ** alpha

        return two_pi_q * integrate.quad(g, 0.0, rt, epsabs=0.0, epsrel=1e-10, limit=200)[0]
    raise ValueError(f"sb_area: {kind!r} is not a surface-brightness profile")
