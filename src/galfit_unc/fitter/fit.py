"""Run one GALFIT input file with the embedded fitter: read, fit, write GALFIT's outputs.

:func:`run_galfit` is what ``galfit-embedded FEEDME`` does, callable from Python.  Paths in
the input file are relative to the working directory.  Where GALFIT carries on with a
warning flag (missing EXPTIME, region beyond the image, …) this does the same and records
the same flag; everything GALFIT cannot run raises :class:`FitError` with one line saying
which file and field, and what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import galfit_files as gf
from ..frames import read_image_2d
from ..galfit_files import GalfitFormatError, HeaderValue
from . import output
from .constraints import ConstraintError, ParameterSpace
from .finesample import make_renderer
from .lm import DEFAULT_IMAX, covariance, levenberg_marquardt
from .psf import load_psf
from .render import FLUX_KEYS, FluxModel, check_supported, needs_platescale
from .sigma import internal_sigma, read_mask, read_sigma

__all__ = ["FitError", "FitOutcome", "run_galfit"]


class FitError(RuntimeError):
    """The fit cannot run; the message is one line (file, field, what to do)."""


@dataclass
class FitOutcome:
    """Result of :func:`run_galfit`.

    ``output`` is the image block (or the model image for mode 1); ``restart`` and
    ``log`` are None when no fit was made (modes 1–3).  ``report`` holds every value as
    written to the image block header.
    """

    chi2: float
    ndof: int
    nfree: int
    flags: list[str]
    iterations: int
    output: Path
    restart: Path | None
    log: Path | None
    report: output.FitReport

    @property
    def chi2nu(self) -> float:
        return self.report.chi2nu


@dataclass
class _Inputs:
    data: np.ndarray  # region cut-out, input dtype
    header: object
    region: tuple[int, int, int, int]
    exptime: float
    psf: np.ndarray | None
    sigma: np.ndarray
    good: np.ndarray  # pixels entering χ²
    constraints: list
    flags: list[str]


def _path(workdir: Path, name: str) -> Path:
    p = Path(name)
    return p if p.is_absolute() else workdir / p


def _read_image(path: Path, source: str):
    if not path.exists():
        raise FitError(f"{path}: A) input image: file not found; check A) in {source}")
    return read_image_2d(path, "A) input image")


def _header_number(header, key):
    try:
        v = float(header[key])
    except (KeyError, TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _clip_region(region, shape, flags, source):
    x1, x2, y1, y2 = region
    ny, nx = shape
    clipped = (max(x1, 1), min(x2, nx), max(y1, 1), min(y2, ny))
    if clipped[0] > clipped[1] or clipped[2] > clipped[3]:
        raise FitError(f"{source}: H) region {gf.format_fitsect(region)}: outside the {nx}x{ny} image; fix H)")
    if clipped != tuple(region):
        flags.append("I-2")
    return clipped


def _load_model_only(fm: gf.Feedme, workdir: Path) -> _Inputs:
    """Inputs of a model-only run without a data image (GALFIT: exposure time 1 s).

    The region is H) as given, no pixel enters chi^2, and the flags are GALFIT's own in
    its order (PSF and kernel, mask, convolution box, sigma).
    """
    flags = ["A-6"] if fm.constraints is None else []
    flags.append("A-1")
    psf = None
    if fm.psf is None:
        flags.append("A-2")
    else:
        psf = load_psf(_path(workdir, fm.psf))
        if len(fm.control.get("D", "").split()) < 2:
            flags.append("A-3")
    if fm.mask is None:
        flags.append("A-4")
    if psf is not None and (psf.shape[1] > fm.convbox[0] or psf.shape[0] > fm.convbox[1]):
        flags.append("I-1")
    if fm.sigma is None:
        flags.append("A-5")
    shape = (fm.region[3] - fm.region[2] + 1, fm.region[1] - fm.region[0] + 1)
    constraints = []
    if fm.constraints is not None:
        constraints = gf.read_constraints(_path(workdir, fm.constraints), fm.components)
    return _Inputs(
        np.zeros(shape, np.float32), None, fm.region, 1.0, psf, np.ones(shape), np.zeros(shape, bool), constraints, flags
    )


def _load(fm: gf.Feedme, workdir: Path, mode: int) -> _Inputs:
    src = fm.source
    if mode == 1 and (fm.input_image is None or not _path(workdir, fm.input_image).exists()):
        # GALFIT makes the model of H) from the input values when there is no data.
        return _load_model_only(fm, workdir)
    if fm.input_image is None:
        raise FitError(f"{src}: A) input image: missing; give the FITS image to fit")
    image, header = _read_image(_path(workdir, fm.input_image), src)
    flags: list[str] = []
    if fm.constraints is None:
        flags.append("A-6")
    ncombine = _header_number(header, "NCOMBINE")
    if ncombine is None:
        flags.append("H-4")
    gain = _header_number(header, "GAIN")
    if gain is None:
        flags.append("H-3")
    exptime = _header_number(header, "EXPTIME")
    if exptime is None:
        flags.append("H-1")
    elif exptime == 0:
        flags.append("H-2")
    exptime = exptime or 1.0
    region = _clip_region(fm.region, image.shape, flags, src)
    ys, xs = gf.region_slices(region)
    data = image[ys, xs].copy()
    finite = np.isfinite(data)
    if not finite.all():
        data[~finite] = 0
        flags.append("I-3")
    psf = None
    d_tokens = fm.control.get("D", "").split()
    if fm.psf is None:
        flags.append("A-2")
    else:
        psf = load_psf(_path(workdir, fm.psf))
        if psf.shape[1] > fm.convbox[0] or psf.shape[0] > fm.convbox[1]:
            flags.append("I-1")
    if len(d_tokens) < 2 or d_tokens[1].lower() == "none":
        flags.append("A-3")
    bad = np.zeros(data.shape, bool)
    if fm.mask is None:
        flags.append("A-4")
    else:
        bad = read_mask(_path(workdir, fm.mask), image.shape)[ys, xs]
    if fm.sigma is None:
        flags.append("A-5")
        # GALFIT's defaults for missing keywords: GAIN 7, NCOMBINE 1 (its advisory page).
        sigma = internal_sigma(
            data.astype(np.float64), gain or 7.0, ncombine or 1, _header_number(header, "RDNOISE") or 0.0, mask=bad
        )
    else:
        sigma = read_sigma(_path(workdir, fm.sigma), image.shape)[ys, xs]
        if not np.all(sigma[~bad] > 0):
            flags.append("I-4")
    good = ~bad & np.isfinite(sigma) & (sigma > 0)
    constraints = []
    if fm.constraints is not None:
        constraints = gf.read_constraints(_path(workdir, fm.constraints), fm.components)
    return _Inputs(data, header, region, exptime, psf, sigma, good, constraints, flags)


def _values_report(fm, renderer, theta, errors, kinds, region):
    """Per component: (type, [(header key, HeaderValue)]) with the sky's fixed centre, the
    truncation links as text (first on a truncation, last on a truncated component) and
    the rotation function ``ROTF`` as text before the rotation's parameters."""
    x1, x2, y1, y2 = region
    comps = [(gf.header_type(c), []) for c in fm.components]
    links = gf.truncation_links(fm.components)
    for ci, comp in enumerate(fm.components):
        if comp.base_type == "sky":
            centre = ((x1 + x2) / 2, (y1 + y2) / 2)
            comps[ci][1].extend((k, HeaderValue(v, None, "fixed")) for k, v in zip(("XC", "YC"), centre))
        if comp.base_type in gf.TRUNCATION_TYPES:
            comps[ci][1].extend(links[ci].items())
    for k, (ci, key) in enumerate(renderer.names):
        if key == gf.ROTATION_ROWS[0][0]:  # GALFIT writes the rotation's function before its parameters
            comps[ci][1].append(("ROTF", gf.rotation_function(fm.components[ci])))
        err = None if kinds[k] in ("fixed", "constrained") else float(errors[k])
        comps[ci][1].append((key, HeaderValue(float(theta[k]), err, kinds[k])))
    for ci, comp in enumerate(fm.components):
        if comp.base_type not in gf.TRUNCATION_TYPES:
            comps[ci][1].extend(links[ci].items())
    return comps


