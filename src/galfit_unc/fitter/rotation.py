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
- the deprojected offsets are turned by theta(r) + R10 and the component is evaluated there,
  without projecting back: a positive angle turns the component counter-clockwise on the
  sky (towards larger PA), and without rotation (R3 = 0, R9 = 0) it appears turned by R10,
  i.e. its PA counts from the disc's axes;
- its light is spread over an area cos(R9) times smaller than the disc's, so its surface
  brightness is divided by cos(R9) to keep the total.

:func:`rotate_with_derivatives` differentiates the map from sky offsets to the component's
offsets analytically (by the offsets and by each parameter); the renderer chains that with
the profile's own analytic gradient.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ROTATION_C", "ROTATION_FIELDS", "rotation_angle", "rotate", "rotate_with_derivatives"]

#: The constant c of the ramp's width (see the module's description).
ROTATION_C = 0.46
#: Group fields of the rotation parameters: R1), R2), R3), R4), R9), R10).
ROTATION_FIELDS = ("ROT_RIN", "ROT_ROUT", "ROT_RANG", "ROT_R4", "ROT_INCL", "ROT_SPA")
_DEG = np.pi / 180.0


def _angle_and_derivatives(r, rin, rout, rang, r4, log):
    """theta(r) in degrees and its derivatives by r and by R1), R2), R3), R4)."""
    r, rin, rout, rang, r4 = (np.asarray(v, dtype=np.float64) for v in (r, rin, rout, rang, r4))
    rang_rad = np.radians(rang)
    den = np.abs(rang_rad) + ROTATION_C
    a = 2.0 * ROTATION_C / den - 1.00001
    k = 2.0 - np.arctanh(a)
    span = rout - rin
    b = k * rout / span
    x = r / rout - 1.0
    th = np.tanh(b * x + 2.0)
    ramp = 0.5 * (th + 1.0)
    dramp = 0.5 * (1.0 - th * th)  # d ramp / d(b x + 2)
    # b's derivatives by R1), R2), R3).
    db_rin = k * rout / span**2
    db_rout = -k * rin / span**2
    db_rang = (2.0 * ROTATION_C / den**2) * np.sign(rang) * _DEG / (1.0 - a * a) * rout / span
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_n, ln_d = np.log(r / r4 + 1.0), np.log(rout / r4 + 1.0)
        g_log = ln_n / ln_d
        dg_log = (1.0 / ((r + r4) * ln_d), -g_log / (ln_d * (rout + r4)),
                  (-r / (r4 * (r + r4)) * ln_d + ln_n * rout / (r4 * (rout + r4))) / ln_d**2)
    alpha = np.where(log, 1.0, r4)
    base = 0.5 * (r / rout + 1.0)
    g_pow = base**alpha
    dg_pow = (alpha * g_pow / (r + rout), alpha * g_pow * (1.0 / (r + rout) - 1.0 / rout), g_pow * np.log(base))
    g = np.where(log, g_log, g_pow)
    dg_r, dg_rout, dg_r4 = (np.where(log, gl, gp) for gl, gp in zip(dg_log, dg_pow))
    theta = rang * ramp * g
    deriv = {
        "r": rang * (dramp * b / rout * g + ramp * dg_r),
        "ROT_RIN": rang * dramp * x * db_rin * g,
        "ROT_ROUT": rang * (dramp * (x * db_rout - b * r / rout**2) * g + ramp * dg_rout),
        "ROT_RANG": ramp * g + rang * dramp * x * db_rang * g,
        "ROT_R4": rang * ramp * dg_r4,
    }
    return theta, deriv


def rotation_angle(r, rin, rout, rang, r4, log):
    """theta(r) in degrees (see the module's description); arrays broadcast."""
    return _angle_and_derivatives(r, rin, rout, rang, r4, log)[0]


def _geometry(dx, dy, par, log):
    p = {f: np.asarray(v, dtype=np.float64)[:, None] for f, v in par.items()}
    log = np.asarray(log, dtype=bool)[:, None]
    cos_i = np.cos(np.radians(p["ROT_INCL"]))
    psi = np.radians(p["ROT_SPA"] + 90.0)
    c, s = np.cos(psi), np.sin(psi)
    u = dy * c - dx * s  # across R10
    w = (dx * c + dy * s) / cos_i  # along R10, deprojected
    r = np.hypot(u, w)
    theta, dtheta = _angle_and_derivatives(r, p["ROT_RIN"], p["ROT_ROUT"], p["ROT_RANG"], p["ROT_R4"], log)
    t = np.radians(theta + p["ROT_SPA"])
    ct, st = np.cos(t), np.sin(t)
    u2 = u * ct - w * st
    w2 = u * st + w * ct
    return p, cos_i, c, s, u, w, r, dtheta, ct, st, u2, w2


def rotate(dx, dy, par, log):
    """The component's offsets at sky offsets ``dx, dy`` (m, k), and the SB factor (m, 1).

    ``par``: field -> (m,) values of :data:`ROTATION_FIELDS`; ``log``: (m,) bool, the log
    form instead of the power law.  Arrays are float64.
    """
    _, cos_i, c, s, *_, u2, w2 = _geometry(dx, dy, par, log)
    return w2 * c - u2 * s, u2 * c + w2 * s, 1.0 / cos_i


def rotate_with_derivatives(dx, dy, par, log):
    """:func:`rotate` plus the derivatives of the offsets by ``dx``, ``dy`` and each field.

    Returns ``(ndx, ndy, scale, deriv)`` with ``deriv[name] = (d ndx, d ndy)`` for ``"dx"``,
    ``"dy"`` and every field (angles per degree).
    """
    dx = np.asarray(dx, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    p, cos_i, c, s, u, w, r, dtheta, ct, st, u2, w2 = _geometry(dx, dy, par, log)
    safe_r = np.where(r > 0, r, 1.0)
    dt_dr = np.where(r > 0, dtheta["r"] * _DEG, 0.0)

    def through(du, dw, dt):
        """(d ndx, d ndy) of changes of u, w (in the fixed frame) and of the angle t."""
        du2 = ct * du - st * dw - w2 * dt
        dw2 = st * du + ct * dw + u2 * dt
        return c * dw2 - s * du2, c * du2 + s * dw2

    def offsets(du, dw, extra_dt=0.0):
        dr = (u * du + w * dw) / safe_r
        return through(du, dw, dt_dr * dr + extra_dt)

    deriv = {"dx": offsets(-s, c / cos_i), "dy": offsets(c, s / cos_i)}
    for name in ("ROT_RIN", "ROT_ROUT", "ROT_RANG", "ROT_R4"):
        deriv[name] = through(0.0, 0.0, dtheta[name] * _DEG)
    deriv["ROT_INCL"] = offsets(0.0, w * np.tan(np.radians(p["ROT_INCL"])) * _DEG)
    # R10) turns the frame (c, s), moves u and w in it, and adds to the angle.
    fx, fy = offsets(-w * cos_i * _DEG, u / cos_i * _DEG, _DEG)
    deriv["ROT_SPA"] = (fx - (w2 * s + u2 * c) * _DEG, fy + (w2 * c - u2 * s) * _DEG)
    return w2 * c - u2 * s, u2 * c + w2 * s, 1.0 / cos_i, deriv
