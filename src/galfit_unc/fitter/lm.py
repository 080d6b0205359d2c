"""Levenberg–Marquardt optimiser with GALFIT's stopping rule, and formal errors.

The problem is handed over as a function ``evaluate(u, jacobian)`` returning the
weighted residuals ``r = (data - model) / sigma`` over the fitted pixels (flattened) and,
when asked, the weighted Jacobian of the model ``J[i] = d model / d u[i] / sigma``
(shape ``(len(u), npix)``, any float dtype).  Normal equations are accumulated in
float64; the linear solves run on single-threaded BLAS, which is much faster than
threaded BLAS for matrices of this size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .threads import single_threaded_blas

__all__ = ["LMResult", "levenberg_marquardt", "covariance"]

#: GALFIT's default iteration limit (``-imax``).
DEFAULT_IMAX = 100


@dataclass
class LMResult:
    """Outcome of :func:`levenberg_marquardt`.

    ``hessian`` is JᵀWJ at ``u`` (the inverse of the covariance matrix);
    ``hit_limit`` says the iteration limit stopped the fit before convergence.
    """

    u: np.ndarray
    chi2: float
    iterations: int
    hit_limit: bool
    hessian: np.ndarray


def _normal_equations(r, jac):
    j = np.asarray(jac, dtype=np.float64)
    return j @ j.T, j @ np.asarray(r, dtype=np.float64)


def levenberg_marquardt(
    evaluate,
    u0,
    project=None,
    max_step=None,
    *,
    imax: int = DEFAULT_IMAX,
    rtol: float = 1e-4,
    nconverge: int = 5,
    lam0: float = 1.0,
    lam_min: float = 1e-3,
    min_gain: float = 0.0,
    max_tries: int = 12,
) -> LMResult:
    """Minimise χ² = Σ r² by Levenberg–Marquardt.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(u, jacobian: bool)`` -> ``r`` or ``(r, J)`` (see module docstring).
    u0 : ndarray
        Starting point (already admissible).
    project : callable, optional
        Maps a trial point onto the admissible set (constraints, sanity limits).
    max_step : callable, optional
        ``max_step(u)`` -> largest change allowed per iteration for each entry; longer
        steps are cut entry by entry.  Keeps a degenerate fit from jumping into a
        remote basin (a size collapsing to 0) on its first, barely damped steps.
    imax : int
        Iteration limit (GALFIT's ``-imax``, default 100).
    rtol, nconverge : float, int
        GALFIT's rule: stop once χ² has changed by less than ``rtol`` (relative) in
        ``nconverge`` iterations in a row.
    lam0, lam_min : float
        Initial and smallest damping (relative to the diagonal of JᵀWJ).  The small
        floor lets the fit converge along nearly degenerate valleys (Sérsic index, size
        and magnitude; sky and wings).  A fit that stalls in such a valley, as GALFIT
        often does, stays near its start, and re-fits of injected models then
        under-report the spread the uncertainty workflow is there to measure.
    min_gain : float
        Directions (eigenvectors of the scaled JᵀWJ) along which a full Gauss–Newton
        step would lower χ² by less than this are left out of the step; when none is
        left the fit has converged.  0 keeps every direction.
    max_tries : int
        Damping increases tried within one iteration before giving up on it.

    Notes
    -----
    Marquardt's scaling (damping proportional to the diagonal of JᵀWJ) with Nielsen's
    damping update from the gain ratio, which wastes fewer rejected steps than ×10/÷10.
    The damped system is solved through one eigen-decomposition per iteration, reused
    for every damping tried.

    Returns
    -------
    LMResult
    """
    project = project or (lambda v: v)
    u = np.asarray(u0, dtype=float).copy()
    r, jac = evaluate(u, True)
    chi2 = float(np.dot(r, r))
    if u.size == 0:
        return LMResult(u, chi2, 0, False, np.zeros((0, 0)))
    lam = lam0
    grow = 2.0
    quiet = 0
    it = 0
    with single_threaded_blas():
        a, g = _normal_equations(r, jac)
        while it < imax:
            it += 1
            # Marquardt's scaling: solve in units where JᵀWJ has a unit diagonal.
            d = np.sqrt(np.maximum(np.diag(a), 1e-12 * max(np.max(np.diag(a)), 1e-300)))
            w, v = np.linalg.eigh(a / np.outer(d, d))
            proj = v.T @ (g / d)
            # Move only along directions whose full Gauss–Newton step would lower χ² by
            # more than ``min_gain``: flat valleys stay where the start put them.
            keep = (w > 1e-12 * w.max()) & (proj**2 > min_gain * np.maximum(w, 1e-300))
            if not keep.any():
                quiet = nconverge
                break
            proj = proj[keep]
            improved = False
            for _ in range(max_tries):
                step = (v[:, keep] @ (proj / (w[keep] + lam))) / d
                if np.all(np.isfinite(step)):
                    if max_step is not None:
                        limit = max_step(u)
                        step = np.clip(step, -limit, limit)
                    trial = project(u + step)
                    rt = evaluate(trial, False)
                    chi2_t = float(np.dot(rt, rt))
                    # Gain ratio: actual over predicted decrease (of the projected step).
                    done = trial - u
                    predicted = float(done @ (2 * g - a @ done))
                    if np.isfinite(chi2_t) and chi2_t < chi2:
                        rho = (chi2 - chi2_t) / predicted if predicted > 0 else 1.0
                        lam *= max(1.0 / 3.0, 1.0 - (2.0 * min(rho, 1.0) - 1.0) ** 3)
                        lam = max(lam, lam_min)
                        grow = 2.0
                        improved = True
                        break
                lam *= grow
                grow *= 2.0
            if not improved:
                # No damping finds a lower χ²: the minimum is reached to machine precision.
                quiet = nconverge
                break
            change = (chi2 - chi2_t) / chi2 if chi2 > 0 else 0.0
            u = trial
            chi2 = chi2_t
            r, jac = evaluate(u, True)
            a, g = _normal_equations(r, jac)
            quiet = quiet + 1 if change < rtol else 0
            if quiet >= nconverge:
                break
    return LMResult(u, chi2, it, quiet < nconverge and it >= imax, a)


def covariance(hessian, rcond: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Covariance matrix ``inv(JᵀWJ)`` and the parameters caught in singular directions.

    The matrix is inverted in correlation form (scaled to a unit diagonal) so that
    parameters of very different units do not look degenerate.  Directions with an
    eigenvalue below ``rcond`` times the largest are left out of the inverse; the
    parameters that take part in them (|eigenvector component| > 0.1) are returned
    as ``singular`` — GALFIT marks such values ``*…*`` and sets flag 2.

    Returns
    -------
    cov : ndarray (n, n)
    singular : ndarray of bool (n,)
    """
    h = np.asarray(hessian, dtype=float)
    n = h.shape[0]
    if n == 0:
        return np.zeros((0, 0)), np.zeros(0, bool)
    d = np.sqrt(np.maximum(np.diag(h), 1e-300))
    corr = h / np.outer(d, d)
    with single_threaded_blas():
        w, v = np.linalg.eigh(corr)
    good = w > rcond * max(w.max(), 1e-300)
    inv = (v[:, good] / w[good]) @ v[:, good].T
    singular = np.any(np.abs(v[:, ~good]) > 0.1, axis=1) | (np.diag(h) <= 0)
    return inv / np.outer(d, d), singular