def _kinds(space: ParameterSpace, theta, singular_u):
    singular = np.zeros(len(theta), bool)
    if singular_u.any():
        singular[space.varying] = (np.abs(space.T[space.varying][:, singular_u]) > 0).any(axis=1)
    suspect = space.suspect(theta) | singular
    kinds = np.where(space.varying, "free", "fixed").astype(object)
    kinds[space.tied] = "constrained"
    kinds[suspect & space.varying] = "suspect"
    return list(kinds)


def _restart_values(fm, renderer, theta):
    out = {}
    for k, (ci, key) in enumerate(renderer.names):
        layout = {h: (row, idx) for h, row, idx in gf.parameter_table(fm.components[ci])}
        row, idx = layout[key]
        out[(ci, row, idx)] = float(theta[k])
    return out


def run_galfit(
    feedme_path, *, imax: int | None = None, mode: int | None = None, workdir=None, sampling: str = "galfit"
) -> FitOutcome:
    """Run a GALFIT input file like ``galfit FEEDME``.

    Parameters
    ----------
    feedme_path : path-like
        GALFIT 3 input file; relative paths are taken from ``workdir``.
    imax : int, optional
        Iteration limit (GALFIT's ``-imax``, default 100).  Reaching it sets flag ``1``.
    mode : int, optional
        Overrides P): 0 fit, 1 model image only, 2 image block of the input values,
        3 image block with one HDU per component (``subcomps.fits``).
    workdir : path-like, optional
        Working directory (default: the current one); outputs, ``fit.log`` and the
        restart file ``galfit.NN`` go there.
    sampling : {"galfit", "exact"}
        How pixels are sampled: GALFIT's own rule (its model images, also of thin
        components) or pixel means of the profiles (see :class:`render.ModelRenderer`).

    Returns
    -------
    FitOutcome

    Raises
    ------
    FitError
        Unreadable or invalid input (one line naming the file, the field and what to do).
    """
    workdir = Path(workdir) if workdir is not None else Path(os.getcwd())
    init_name = str(feedme_path)
    try:
        fm = gf.read_feedme(_path(workdir, init_name))
        mode = fm.mode if mode is None else int(mode)
        check_supported(fm.components, fm.psf is not None, fm.finesample, fm.source)
        inputs = _load(fm, workdir, mode)
        renderer = make_renderer(
            fm.components, inputs.region, inputs.psf, fm.convbox, fm.zeropoint, inputs.exptime, fm.finesample,
            # K) only matters (and must be there) for surface-brightness components.
            fm.platescale if needs_platescale(fm.components) else None,
            sampling,
        )
        space = ParameterSpace(fm.components, renderer.names, renderer.theta0, inputs.constraints, fm.constraints or "constraints")
    except (GalfitFormatError, ConstraintError) as exc:
        raise FitError(str(exc)) from None
    if fm.output_block is None:
        raise FitError(f"{fm.source}: B) output image block: missing; give an output file name")
    flags = inputs.flags + sorted(set(space.flags))
    out_path = _path(workdir, fm.output_block)
    if not out_path.parent.is_dir():
        raise FitError(f"{fm.source}: B) output image block: folder {out_path.parent} does not exist; create it or fix B)")

    good = inputs.good
    data = inputs.data.astype(np.float64)
    weight = np.where(good, 1.0 / np.where(good, inputs.sigma, 1.0), 0.0)[good]
    target = data[good]
    all_good = bool(good.all())
    col_of = np.full(len(space.names), -1)
    col_of[space.varying] = np.argmax(space.T[space.varying] != 0, axis=1)  # u entry of each theta

    def evaluate(u, jacobian, rows=None, source=renderer):
        """Weighted residuals and, when asked, Jacobian over the u entries ``rows`` (all),
        of the model ``source`` (the renderer, or a :class:`FluxModel` of it)."""
        theta = space.theta(u)
        if not jacobian:
            return (target - source.model(theta)[good]) * weight
        varying = space.varying if rows is None else space.varying & np.isin(col_of, rows)
        model, jac = source.model_and_jacobian(theta, varying)
        jac = jac.reshape(len(jac), -1) if all_good else jac[:, good]
        if not np.isfinite(jac).all():
            # Derivatives overflow in extreme profile corners (tiny n, far pixels) where
            # the profile itself is 0: those pixels carry no information.
            jac = np.nan_to_num(jac, nan=0.0, posinf=0.0, neginf=0.0)
        t_sub = space.T[varying] if rows is None else space.T[varying][:, rows]
        if t_sub.shape[0] != t_sub.shape[1] or np.any(t_sub != np.eye(t_sub.shape[0])):
            jac = t_sub.T.astype(jac.dtype) @ jac
        return (target - model[good]) * weight, jac * weight.astype(jac.dtype)

    def fit_fluxes(u0):
        """Warm-up: magnitudes and sky alone, so that structural parameters start from a
        model of the right brightness (a uniformly too faint start otherwise drives sizes
        and the sky into a remote basin).  On the cached images of :class:`FluxModel` its
        steps cost next to nothing, so it runs to GALFIT's own stopping rule."""
        rows = np.flatnonzero([space.names[r][1] in FLUX_KEYS for r in space.roots])
        if rows.size == 0:
            return u0
        linear = FluxModel(renderer, space.theta(u0))

        def ev(v, jacobian):
            u = u0.copy()
            u[rows] = v
            return evaluate(u, jacobian, rows, linear)

        def project(v):
            u = u0.copy()
            u[rows] = v
            return space.project(u)[rows]

        res = levenberg_marquardt(ev, u0[rows], project, lambda v: space.max_step(u0)[rows])
        u = u0.copy()
        u[rows] = res.u
        return u

    fitted = mode == 0
    if fitted:
        res = levenberg_marquardt(evaluate, fit_fluxes(space.u0), space.project, space.max_step, imax=DEFAULT_IMAX if imax is None else int(imax))
        theta = space.theta(res.u)
        cov_u, singular_u = covariance(res.hessian)
        errors = np.sqrt(np.maximum(np.einsum("ki,ij,kj->k", space.T, cov_u, space.T), 0.0))
        kinds = _kinds(space, theta, singular_u)
        chi2, iterations = res.chi2, res.iterations
        if res.hit_limit:
            flags.append("1")
        if "suspect" in kinds:
            flags.append("2")
    else:
        theta = renderer.theta0.copy()
        r = evaluate(space.to_u(theta), False)
        chi2, iterations = float(np.dot(r, r)), 0
        errors = np.zeros_like(theta)
        kinds = list(np.where(space.varying, "free", "fixed"))
    nfree = space.nu
    nfix = len(theta) - nfree + sum(c.base_type == "devauc" for c in fm.components)
    # GALFIT names the restart file in a model image's header without writing it.
    restart_name = gf.next_restart_name(workdir) if fitted or mode == 1 else None
    report = output.FitReport(
        initfile=init_name,
        datain=fm.input_image or "none",
        region=inputs.region,
        convbox=fm.convbox,
        magzpt=fm.zeropoint,
        components=_values_report(fm, renderer, theta, errors, kinds, inputs.region),
        chisq=chi2,
        ndof=int(good.sum()) - nfree if good.any() else 0,
        nfree=nfree,
        nfix=nfix,
        flags=flags,
        sigma=fm.sigma or "none",
        psf=" ".join(fm.control.get("D", "none").split()) or "none",
        constrnt=fm.constraints or "none",
        mask=fm.mask or "none",
        output=fm.output_block,
        logfile=restart_name,
    )
    restart_path = log_path = None
    if fitted:
        restart_path = workdir / restart_name
        output.write_restart(restart_path, output.restart_feedme(fm, _restart_values(fm, renderer, theta)), report)
        log_path = workdir / "fit.log"
        output.append_fit_log(log_path, output.format_log_block(report, fm.input_image))
    if mode == 1:
        output.write_model_image(out_path, renderer.model(theta, include_skipped=False), report)
    elif mode == 3:
        out_path = workdir / "subcomps.fits"
        output.write_subcomponents(out_path, inputs.data, inputs.header, renderer.component_images(theta), report)
    else:
        model = renderer.model(theta, include_skipped=False)
        output.write_image_block(out_path, inputs.data, inputs.header, model, report)
    return FitOutcome(chi2, report.ndof, nfree, flags, iterations, out_path, restart_path, log_path, report)
