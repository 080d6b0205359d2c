"""GALFIT's placement of a ``psf`` component at a sub-pixel position (``galfit`` sampling).

Read off GALFIT 3.0.5's renders of psf components (``tests/test_fitter_renders.py``, cases
``psf-point``, ``psf-point-half``, ``psf-smallbox``): around the source, within a disc of
squared radius DISC_R2 pixels², GALFIT's image is the PSF shifted by a Fourier phase (a
sinc interpolation) times a scale; everywhere else it is the PSF moved by cubic convolution
(Keys, a = -0.5) at full flux.  The image ends at the PSF's footprint: pixels
floor(p) - c ... floor(p + 1/2) + N - 1 - c per axis (N the PSF's size, c its centre).

The disc's centre is the source mirrored about the pixel edge nearest to it,
2 round(p) - 1 - p per axis (on the source at an offset of exactly 1/2).  The scale is
1 / (S(dx) S(dy)) with S(d) the sum of the plain sinc samples sinc(j - d) over the whole
numbers j with |j - d| <= SINC_REACH: 0.9729 at offsets of 1/2 in both axes (where both
ends tie and one more sample is counted), 1-1.0006 when neither offset is 1/2; it matches the
renders' scale to 3e-5 at 1/2 and 1.2e-4 elsewhere, and its origin in GALFIT is not known.  All those renders use
one 41 x 41 PSF, so nothing ties the disc or the reach to the PSF's size: they are kept
as found.  The ``exact`` sampling, and both samplings with ``E)`` > 1 (see
:mod:`.finesample`), place the whole PSF by its Fourier phase instead.

Positions here are 0-based pixel coordinates of the region (pixel n covers n - 1/2 ..
n + 1/2); derivatives are with respect to the position, holding the disc and the box.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["place_psf", "DISC_R2", "SINC_REACH"]

#: Squared radius (pixels²) of the disc placed by sinc interpolation.
DISC_R2 = 59.0
#: Reach (pixels) of the sinc samples whose sum sets the disc's scale.
SINC_REACH = 22.5


def _keys(u):
    """Keys' cubic convolution kernel (a = -0.5) at ``u`` and its derivative."""
    a = np.abs(u)
    s = np.sign(u)
    inner = a <= 1.0
    outer = (a > 1.0) & (a < 2.0)
    w = np.where(inner, (1.5 * a - 2.5) * a * a + 1.0, np.where(outer, ((-0.5 * a + 2.5) * a - 4.0) * a + 2.0, 0.0))
    dw = np.where(inner, (4.5 * a - 5.0) * a, np.where(outer, (-1.5 * a + 5.0) * a - 4.0, 0.0)) * s
    return w, dw


def _sinc_sum(d):
    """S(d) and dS/dd: the sum of sinc(j - d) over whole j with |j - d| <= SINC_REACH."""
    j = np.arange(math.floor(d - SINC_REACH), math.ceil(d + SINC_REACH) + 1)
    u = j - d
    u = u[np.abs(u) <= SINC_REACH]
    s = np.sinc(u)
    with np.errstate(divide="ignore", invalid="ignore"):
        ds = np.where(u == 0.0, 0.0, (np.cos(np.pi * u) - s) / u)
    return float(s.sum()), float(-ds.sum())


def _axis(p, n_psf, centre):
    """Per axis: the footprint's first pixel, its length, the Keys weights (taps -1..2)
    with their derivatives, and the fractional offset."""
    base = math.floor(p)
    d = p - base
    w, dw = _keys(np.arange(-1, 3) - d)
    # d/dp of W(j - d) is -W'(j - d).
    first = base - int(centre)
    length = math.floor(p + 0.5) - base + n_psf
    return first, length, w, -dw, d


def _keys_image(psf, wy, wx):
    """The PSF moved by separable 4-tap weights; index (m, k) is footprint pixel (m - 1, k - 1)."""
    moved_y = np.apply_along_axis(np.convolve, 0, psf, wy)
    return np.apply_along_axis(np.convolve, 1, moved_y, wx)


def _fourier_shift(psf, dy, dx, derivs):
    """The PSF shifted by (dy, dx) pixels by its Fourier phase, and (with ``derivs``) the
    derivatives with respect to dy and dx; index (m, k) is footprint pixel (m, k)."""
    ny, nx = psf.shape
    # Padding keeps the shifted light's ringing from wrapping onto the footprint.
    gy, gx = 2 * ny, 2 * nx
    fy = np.fft.fftfreq(gy)[:, None]
    fx = np.fft.rfftfreq(gx)[None, :]
    spec = np.fft.rfft2(psf, s=(gy, gx)) * np.exp(-2j * np.pi * (fy * dy + fx * dx))
    terms = (spec, -2j * np.pi * fy * spec, -2j * np.pi * fx * spec) if derivs else (spec,)
    return [np.fft.irfft2(term, s=(gy, gx))[:ny + 1, :nx + 1] for term in terms]


def place_psf(psf, centre, y, x, shape, derivs=True):
    """GALFIT's image of a unit-flux psf component at ``(y, x)`` on a grid of ``shape``.

    Parameters
    ----------
    psf : ndarray
        The PSF, normalised to a sum of 1.
    centre : (float, float)
        0-based ``(yc, xc)`` of the PSF's centre pixel.
    y, x : float
        The source's position, 0-based pixel coordinates of the grid.
    shape : (int, int)
        The grid's ``(ny, nx)``.
    derivs : bool
        Whether to make the derivative images too.

    Returns
    -------
    image, d_image_dy, d_image_dx : ndarray
        Each of ``shape``; zero outside the footprint; the derivatives None without ``derivs``.
    """
    ny_psf, nx_psf = psf.shape
    fy, ly, wy, dwy, dy = _axis(y, ny_psf, centre[0])
    fx, lx, wx, dwx, dx = _axis(x, nx_psf, centre[1])
    # Keys images: offset by one pixel (the taps reach one pixel back), cut to the footprint.
    cut = (slice(1, 1 + ly), slice(1, 1 + lx))
    weights = ((wy, wx), (dwy, wx), (wy, dwx)) if derivs else ((wy, wx),)
    keys = [_keys_image(psf, a, b)[cut] for a, b in weights]
    shift = [arr[:ly, :lx] for arr in _fourier_shift(psf, dy, dx, derivs)]
    sy, dsy = _sinc_sum(dy)
    sx, dsx = _sinc_sum(dx)
    scale = 1.0 / (sy * sx)
    sinc = [scale * shift[0]]
    if derivs:
        sinc += [scale * (shift[1] - dsy / sy * shift[0]), scale * (shift[2] - dsx / sx * shift[0])]
    py = fy + np.arange(ly)[:, None]
    px = fx + np.arange(lx)[None, :]
    cy = 2.0 * math.floor(y + 0.5) - 1.0 - y
    cx = 2.0 * math.floor(x + 0.5) - 1.0 - x
    disc = (py - cy) ** 2 + (px - cx) ** 2 < DISC_R2
    out = [np.zeros(shape) for _ in keys]
    # The footprint's part inside the grid.
    y0, y1 = max(fy, 0), min(fy + ly, shape[0])
    x0, x1 = max(fx, 0), min(fx + lx, shape[1])
    if y0 < y1 and x0 < x1:
        src = (slice(y0 - fy, y1 - fy), slice(x0 - fx, x1 - fx))
        for o, k, s in zip(out, keys, sinc):
            o[y0:y1, x0:x1] = np.where(disc, s, k)[src]
    return tuple(out) if derivs else (out[0], None, None)
