"""Search a frame for nearly blank sky windows of the size of the fitted region.

The frame is turned into a source mask (:func:`detect_sources`: a detection on the frame
smoothed with the PSF, kept when it covers ``min_area`` pixels and grown by about one PSF
FWHM, plus non-finite and user-flagged pixels).  A summed-area table gives the number of
masked pixels in every window position at once.  The sky noise is measured by a local RMS
map of the masked frame (:func:`noise_map`), around the target and in every window
position.  Candidates are the windows with few masked pixels, clear of the fitted region,
and (optionally) with a noise within ``noise_tolerance`` of the target's.  They are taken
greedily, either fewest masked pixels first or in farthest-point order (each new window is
the candidate farthest from the target and from every window already taken), as long as
each new window shares at most ``max_overlap`` of its area with every window already taken.

Windows are GALFIT regions: 1-based, inclusive, ``x`` = column (see the package docstring).
"""

from __future__ import annotations

import csv
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
from scipy import ndimage

from .galfit_files import GalfitFormatError

__all__ = [
    "Window",
    "window_seed",
    "clipped_stats",
    "psf_fwhm",
    "detect_sources",
    "source_mask",
    "noise_map",
    "window_sigma",
    "region_sigma",
    "window_counts",
    "overlap_fraction",
    "select_windows",
    "write_windows_tsv",
    "read_windows_tsv",
    "BATCH_FORMAT",
    "batches",
    "NotEnoughWindows",
    "check_enough",
]

#: Batch ids: ``b000``, ``b001``, ... in the order of the windows table.
BATCH_FORMAT = "b{:03d}"
TSV_COLUMNS = ("window", "x1", "x2", "y1", "y2", "masked_frac", "sky_sigma")


@dataclass(frozen=True)
class Window:
    """A sky window in the frame, GALFIT 1-based inclusive pixel bounds.

    Attributes
    ----------
    x1, x2, y1, y2 : int
        Column and row bounds, inclusive.
    masked_frac : float
        Fraction of the window's pixels covered by the source mask.
    sky_sigma : float
        Local sky noise of the window (:func:`window_sigma`); NaN when not measured.
    """

    x1: int
    x2: int
    y1: int
    y2: int
    masked_frac: float
    sky_sigma: float = float("nan")

    @property
    def name(self) -> str:
        """Identifier derived from the position, e.g. ``x0012_y0300``."""
        return f"x{self.x1:04d}_y{self.y1:04d}"

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """``(x1, x2, y1, y2)`` as GALFIT's H) line and FITSECT order them."""
        return self.x1, self.x2, self.y1, self.y2


def window_seed(seed: int, name: str) -> int:
    """Random seed for one window, reproducible from the run seed and the window id.

    Parameters
    ----------
    seed : int
        Run seed, non-negative.
    name : str
        Window id, e.g. ``x0012_y0300``.

    Returns
    -------
    int
        A 64-bit seed; different windows get independent streams.
    """
    if seed < 0:
        raise ValueError(f"seed: {seed} is negative; give a non-negative integer seed")
    state = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(2, np.uint32)
    return int(state[0]) << 32 | int(state[1])


def clipped_stats(values, clip_sigma, clip_iters) -> tuple[float, float]:
    """Sigma-clipped ``(median, std)`` of the finite ``values``.

    The clipping of :func:`astropy.stats.sigma_clipped_stats` with ``sigma=clip_sigma`` and
    ``maxiters=clip_iters``, with the same numpy reductions (its ``nanmedian`` and ``nanstd``
    are ``median`` and ``std`` on finite values), so the figures are the same to the bit:
    values beyond ``clip_sigma`` standard deviations (ddof 0) of the median are dropped until
    none is or ``clip_iters`` rounds have run.  Done here rather than by astropy, whose
    per-call overhead would be most of the noise map's time on large frames (one call per box).

    Parameters
    ----------
    values : ndarray
    clip_sigma, clip_iters : float, int
        Clipping threshold in standard deviations and the largest number of rounds.
    """
    data = np.asanyarray(values).ravel()
    data = data[np.isfinite(data)]
    if data.size == 0:
        return math.nan, math.nan
    for _ in range(clip_iters):
        centre, std = np.median(data), np.std(data)
        kept = data[(data >= centre - std * clip_sigma) & (data <= centre + std * clip_sigma)]
        done = kept.size == data.size
        data = kept
        if done:
            break
    return float(np.median(data)), float(np.std(data))


