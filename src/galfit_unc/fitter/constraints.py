"""Parameter constraints of the embedded fitter (GALFIT's G) file) and sanity limits.

The optimiser works on a reduced vector ``u`` of independent free parameters.  Every
model parameter is an affine function of one entry of ``u`` (or a constant):
``theta[k] = a[k] * u[root[k]] + b[k]``.  ``offset`` couplings tie parameters with
``a = 1`` and a constant ``b`` (the initial offset), ``ratio`` couplings with
``b = 0`` and ``a`` the initial ratio.  Ranges (absolute, relative, differences and
ratios between components) and GALFIT's own sanity limits are enforced by projecting
``u`` after every step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..galfit_files import SIZE_KEYS, Component, Constraint, parameter_table

__all__ = ["ConstraintError", "ParameterSpace", "SANITY_LIMITS", "SUSPECT_AXIS_RATIO"]

#: Built-in limits by header key: values outside are meaningless for the profiles.
SANITY_LIMITS = {
    "AR": (0.01, 1.0),
    "RE": (0.02, np.inf),
    "RS": (0.02, np.inf),
    "FWHM": (0.02, np.inf),
    "HS": (0.02, np.inf),
    "RB": (0.02, np.inf),
    "RC": (0.02, np.inf),
    "RT": (0.02, np.inf),
    "ROUT": (0.02, np.inf),
    "N": (0.05, 20.0),
    "POW": (1.01, 50.0),
    # Truncations: break radius, softening length (radial) or radius (radial2).
    "RBRK": (0.02, np.inf),
    "DSFT": (0.02, np.inf),
    "RSFT": (0.02, np.inf),
}
#: Largest change per iteration: absolute by header key, or relative to the value for
#: positive scale parameters (sizes, shapes, axis ratio).
_STEP_ABSOLUTE = {"XC": 2.0, "YC": 2.0, "MAG": 0.5, "MU": 0.5, "MU_0": 0.5, "MUBRK": 0.5, "PA": 45.0}
_STEP_RELATIVE = 0.5
#: GALFIT 3.0.5 marks axis ratios below this as numerically suspect (seen in its outputs).
SUSPECT_AXIS_RATIO = 0.1


class ConstraintError(ValueError):
    """A constraint cannot be applied; the message is one line for the user."""


@dataclass
class _Pair:
    """A difference (``kind='difference'``) or ratio (``'quotient'``) range between two entries."""

    first: int
    second: int
    kind: str
    low: float
    high: float


class ParameterSpace:
    """Free parameters, couplings and ranges of one fit.

    Parameters
    ----------
    components : list of Component
        The fit's components (toggles say which parameters are free).
    names : list of (int, str)
        ``(component index, header key)`` of every entry of ``theta``.
    theta0 : ndarray
        Initial values.
    constraints : list of Constraint
        From :func:`galfit_unc.galfit_files.read_constraints`; a name a component does not
        have raises :class:`~galfit_unc.galfit_files.GalfitFormatError`.
    source : str
        Constraint file name for error messages.

    Attributes
    ----------
    u0 : ndarray
        Initial reduced vector.
    roots : list of int
        The theta entry each entry of ``u`` stands for.
    flags : list of str
        GALFIT flags raised while reading constraints (``C-2``: constraint on a fixed
        parameter, which is then ignored).
    """

    def __init__(self, components: list[Component], names, theta0, constraints: list[Constraint] = (), source="constraints"):
        self.names = list(names)
        self.theta0 = np.asarray(theta0, dtype=float).copy()
        self.flags: list[str] = []
        n = len(self.names)
        index = {name: k for k, name in enumerate(self.names)}
        table = {}
        free = np.zeros(n, bool)
        for ci, comp in enumerate(components):
            for hkey, row, idx in parameter_table(comp):
                k = index.get((ci, hkey))
                if k is not None:
                    table[(ci, row, idx)] = k
                    free[k] = comp.rows[row].free(idx) if row in comp.rows else False
        self._root = np.arange(n)
        self._a = np.ones(n)
        self._b = np.zeros(n)
        self.low = np.full(n, -np.inf)
        self.high = np.full(n, np.inf)
        self._user_low = np.full(n, -np.inf)
        self._user_high = np.full(n, np.inf)
        self._pairs: list[_Pair] = []
        for k, (_, key) in enumerate(self.names):
            self.low[k], self.high[k] = SANITY_LIMITS.get(key, (-np.inf, np.inf))

        def entry(con, comp_number):
            return table[(comp_number - 1, *con.parameter_of(components[comp_number - 1], comp_number))]

        for con in constraints:
            for c in con.components:
                if not 1 <= c <= len(components):
                    raise ConstraintError(
                        f"{source}: line {con.line} components: component {c} does not exist "
                        f"(the fit has {len(components)}); fix the component number"
                    )
            ks = [entry(con, c) for c in con.components]
            if not any(free[k] for k in ks):
                self.flags.append("C-2")
                continue
            if con.kind in ("offset", "ratio"):
                for k in ks[1:]:
                    self._tie(ks[0], k, con, source)
                    free[k] = free[ks[0]] = True
            elif con.kind in ("absolute", "relative"):
                k = ks[0]
                lo, hi = (con.low, con.high) if con.kind == "absolute" else (self.theta0[k] + con.low, self.theta0[k] + con.high)
                self._user_low[k] = max(self._user_low[k], lo)
                self._user_high[k] = min(self._user_high[k], hi)
            else:
                self._pairs.append(_Pair(ks[0], ks[1], con.kind, con.low, con.high))
        self.low = np.maximum(self.low, self._user_low)
        self.high = np.minimum(self.high, self._user_high)
        self.free = free
        # Roots of free groups become the entries of u.
        roots = sorted({int(self._root[k]) for k in range(n) if free[k]})
        self._uindex = {r: i for i, r in enumerate(roots)}
        self.roots = roots
        self.nu = len(roots)
        self.varying = np.array([free[k] and int(self._root[k]) in self._uindex for k in range(n)])
        self.T = np.zeros((n, self.nu))
        for k in np.flatnonzero(self.varying):
            self.T[k, self._uindex[int(self._root[k])]] = self._a[k]
        self.tied = self.varying & (self._root != np.arange(n))
        self._flip = self._flip_groups(components, index)
        root_keys = [self.names[r][1] for r in roots]
        self._step_relative = np.array([key in SANITY_LIMITS for key in root_keys], bool)
        self._step_absolute = np.array([_STEP_ABSOLUTE.get(key, np.inf) for key in root_keys])
        self.u0 = self.project(self.to_u(self.theta0))

    # ----------------------------------------------------------------------------------
    def _tie(self, master: int, k: int, con: Constraint, source: str) -> None:
        """Tie ``theta[k]`` to ``theta[master]`` by their initial offset or ratio."""
        t0 = self.theta0
        if con.kind == "ratio":
            if t0[master] == 0:
                raise ConstraintError(f"{source}: line {con.line} ratio: initial value of component {con.components[0]} is 0; use 'offset' or change the start")
            alpha, beta = t0[k] / t0[master], 0.0
        else:
            alpha, beta = 1.0, t0[k] - t0[master]
        rm, rk = self._root[master], self._root[k]
        if rm == rk:
            return
        # theta[k] = alpha*theta[master] + beta, with both written in their roots:
        # a_k u_rk + b_k = alpha (a_m u_rm + b_m) + beta  ->  u_rk in terms of u_rm.
        am, bm, ak, bk = self._a[master], self._b[master], self._a[k], self._b[k]
        scale, shift = alpha * am / ak, (alpha * bm + beta - bk) / ak
        members = self._root == rk
        self._b[members] = self._a[members] * shift + self._b[members]
        self._a[members] = self._a[members] * scale
        self._root[members] = rm

    def _flip_groups(self, components, index):
        """Components whose q > 1 may be turned into q' = 1/q, size*q, PA+90 (all free, untied)."""
        out = []
        for ci, comp in enumerate(components):
            keys = [index.get((ci, key)) for key in ("AR", "PA")]
            size = next((index[(ci, key)] for key in SIZE_KEYS if (ci, key) in index), None)
            ks = keys + [size]
            if None in ks or not all(self.varying[k] and not self._grouped(k) for k in ks):
                continue
            out.append(tuple(self._uindex[int(self._root[k])] for k in ks))
        return out

    def _grouped(self, k) -> bool:
        return np.count_nonzero(self._root == self._root[k]) > 1

    # ----------------------------------------------------------------------------------
    def theta(self, u) -> np.ndarray:
        """Full parameter vector for the reduced vector ``u``."""
        th = self.theta0.copy()
        if self.nu:
            v = self.varying
            th[v] = self.T[v] @ u + self._b[v]
        return th

    def max_step(self, u) -> np.ndarray:
        """Largest change of each entry of ``u`` per iteration (see :data:`_STEP_ABSOLUTE`)."""
        return np.where(self._step_relative, _STEP_RELATIVE * np.abs(u), self._step_absolute)

    def to_u(self, theta) -> np.ndarray:
        """Reduced vector reproducing ``theta`` at the roots of the free groups."""
        u = np.empty(self.nu)
        for r, i in self._uindex.items():
            u[i] = (theta[r] - self._b[r]) / self._a[r]
        return u

    def _bounds_u(self):
        """Box bounds on ``u`` implied by the bounds of every member of each group."""
        lo = np.full(self.nu, -np.inf)
        hi = np.full(self.nu, np.inf)
        for k in np.flatnonzero(self.varying):
            i = self._uindex[int(self._root[k])]
            a, b = self._a[k], self._b[k]
            bl, bh = (self.low[k] - b) / a, (self.high[k] - b) / a
            if a < 0:
                bl, bh = bh, bl
            lo[i], hi[i] = max(lo[i], bl), min(hi[i], bh)
        return lo, hi

    def project(self, u) -> np.ndarray:
        """Nearest admissible ``u``: q > 1 flipped, pair ranges and box bounds enforced."""
        u = np.array(u, dtype=float)
        for iq, ipa, isize in self._flip:
            if u[iq] > 1.0:
                u[isize] *= u[iq]
                u[iq] = 1.0 / u[iq]
                u[ipa] += 90.0
        lo, hi = self._bounds_u()
        for _ in range(4):
            moved = False
            for p in self._pairs:
                moved |= self._project_pair(u, p)
            u = np.clip(u, lo, hi)
            if not moved:
                break
        return u

    def _set(self, u, k, value) -> None:
        u[self._uindex[int(self._root[k])]] = (value - self._b[k]) / self._a[k]

    def _project_pair(self, u, p: _Pair) -> bool:
        """Move the pair onto its range; both halves move when both are free."""
        fx, fy = self.varying[p.first], self.varying[p.second]
        if not (fx or fy):
            return False
        th = self.theta(u)
        x, y = th[p.first], th[p.second]
        if p.kind == "difference":
            d = x - y
            target = min(max(d, p.low), p.high)
            if d == target:
                return False
            both = (d - target) / 2
            nx, ny = (x - both, y + both) if fx and fy else (y + target, x - target)
        else:
            if y == 0 or x / y <= 0:
                return False
            r = x / y
            target = min(max(r, p.low), p.high)
            if r == target:
                return False
            s = np.sqrt(r / target)
            nx, ny = (x / s, y * s) if fx and fy else (y * target, x / target)
        if fx:
            self._set(u, p.first, nx)
        if fy:
            self._set(u, p.second, ny)
        return True

    # ----------------------------------------------------------------------------------
    def at_bound(self, theta, rtol: float = 1e-6) -> np.ndarray:
        """Entries of ``theta`` sitting on a constraint range or a sanity limit."""

        def near(v, bound):
            return np.isfinite(bound) & (np.abs(v - bound) <= rtol * np.maximum(1.0, np.abs(bound)))

        out = self.varying & (near(theta, self.low) | near(theta, self.high))
        for p in self._pairs:
            x, y = theta[p.first], theta[p.second]
            val = x - y if p.kind == "difference" else (x / y if y != 0 else np.nan)
            if np.isfinite(val) and (near(val, p.low) or near(val, p.high)):
                out[p.first] |= self.varying[p.first]
                out[p.second] |= self.varying[p.second]
        return out

    def suspect(self, theta) -> np.ndarray:
        """Values GALFIT would mark ``*…*``: on a bound, or an axis ratio below 0.1."""
        small_q = np.array([key == "AR" for _, key in self.names]) & (theta < SUSPECT_AXIS_RATIO)
        return self.at_bound(theta) | (small_q & self.varying)
