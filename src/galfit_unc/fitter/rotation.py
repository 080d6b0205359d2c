"""GALFIT's coordinate rotation (rows ``R0)``-``R4)``, ``R9)``, ``R10)``): spiral models.

Peng, Ho, Impey & Rix (2010, AJ 139, 2097) define the rotation angle of a component's
coordinates as a function of radius: a hyperbolic-tangent ramp between the inner radius
``r_in`` (R1) and the outer radius ``r_out`` (R2), scaled to the cumulative rotation
``theta_out`` (R3) at ``r_out`` and continued beyond it by a power law (``R0) power``,
R4 = alpha) or a logarithm (``R0) log``, R4 = the winding scale radius r_ws)::

    theta(r) = theta_out * T(r) * g(r)
    T(r)     = (tanh(B (r / r_out - 1) + 2) + 1) / 2
    B        = (2 - atanh(a)) r_out / (r_out - r_in),   a = 2 c / (|theta_out| + c) - 1.00001
    g(r)     = ((r / r_out + 1) / 2)^alpha                   (power)
    g(r)     = ln(r / r_ws + 1) / ln(r_out / r_ws + 1)        (log)

with ``theta_out`` in radians in ``a`` (the 1e-5 keeps ``a < 1``, so no rotation is finite).  The rotation lives in a disc inclined by R9 to the
line of sight.  What GALFIT 3.0.5 does with these, found on its renders of a powerlaw and
a log spiral (``mod-rotation-*`` of the galfit305-renders set, matched to 0.005 % rms):

- the constant is c = ROTATION_C = 0.46;
- the radius r is measured in the disc plane: the sky offset along the position angle R10
  is divided by cos(R9), the offset across it is kept;
- the deprojected offsets are rotated by theta(r) + R10 (counter-clockwise on the sky for
  a positive angle, as GALFIT's PA), and the component is evaluated at the result in the
  sky's orientation, without projecting back; so its light is spread over an area
  cos(R9) times smaller and its surface brightness is divided by cos(R9) to keep the total.

The map from sky offsets to the component's offsets is differentiated by central finite
differences (:func:`rotate_with_derivatives`): it is cheap next to the profile, whose own
analytic gradient carries the chain rule.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ROTATION_C", "ROTATION_FIELDS", "FD_STEPS", "rotation_angle", "rotate", "rotate_with_derivatives"]

#: The constant c of the ramp's width (see the module's description).
ROTATION_C = 0.46
#: Group fields of the rotation parameters: R1), R2), R3), R4), R9), R10).
ROTATION_FIELDS = ("ROT_RIN", "ROT_ROUT", "ROT_RANG", "ROT_R4", "ROT_INCL", "ROT_SPA")
#: Central-difference steps: offsets in pixels, then each field (absolute, in its unit,
#: scaled by max(1, |value|) for the radii).
FD_STEPS = {"dx": 1e-3, "dy": 1e-3, "ROT_RIN": 1e-4, "ROT_ROUT": 1e-4, "ROT_RANG": 1e-3, "ROT_R4": 1e-4,
            "ROT_INCL": 1e-3, "ROT_SPA": 1e-3}
_RELATIVE = ("ROT_RIN", "ROT_ROUT", "ROT_R4")


def rotation_angle(r, rin, rout, rang, r4, log):
    """theta(r) in degrees (see the module's description); arrays broadcast."""
    a = 2.0 * ROTATION_C / (np.abs(np.radians(rang)) + ROTATION_C) - 1.00001
    b = (2.0 - np.arctanh(a)) * rout / (rout - rin)
    ramp = 0.5 * (np.tanh(b * (r / rout - 1.0) + 2.0) + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        g_log = np.log(r / r4 + 1.0) / np.log(rout / r4 + 1.0)
    g = np.where(log, g_log, (0.5 * (r / rout + 1.0)) ** np.where(log, 1.0, r4))
    return rang * ramp * g


def rotate(dx, dy, par, log):
    """The component's offsets at sky offsets ``dx, dy`` (m, k), and the SB factor (m, 1).

    ``par``: field -> (m,) values of :data:`ROTATION_FIELDS`; ``log``: (m,) bool, the log
    form instead of the power law.  Arrays are float64.
    """
    p = {f: np.asarray(v, dtype=np.float64)[:, None] for f, v in par.items()}
    log = np.asarray(log, dtype=bool)[:, None]
    cos_i = np.cos(np.radians(p["ROT_INCL"]))
    psi = np.radians(p["ROT_SPA"] + 90.0)
    c, s = np.cos(psi), np.sin(psi)
    u = dy * c - dx * s  # across R10
    w = (dx * c + dy * s) / cos_i  # along R10, deprojected
    t = np.radians(rotation_angle(np.hypot(u, w), p["ROT_RIN"], p["ROT_ROUT"], p["ROT_RANG"], p["ROT_R4"], log) + p["ROT_SPA"])
    ct, st = np.cos(t), np.sin(t)
    u2 = u * ct - w * st
    w2 = u * st + w * ct
    return w2 * c - u2 * s, u2 * c + w2 * s, 1.0 / cos_i


def rotate_with_derivatives(dx, dy, par, log):
    """:func:`rotate` plus the derivatives of the offsets by ``dx``, ``dy`` and each field.

    Returns ``(ndx, ndy, scale, deriv)`` with ``deriv[name] = (d ndx, d ndy)`` for ``"dx"``,
    ``"dy"`` and every field (central differences, steps :data:`FD_STEPS`).
    """
    dx = np.asarray(dx, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    par = {f: np.asarray(v, dtype=np.float64) for f, v in par.items()}
    ndx, ndy, scale = rotate(dx, dy, par, log)
    deriv = {}
    for name, step in FD_STEPS.items():
        if name in ("dx", "dy"):
            plus = rotate(dx + step, dy, par, log) if name == "dx" else rotate(dx, dy + step, par, log)
            minus = rotate(dx - step, dy, par, log) if name == "dx" else rotate(dx, dy - step, par, log)
            h = step
        else:
            h = step * np.maximum(1.0, np.abs(par[name])) if name in _RELATIVE else np.full_like(par[name], step)
            plus = rotate(dx, dy, {**par, name: par[name] + h}, log)
            minus = rotate(dx, dy, {**par, name: par[name] - h}, log)
            h = h[:, None]
        deriv[name] = ((plus[0] - minus[0]) / (2 * h), (plus[1] - minus[1]) / (2 * h))
    return ndx, ndy, scale, deriv