def psf_fwhm(psf) -> float:
    """FWHM of a PSF image in pixels: the diameter of the disc whose area is the number of
    pixels at or above half the peak (exact for a circular PSF, whatever its profile).

    Raises
    ------
    ValueError
        The PSF has no positive pixel.
    """
    psf = np.nan_to_num(np.asarray(psf, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    peak = psf.max()
    if not peak > 0:
        raise ValueError("PSF: no positive pixel; give the PSF image of the fitted frame")
    return float(2.0 * np.sqrt(np.count_nonzero(psf >= peak / 2) / np.pi))


def _convolve_same(image, kernel):
    """``scipy.signal.fftconvolve(image, kernel, mode="same")``, computed the same way with
    ``scipy.fft``: importing ``scipy.signal`` costs every process that plans or cleans
    windows about a CPU-second."""
    full = [a + b - 1 for a, b in zip(image.shape, kernel.shape)]
    fast = [scipy.fft.next_fast_len(n, True) for n in full]
    conv = scipy.fft.irfftn(scipy.fft.rfftn(image, fast) * scipy.fft.rfftn(kernel, fast), fast)
    y0, x0 = ((f - n) // 2 for f, n in zip(full, image.shape))
    ny, nx = image.shape
    return conv[y0 : y0 + ny, x0 : x0 + nx]


def detect_sources(image, *, psf=None, nsigma=3.0, min_area=1, grow=0.0, clip_sigma=3.0, clip_iters=5) -> tuple[np.ndarray, tuple[float, float]]:
    """Pixels of sources: the one detection used for the frame mask and for window cleaning.

    The image is smoothed with the PSF (the matched filter of a point source; non-finite
    pixels count as the clipped median), pixels of the smoothed image above its clipped
    median plus ``nsigma`` clipped standard deviations are detections, detections of fewer
    than ``min_area`` 8-connected pixels are dropped (noise peaks), and the rest is grown by
    a disc of radius ``grow`` pixels to take in the sources' wings.  Non-finite pixels are
    masked too.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    psf : ndarray, optional
        PSF image (any normalisation); None = detect on the image itself.
    nsigma : float
        Detection threshold in clipped standard deviations of the (smoothed) image.
    min_area : int
        Smallest detection kept, in pixels.
    grow : float
        Radius (pixels) of the disc by which detections are grown; 0 = no growth.
    clip_sigma, clip_iters : float, int
        Clipping of the statistics, as in :func:`clipped_stats`.

    Returns
    -------
    mask : ndarray of bool, shape (H, W)
        True = source or non-finite.
    stats : tuple of float
        Clipped ``(median, std)`` of the detection image (smoothed when ``psf`` is given).
    """
    image = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(image)
    det = image
    if psf is not None:
        kernel = np.nan_to_num(np.asarray(psf, dtype=np.float64))
        if not kernel.sum() > 0:
            raise ValueError("PSF: its pixels do not sum to a positive value; give the PSF image of the fitted frame")
        median, _ = clipped_stats(image, clip_sigma, clip_iters)
        # Correlating with the PSF (convolving with it flipped) is the point-source matched filter.
        det = _convolve_same(np.where(finite, image - median, 0.0), kernel[::-1, ::-1] / kernel.sum())
    median, std = clipped_stats(np.where(finite, det, np.nan), clip_sigma, clip_iters)
    with np.errstate(invalid="ignore"):
        hits = finite & (det > median + nsigma * std)
    if min_area > 1:
        labels, _ = ndimage.label(hits, structure=np.ones((3, 3), dtype=bool))
        keep = np.bincount(labels.ravel()) >= min_area
        keep[0] = False
        hits = keep[labels]
    if grow > 0:
        r = int(np.floor(grow))
        dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
        hits = ndimage.binary_dilation(hits, structure=dy**2 + dx**2 <= grow**2)
    return hits | ~finite, (median, std)


def source_mask(image, nsigma=3.0, clip_sigma=3.0, clip_iters=5, bad=None, *, psf=None, min_area=1, grow=0.0) -> np.ndarray:
    """Mask of pixels that are not blank sky.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    nsigma : float
        Detection threshold of :func:`detect_sources`.
    clip_sigma, clip_iters : float, int
        Clipping threshold and iteration limit (see :func:`clipped_stats`).
    bad : ndarray of bool, shape (H, W), optional
        User's bad-pixel mask (True = bad), OR-ed in.
    psf, min_area, grow
        Smoothing, smallest detection and growth radius of :func:`detect_sources`; the
        defaults mask single pixels above the threshold of the unsmoothed image.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True = masked (source, non-finite or bad).
    """
    image = np.asarray(image, dtype=np.float64)
    mask, _ = detect_sources(image, psf=psf, nsigma=nsigma, min_area=min_area, grow=grow, clip_sigma=clip_sigma, clip_iters=clip_iters)
    if bad is not None:
        bad = np.asarray(bad, dtype=bool)
        if bad.shape != image.shape:
            raise ValueError(f"bad-pixel mask: shape {bad.shape} differs from the frame {image.shape}; give a mask of the frame")
        mask |= bad
    return mask


def noise_map(image, mask, box=32, clip_sigma=3.0, clip_iters=5, min_sky=0.5) -> np.ndarray:
    """Local sky noise: the clipped standard deviation of the unmasked pixels of each box.

    The frame is cut into ``box`` x ``box`` boxes from pixel (1, 1) (the last row and
    column of boxes may be smaller).  A box with fewer than ``min_sky`` of its pixels
    unmasked takes the value of the nearest measured box (ties: the lower box index), so
    a large galaxy does not leave a hole.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    mask : ndarray of bool, shape (H, W)
        True = not sky (:func:`source_mask`).
    box : int
        Box side in pixels.
    clip_sigma, clip_iters : float, int
        Clipping of each box's statistics (:func:`clipped_stats`).
    min_sky : float
        Smallest unmasked fraction of a measured box.

    Returns
    -------
    ndarray of float64, shape (H, W)
        Each pixel holds the noise of its box; all NaN when no box has enough unmasked pixels.
    """
    image = np.asarray(image, dtype=np.float64)
    sky = ~np.asarray(mask, dtype=bool) & np.isfinite(image)
    h, w = image.shape
    nby, nbx = -(-h // box), -(-w // box)
    rms = np.full((nby, nbx), np.nan)
    for i in range(nby):
        for j in range(nbx):
            block = np.s_[i * box : (i + 1) * box, j * box : (j + 1) * box]
            values = image[block][sky[block]]
            if values.size >= max(min_sky * sky[block].size, 2):
                rms[i, j] = clipped_stats(values, clip_sigma, clip_iters)[1]
    if np.isnan(rms).all():
        return np.full((h, w), np.nan)  # nothing is sky: no window can match a noise
    nearest = ndimage.distance_transform_edt(np.isnan(rms), return_distances=False, return_indices=True)
    rms = rms[tuple(nearest)]
    return np.repeat(np.repeat(rms, box, axis=0), box, axis=1)[:h, :w]


def window_sigma(noise, ny, nx) -> np.ndarray:
    """Noise of every ``ny`` x ``nx`` window: the root mean square of ``noise`` over it.

    Returns
    -------
    ndarray of float64, shape (H - ny + 1, W - nx + 1)
        Indexed like :func:`window_counts`.
    """
    var = np.asarray(noise, dtype=np.float64) ** 2
    h, w = var.shape
    if not (1 <= ny <= h and 1 <= nx <= w):
        raise ValueError(f"window size {ny}x{nx} (rows x columns) does not fit in the frame {h}x{w}; use a smaller fitting region")
    # In place where the values stay the same: each temporary is a whole frame.
    sat = np.zeros((h + 1, w + 1))
    np.cumsum(np.cumsum(var, axis=0, out=var), axis=1, out=sat[1:, 1:])
    del var
    total = sat[ny:, nx:] - sat[:-ny, nx:]
    total -= sat[ny:, :-nx]
    total += sat[:-ny, :-nx]
    del sat
    np.maximum(total, 0.0, out=total)
    total /= ny * nx
    return np.sqrt(total, out=total)


def region_sigma(noise, region, margin=(0, 0)) -> float:
    """Root mean square of ``noise`` over a GALFIT region ``(x1, x2, y1, y2)`` grown by
    ``margin`` = ``(margin_y, margin_x)`` pixels and clipped to the frame."""
    noise = np.asarray(noise, dtype=np.float64)
    x1, x2, y1, y2 = region
    my, mx = margin
    cut = noise[max(y1 - 1 - my, 0) : y2 + my, max(x1 - 1 - mx, 0) : x2 + mx]
    return float(np.sqrt(np.mean(cut**2)))


def window_counts(mask, ny, nx) -> np.ndarray:
    """Masked pixels in every ``ny`` x ``nx`` window of ``mask``.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
    ny, nx : int
        Window size in rows and columns.

    Returns
    -------
    ndarray of int64, shape (H - ny + 1, W - nx + 1)
        ``counts[y0, x0]`` = masked pixels in ``mask[y0:y0 + ny, x0:x0 + nx]`` (0-based).
    """
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    if not (1 <= ny <= h and 1 <= nx <= w):
        raise ValueError(f"window size {ny}x{nx} (rows x columns) does not fit in the frame {h}x{w}; use a smaller fitting region")
    # Summed-area table with a leading row and column of zeros: sat[i, j] = mask[:i, :j].sum().
    sat = np.zeros((h + 1, w + 1), dtype=np.int64)
    # In place: on a large frame each temporary is a whole frame of 64-bit integers.
    np.cumsum(mask, axis=0, dtype=np.int64, out=sat[1:, 1:])
    np.cumsum(sat[1:, 1:], axis=1, out=sat[1:, 1:])
    counts = sat[ny:, nx:] - sat[:-ny, nx:]
    counts -= sat[ny:, :-nx]
    counts += sat[:-ny, :-nx]
    return counts


#: Candidates whose distances are updated at a time (bounds the temporaries on large frames).
_CHUNK = 1 << 20


def _shared_area(dy, dx, ny, nx):
    """Shared pixels of two ``ny`` x ``nx`` windows offset by ``(dy, dx)``; works on arrays."""
    return np.maximum(ny - np.abs(dy), 0) * np.maximum(nx - np.abs(dx), 0)


def overlap_fraction(a: Window, b: Window) -> float:
    """Area shared by two windows of the same size, as a fraction of the window area."""
    ny, nx = a.y2 - a.y1 + 1, a.x2 - a.x1 + 1
    if (b.y2 - b.y1 + 1, b.x2 - b.x1 + 1) != (ny, nx):
        raise ValueError(f"windows {a.name} and {b.name} differ in size; compare windows of one search")
    return float(_shared_area(b.y1 - a.y1, b.x1 - a.x1, ny, nx) / (ny * nx))


def _blocked_stencil(ny, nx, max_overlap):
    """Offsets ``(dy, dx)`` at which a window overlaps a kept one by more than ``max_overlap``.

    Returns a bool array of shape ``(2 ny - 1, 2 nx - 1)`` centred on offset (0, 0); the test
    is the same expression as :func:`overlap_fraction`, so both agree exactly.
    """
    dy = np.arange(-(ny - 1), ny)[:, None]
    dx = np.arange(-(nx - 1), nx)[None, :]
    return _shared_area(dy, dx, ny, nx) / (ny * nx) > max_overlap


def _check_target(target, h, w):
    x1, x2, y1, y2 = (int(v) for v in target)
    if not (1 <= x1 <= x2 <= w and 1 <= y1 <= y2 <= h):
        raise ValueError(
            f"target region [{x1}:{x2},{y1}:{y2}] lies outside the frame ({w} x {h} pixels); "
            "check that FITSECT belongs to this frame"
        )
    return x1, x2, y1, y2


def select_windows(
    mask,
    shape,
    target,
    *,
    target_margin=None,
    contaminant_frac=0.005,
    max_overlap=0.5,
    max_windows=50,
    sigma=None,
    target_sigma=None,
    noise_tolerance=None,
    spread=False,
) -> list[Window]:
    """Pick nearly blank sky windows with limited mutual overlap.

    Parameters
    ----------
    mask : ndarray of bool, shape (H, W)
        Source mask, True = masked (see :func:`source_mask`).
    shape : tuple of int
        Window size ``(ny, nx)``.
    target : tuple of int
        Fitted region ``(x1, x2, y1, y2)``, 1-based inclusive.
    target_margin : int or tuple of int, optional
        Windows overlapping the target grown by this many pixels are excluded; one value for
        both axes or ``(margin_y, margin_x)``.  None = half a window, ``(ny // 2, nx // 2)``.
    contaminant_frac : float
        Candidates have a masked fraction strictly below this.
    max_overlap : float
        A candidate is kept only if it shares at most this fraction of its area with every
        window kept before it.
    max_windows : int
        Stop after this many windows.
    sigma : ndarray, optional
        Noise of every window position (:func:`window_sigma`), stored in each window.
    target_sigma : float, optional
        The target's local noise (:func:`region_sigma`).
    noise_tolerance : float, optional
        Candidates have ``|sigma / target_sigma - 1|`` at most this (none when either is NaN);
        None = any noise.
    spread : bool
        False: fewest masked pixels first, ties by row then column.  True: farthest-point
        order, so the windows spread over the frame: let ``d`` be the distance from a
        candidate's centre to the nearest of the target's centre and the kept windows'
        centres; among the candidates with ``d`` within a quarter of the window's shorter
        side of the largest ``d``, the one with fewest masked pixels is kept (ties: larger
        ``d``, then row, then column).

    Returns
    -------
    list of Window
        In selection order.
    """
    mask = np.asarray(mask, dtype=bool)
    ny, nx = (int(v) for v in shape)
    h, w = mask.shape
    tx1, tx2, ty1, ty2 = _check_target(target, h, w)
    if target_margin is None:
        my, mx = ny // 2, nx // 2
    else:
        my, mx = np.broadcast_to(np.asarray(target_margin, dtype=int), (2,))
    counts = window_counts(mask, ny, nx)
    npy, npx = counts.shape
    if sigma is None:
        sigma = np.full(counts.shape, np.nan)
    elif np.shape(sigma) != counts.shape:
        raise ValueError(f"window noise: shape {np.shape(sigma)} differs from the window positions {counts.shape}; compute it with window_sigma")

    # blocked[y0, x0]: position excluded by the target or by a kept window.
    blocked = counts / (ny * nx) >= contaminant_frac
    if noise_tolerance is not None:
        if target_sigma is None:
            raise ValueError("noise_tolerance: needs the target's noise; pass target_sigma from region_sigma")
        with np.errstate(invalid="ignore"):
            blocked |= ~(np.abs(sigma / target_sigma - 1.0) <= noise_tolerance)
    # 0-based window rows y0 .. y0+ny-1 meet grown target rows ty1-1-my .. ty2-1+my.
    blocked[max(ty1 - 1 - my - ny + 1, 0) : max(ty2 + my, 0), max(tx1 - 1 - mx - nx + 1, 0) : max(tx2 + mx, 0)] = True

    stencil = _blocked_stencil(ny, nx, max_overlap)
    blocked_flat = blocked.ravel()  # view: updated as windows are kept
    kept: list[Window] = []

    def keep(idx):
        y0, x0 = divmod(int(idx), npx)
        kept.append(Window(x0 + 1, x0 + nx, y0 + 1, y0 + ny, float(counts[y0, x0] / (ny * nx)), float(sigma[y0, x0])))
        # Block every position too close to the new window (stencil clipped to the grid).
        ya, yb = max(y0 - ny + 1, 0), min(y0 + ny, npy)
        xa, xb = max(x0 - nx + 1, 0), min(x0 + nx, npx)
        sy, sx = ya - (y0 - ny + 1), xa - (x0 - nx + 1)
        blocked[ya:yb, xa:xb] |= stencil[sy : sy + yb - ya, sx : sx + xb - xa]
        return y0, x0

    cand = np.flatnonzero(~blocked_flat)
    if spread:
        # Farthest-point order; window and target have one size, so corner offsets are
        # centre offsets.  Candidates within a quarter window of the farthest distance are
        # equally far: the cleanest of them is taken, so that the far edge of the candidate
        # set (windows just under contaminant_frac) is not preferred.
        slack = min(ny, nx) / 4
        # A large frame has millions of candidates: 32-bit positions and distances updated
        # in place, in chunks, bound the memory.  A candidate blocked by a kept window gets
        # distance -inf instead of leaving the arrays; only the rows a window blocks are
        # looked at (cand is in flat order).
        cy = (cand // npx).astype(np.int32)
        cx = (cand % npx).astype(np.int32)
        dist = np.hypot(cy - (ty1 - 1), cx - (tx1 - 1))
        while cand.size and len(kept) < max_windows:
            top = dist.max()
            if top == -np.inf:
                break
            near = np.flatnonzero(dist >= top - slack)
            # Fewest masked pixels, then farthest, then row and column (flat order).
            best = near[np.lexsort((near, -dist[near], counts.ravel()[cand[near]]))[0]]
            y0, x0 = keep(cand[best])
            rows = slice(*np.searchsorted(cand, [max(y0 - ny + 1, 0) * npx, min(y0 + ny, npy) * npx]))
            dist[rows][blocked_flat[cand[rows]]] = -np.inf
            # Every distance is at most ``top``: rows farther than that from the new window
            # keep theirs, so only the band of rows within ``top`` is updated.
            reach = int(np.ceil(top))
            band = np.searchsorted(cand, [max(y0 - reach, 0) * npx, min(y0 + reach + 1, npy) * npx])
            for a in range(band[0], band[1], _CHUNK):
                part = slice(a, min(a + _CHUNK, band[1]))
                np.minimum(dist[part], np.hypot(cy[part] - y0, cx[part] - x0), out=dist[part])
        return kept

    # Rank by count, then y0, then x0: candidates are listed in flat (y0, x0) order and a
    # stable sort keeps that order among equal counts (a radix sort for small integers).
    key = counts.ravel()[cand]
    if ny * nx <= np.iinfo(np.uint16).max:
        key = key.astype(np.uint16)
    order = cand[np.argsort(key, kind="stable")]
    start, chunk = 0, 1024
    while start < order.size and len(kept) < max_windows:
        block = order[start : start + chunk]
        free = np.flatnonzero(~blocked_flat[block])
        if free.size == 0:
            start += block.size
            chunk = min(chunk * 2, 1 << 20)  # long runs of rejects: look further at once
            continue
        keep(block[free[0]])
        start += int(free[0]) + 1
    return kept


def write_windows_tsv(windows, path, comments: dict) -> None:
    """Write windows as TSV, after ``# key: value`` comment lines.

    Parameters
    ----------
    windows : list of Window
    path : str or path-like
    comments : dict
        Settings and provenance written as header comments, one per line.
    """
    with open(path, "w", newline="") as fh:
        for key, value in comments.items():
            fh.write(f"# {key}: {value}\n")
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(TSV_COLUMNS)
        for win in windows:
            writer.writerow([win.name, win.x1, win.x2, win.y1, win.y2, f"{win.masked_frac:.6f}", f"{win.sky_sigma:.6g}"])


def read_windows_tsv(path) -> list[Window]:
    """Read windows written by :func:`write_windows_tsv`.

    Raises
    ------
    GalfitFormatError
        Missing file, wrong columns or a row that does not parse.
    """
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise GalfitFormatError(f"{path}: file: not found; run the sky-window search first") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not lines or tuple(lines[0][1].split("\t")) != TSV_COLUMNS:
        raise GalfitFormatError(f"{path}: header: expected columns {' '.join(TSV_COLUMNS)}; re-run the sky-window search")
    windows = []
    for lineno, line in lines[1:]:
        fields = line.split("\t")
        try:
            if len(fields) != len(TSV_COLUMNS):
                raise ValueError
            win = Window(*(int(v) for v in fields[1:5]), float(fields[5]), float(fields[6]))
        except ValueError:
            raise GalfitFormatError(
                f"{path}: line {lineno}: expected {len(TSV_COLUMNS)} tab-separated fields "
                "(window, 4 integers, fraction, noise); re-run the sky-window search"
            ) from None
        if win.name != fields[0]:
            raise GalfitFormatError(f"{path}: line {lineno}: window {fields[0]!r} does not match x1/y1 ({win.name}); do not edit ids by hand")
        windows.append(win)
    return windows


def batches(windows, size: int) -> dict[str, list]:
    """Consecutive groups of ``size`` windows, keyed by batch id: one job each
    (:mod:`galfit_unc.batch`).

    Parameters
    ----------
    windows : sequence
        Windows in the order of the windows table.
    size : int
        Windows per batch (the last batch may hold fewer).

    Returns
    -------
    dict
        ``{"b000": windows[:size], "b001": windows[size:2 * size], ...}``.
    """
    if size < 1:
        raise ValueError(f"batch.windows: {size} is below 1; give the number of windows per job (1 or more)")
    windows = list(windows)
    return {BATCH_FORMAT.format(k): windows[start : start + size] for k, start in enumerate(range(0, len(windows), size))}


class NotEnoughWindows(RuntimeError):
    """Fewer blank sky windows were found than the uncertainty estimate needs."""


def check_enough(windows, min_windows, settings: dict, source: str | None = None) -> None:
    """Raise :class:`NotEnoughWindows` when fewer than ``min_windows`` windows were found.

    Parameters
    ----------
    windows : list of Window
    min_windows : int
    settings : dict
        Search settings a user may relax, name -> current value; all are named in the message.
    source : str, optional
        The mask searched, named first in the message.
    """
    if len(windows) >= min_windows:
        return
    current = ", ".join(f"{k}={v}" for k, v in settings.items())
    where = f"{source}: windows: " if source else ""
    raise NotEnoughWindows(
        f"{where}found {len(windows)} blank sky windows, need at least min_windows={min_windows}; "
        f"relax the search settings ({current}): raise contaminant_frac or max_overlap, "
        "or lower min_windows"
    )
