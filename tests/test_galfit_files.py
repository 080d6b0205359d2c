"""Tests of galfit_unc.galfit_files on every real GALFIT file in the shared data.

Expected values come from the raw text of the files, read here with small independent
tokenisers, never from the module under test.
"""

import re

import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from fitlog import read_fit_log

EX = "galfit-examples"
MEG = (EX, "meg-main", "galfit")
INPUT_FILES = [
    (EX, "GALFITools", "docs", "galfit.01"),
    (EX, "GALFITools", "tests", "galfit.1ser"),
    (EX, "GALFITools", "tests", "galfit.3ser"),
    (EX, "GALFITools", "tests", "galfit.barsize"),
    (EX, "GALFITools", "tests", "galfit.galout"),
    (EX, "GALFITools", "tests", "galfit.initgal"),
    (EX, "GALFITools", "tests", "star.gal"),
    (EX, "J1430_4150_Golden_gravitational_lensing", "galfit-example", "EXAMPLE", "galfit.feedme"),
    (EX, "galfit305-example-run", "galfit.01"),
    (EX, "galfit305-example-run", "galfit.feedme"),
    *[(EX, "galfit_wrapper", f"galfit.0{i}") for i in range(1, 7)],
    (EX, "galfit_wrapper", "r_band_psf.galfit"),
    (*MEG, "galfit-example", "EXAMPLE.INPUT"),
    (*MEG, "galfit-example", "EXAMPLE", "galfit.feedme"),
    *[(*MEG, f"galfit.{i:02d}") for i in range(1, 11)],
    (*MEG, "galfit.n777"),
    (*MEG, "galfit.ngc4874"),
    (*MEG, "galfit.ngc4874est"),
    *[("decals-coolj0112", "galfit-reruns", f"new_skycut_{i}.gal") for i in (4, 5, 6, 7)],
]
IMAGE_BLOCKS = [
    ("decals-coolj0112", "galfit_output_example.fits"),
    *[("decals-coolj0112", "galfit-reruns", f"new_skycut_{i}_output.fits") for i in (4, 5, 6, 7)],
    (EX, "J1430_4150_Golden_gravitational_lensing", "imgblock.fits"),
    (EX, "galfit305-example-run", "imgblock.fits"),
    (*MEG, "imgblock.fits"),
    (*MEG, "4874imgblock.fits"),
]
FIT_LOGS = [
    (EX, "GALFITools", "tests", "fit.log"),
    (EX, "J1430_4150_Golden_gravitational_lensing", "fit.log"),
    (EX, "galfit305-example-run", "fit.log"),
    (EX, "galfit_wrapper", "fit.log"),
    (*MEG, "fit.log"),
]
# Restart file, the image block of the same fit, and that block's LOGFILE. The 3.0.5 run
# was made twice into one folder: its block names galfit.02, and fit.log shows galfit.01
# with identical values. No other restart file has its image block in the shared data.
RESTART_PAIRS = [
    ((EX, "galfit305-example-run", "galfit.01"), (EX, "galfit305-example-run", "imgblock.fits"), "galfit.02"),
    ((*MEG, "galfit.09"), (*MEG, "imgblock.fits"), "galfit.09"),
    ((*MEG, "galfit.10"), (*MEG, "4874imgblock.fits"), "galfit.10"),
]
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
SERSIC = gf.parse_feedme(" 0) sersic\n 1) 20 20 1 1\n 3) 18 1\n 4) 5 1\n 5) 2 1\n 9) 0.6 1\n10) 30 1\n").components[0]


def _ids(items):
    return ["/".join(p[-2:]) for p in items]


def test_lists_cover_every_file(shared):
    root = shared(EX)
    names = {"fit.log", "galfit.feedme", "star.gal", "r_band_psf.galfit", "EXAMPLE.INPUT"}
    found = {p for p in root.rglob("*") if p.is_file() and (p.name in names or p.name.startswith("galfit.") or p.suffix == ".gal")}
    listed = {shared(*p) for p in INPUT_FILES + FIT_LOGS if p[0] == EX}
    assert found == listed
    blocks = set()
    for p in root.rglob("*.fits"):
        with fits.open(p) as hdul:
            if len(hdul) >= 4:
                blocks.add(p)
    assert blocks == {shared(*p) for p in IMAGE_BLOCKS if p[0] == EX}


def _raw_rows(text):
    """Component rows of an input file from its text: list of (type, {key: numbers})."""
    comps = []
    for line in text.splitlines():
        body = line.split("#", 1)[0]
        m = re.match(r"^\s*([A-Za-z0-9]+)\)\s*(.*)$", body)
        if not m:
            continue
        key, rest = m.groups()
        if key in ("0", "T0"):  # T0) starts a truncation component
            comps.append((rest.split()[0].lower(), {}))
        elif comps:
            comps[-1][1][key] = [float(t) for t in NUMBER.findall(rest)]
    return comps


def _snapshot(fm):
    return (
        {k: v.split() for k, v in fm.control.items()},
        [(c.type, [(r.key, r.values, r.toggles, r.text) for r in c.rows.values()]) for c in fm.components],
    )


@pytest.mark.parametrize("parts", INPUT_FILES, ids=_ids(INPUT_FILES))
def test_input_file_round_trip(parts, shared, tmp_path):
    path = shared(*parts)
    fm = gf.read_feedme(path)
    raw = _raw_rows(path.read_text())
    assert [c.type for c in fm.components] == [t for t, _ in raw]
    for comp, (_, rows) in zip(fm.components, raw):
        for key, numbers in rows.items():
            row = comp.rows[key]
            assert row.values + [float(t) for t in row.toggles] == numbers, f"{comp.type} {key})"
    out = tmp_path / "copy.feedme"
    gf.write_feedme(fm, out)
    assert _snapshot(gf.read_feedme(out)) == _snapshot(fm)


def test_input_file_typed_control_values(shared):
    fm = gf.read_feedme(shared(*MEG, "galfit.09"))
    assert fm.input_image == "n777.fits" and fm.psf == "n777psf.fits"
    assert fm.sigma is None and fm.mask is None and fm.constraints is None
    assert fm.region == (91, 237, 167, 301) and fm.convbox == (200, 200)
    assert fm.zeropoint == 26.563 and fm.platescale == (0.038, 0.038) and fm.mode == 0 and fm.finesample == 1
    rerun = gf.read_feedme(shared("decals-coolj0112", "galfit-reruns", "new_skycut_4.gal"))
    assert rerun.constraints == "data/cons_rel.txt" and rerun.platescale == (0.16, 0.16)
    assert rerun.components[-1].type == "sky" and rerun.components[-1].skip


def test_example_input_keeps_hidden_rows_and_all_types(shared):
    fm = gf.read_feedme(shared(*MEG, "galfit-example", "EXAMPLE.INPUT"))
    types = [c.type for c in fm.components]
    for t in ("sersic", "nuker", "devauc", "expdisk", "edgedisk", "moffat", "ferrer", "gaussian", "king", "psf", "sky"):
        assert t in types
    sky = fm.components[types.index("sky")]
    assert sky.rows["F10"].values == [0.08, 20.5] and sky.rows["F10"].toggles == [1, 1]
    assert sky.rows["C0"].values == [0.1] and sky.rows["B3"].values == [0.03]
    truncated, last = fm.components[-2:]
    assert last.type == "radial" and last.rows["T1"].values == [200.0, 150.0]
    assert truncated.rows["Ti"].values == [5.0] and truncated.rows["To"].values == [2.0]
    hidden = [k for k, _, _ in gf.parameter_table(sky)][3:]
    assert hidden == ["B1", "B2", "B3", "F1", "F1PA", "F2", "F2PA", "F6", "F6PA", "F10", "F10PA", "F20", "F20PA", "C0"]


@pytest.mark.parametrize("restart, block, logfile", RESTART_PAIRS, ids=_ids([r for r, _, _ in RESTART_PAIRS]))
def test_restart_equals_image_block_header(restart, block, logfile, shared):
    fm = gf.read_feedme(shared(*restart))
    header = gf.read_fit_header(shared(*block))
    assert header.logfile == logfile
    assert fm.region == header.fitsect and fm.zeropoint == pytest.approx(header.magzpt, abs=5e-4)
    assert [c.type for c in fm.components] == [c.type for c in header.components]
    for comp, hcomp in zip(fm.components, header.components):
        for key, row, idx in gf.parameter_table(comp):
            hv = hcomp[key]
            # Restart files round to 4 decimals (or 4 significant digits in %.3e).
            assert comp.value(row, idx) == pytest.approx(hv.value, abs=5e-5, rel=5e-4), f"{comp.type} {key}"
            assert comp.rows[row].free(idx) == (hv.kind != "fixed"), f"{comp.type} {key} toggle"


def test_restart_pairs_match_by_header(shared):
    header = gf.read_fit_header(shared(*MEG, "4874imgblock.fits"))
    assert header.initfile == "galfit.ngc4874est"
    header = gf.read_fit_header(shared(*MEG, "imgblock.fits"))
    assert header.initfile == "galfit.n777"
    runs = read_fit_log(shared(EX, "galfit305-example-run", "fit.log"))
    assert [r.restart_file for r in runs] == ["galfit.01", "galfit.02"]
    assert runs[0].components[0].values == runs[1].components[0].values


def _raw_value(text):
    """Independent reading of an HDU2 value: (value, error or None, kind)."""
    s = text.strip()
    nums = [float(t) for t in NUMBER.findall(s)]
    kind = {"[": "fixed", "{": "constrained", "*": "suspect"}.get(s[0], "free")
    return nums[0], (nums[1] if len(nums) > 1 else None), kind


@pytest.mark.parametrize("parts", IMAGE_BLOCKS, ids=_ids(IMAGE_BLOCKS))
def test_image_block_header(parts, shared):
    path = shared(*parts)
    with fits.open(path) as hdul:
        raw = hdul[2].header
        shape = hdul[2].data.shape
    header = gf.read_fit_header(path)
    ncomp = len([k for k in raw if k.startswith("COMP_")])
    assert len(header.components) == ncomp
    x1, x2, y1, y2 = header.fitsect
    assert (y2 - y1 + 1, x2 - x1 + 1) == shape
    assert header.magzpt == raw["MAGZPT"] and header.chi2nu == pytest.approx(raw["CHI2NU"])
    assert header.ndof == raw["NDOF"] and header.flags == raw.get("FLAGS", "").split()
    for comp in header.components:
        assert comp.type == raw[f"COMP_{comp.number}"].strip()
        for key, hv in comp.params:
            text = raw[f"{comp.number}_{key}"]
            assert (hv.value, hv.error, hv.kind) == _raw_value(text), f"{comp.number}_{key}"
            assert gf.format_header_value(hv) == text.strip()


def test_image_block_value_forms(shared):
    header = gf.read_fit_header(shared("decals-coolj0112", "galfit_output_example.fits"))
    assert header.component(2)["AR"].kind == "suspect" and header.component(2)["AR"].value == 0.07
    assert header.component(24)["XC"].kind == "fixed" and header.component(24)["XC"].error is None
    assert header.component(24)["DSDX"].value == 0.0
    assert "2_AR" in header.suspect and header.fit_flags == ["2"]
    assert header.convbox == (96, 78) and header.constrnt == "cons.txt" and header.sigma == "none"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20.7151 +/- 0.0462", (20.7151, 0.0462, "free")),
        ("-3.998e-03 +/- 3.256e-03", (-3.998e-3, 3.256e-3, "free")),
        ("[267.5000]", (267.5, None, "fixed")),
        ("[0.000e+00]", (0.0, None, "fixed")),
        ("{1.2000}", (1.2, None, "constrained")),
        ("{0.5000} +/- {0.1000}", (0.5, 0.1, "constrained")),
        ("*0.0700* +/- *0.1544*", (0.07, 0.1544, "suspect")),
    ],
)
def test_header_value_grammar(text, expected):
    hv = gf.parse_header_value(text)
    assert (hv.value, hv.error, hv.kind) == expected
    assert gf.format_header_value(hv) == text


def test_header_value_garbage():
    with pytest.raises(gf.GalfitFormatError, match="3_MAG: cannot read"):
        gf.parse_header_value("abc +/- 1", "block.fits", "3_MAG")


def _raw_log_components(text):
    """Value lines of every run of a fit.log: list per run of (type, numbers)."""
    runs = []
    for line in text.splitlines():
        if line.startswith("Input image"):
            runs.append([])
        m = re.match(r"^\s*([a-z]+\d?)\s*:\s*(.*)$", line)
        if m and runs:
            runs[-1].append((m.group(1), [float(t) for t in NUMBER.findall(m.group(2))]))
    return runs


@pytest.mark.parametrize("parts", FIT_LOGS, ids=_ids(FIT_LOGS))
def test_fit_log(parts, shared):
    path = shared(*parts)
    text = path.read_text()
    runs = read_fit_log(path)
    raw = _raw_log_components(text)
    assert len(runs) == text.count("Input image") == len(raw)
    chis = [float(v) for v in re.findall(r"Chi\^2/nu = (\S+)", text)]
    assert [r.chi2nu for r in runs] == chis
    for run, comps in zip(runs, raw):
        assert run.output_image and run.restart_file.startswith("galfit.")
        assert [(c.type, c.values) for c in run.components] == comps
        for c in run.components:
            assert len(c.errors) == len(c.values) == len(c.kinds)


def test_fit_log_decorations(shared):
    runs = read_fit_log(shared(EX, "galfit_wrapper", "fit.log"))
    # ' sersic : ( 232.24, 258.29) 21.46 7.44 *0.03* 0.26 22.61' (run 2, component 3)
    comp = next(c for r in runs for c in r.components if c.values[:2] == [232.24, 258.29])
    assert comp.kinds == ["free", "free", "free", "free", "suspect", "free", "free"]
    sky = runs[0].components[0]
    assert sky.type == "sky" and sky.kinds == ["fixed", "fixed", "free", "fixed", "fixed"]
    assert sky.errors[:2] == [None, None]
    first = read_fit_log(shared(EX, "galfit305-example-run", "fit.log"))[0]
    assert (first.init_file, first.restart_file, first.chisq, first.ndof) == ("galfit.feedme", "galfit.01", 12695.04799, 8641)


def test_constraint_files(shared):
    cons = gf.read_constraints(shared(*MEG, "galfit-example", "EXAMPLE.CONSTRAINTS"))
    got = [(c.components, c.name, c.parameter_of(SERSIC, 1), c.kind, c.low, c.high) for c in cons]
    assert got == [
        ([3, 2, 1, 9], "x", ("1", 0), "offset", None, None),
        ([1, 5, 3, 2], "re", ("4", 0), "ratio", None, None),
        ([3], "n", ("5", 0), "absolute", 0.7, 5.0),
        ([2], "x", ("1", 0), "relative", -1.0, 0.5),
        ([3, 7], "mag", ("3", 0), "difference", -0.5, 3.0),
        ([3, 5], "re", ("4", 0), "quotient", 1.0, 3.0),
    ]
    rel = gf.read_constraints(shared("decals-coolj0112", "cons_rel.txt"), 23)
    raw_lines = [line.split() for line in shared("decals-coolj0112", "cons_rel.txt").read_text().splitlines() if line.strip()]
    assert [(c.components[0], c.name, c.low, c.high) for c in rel] == [(int(a), b, float(lo), float(hi)) for a, b, lo, hi in raw_lines]
    assert {c.kind for c in rel} == {"relative"}
    absolute = gf.read_constraints(shared("decals-coolj0112", "cons_abs.txt"))
    assert {c.kind for c in absolute} == {"absolute"}


@pytest.mark.parametrize(
    "line, expected",
    [
        ("1 n 0.5 to 8", ([1], ("5", 0), "absolute", 0.5, 8.0)),
        ("1 5 -1.5 6", ([1], ("5", 0), "relative", -1.5, 6.0)),
        ("1_2_3 x offset", ([1, 2, 3], ("1", 0), "offset", None, None)),
        ("1_5 re ratio", ([1, 5], ("4", 0), "ratio", None, None)),
        ("3-7 mag -0.5 3", ([3, 7], ("3", 0), "difference", -0.5, 3.0)),
        ("3/5 re 1 3", ([3, 5], ("4", 0), "quotient", 1.0, 3.0)),
        ("2 y -2 2", ([2], ("1", 1), "relative", -2.0, 2.0)),
        ("4 q 0.1 to 1", ([4], ("9", 0), "absolute", 0.1, 1.0)),
        ("4 9 -0.43 0.5", ([4], ("9", 0), "relative", -0.43, 0.5)),
        ("4 pa -10 10", ([4], ("10", 0), "relative", -10.0, 10.0)),
        ("4 10 0 to 90", ([4], ("10", 0), "absolute", 0.0, 90.0)),
        ("4 3 17 to 20", ([4], ("3", 0), "absolute", 17.0, 20.0)),
    ],
)
def test_constraint_kinds(line, expected):
    (c,) = gf.parse_constraints(line + "   # comment\n")
    assert (c.components, c.parameter_of(SERSIC, 1), c.kind, c.low, c.high) == expected


@pytest.mark.parametrize(
    "text, match",
    [
        ("1 wobble 0 to 1", "unknown parameter"),
        ("a n 0 to 1", "components"),
        ("1 n", "cannot read"),
        ("1 n lo to hi", "range"),
    ],
)
def test_constraint_errors(text, match):
    with pytest.raises(gf.GalfitFormatError, match=match) as err:
        gf.parse_constraints(text, "cons.txt")
    assert str(err.value).startswith("cons.txt: line 1")


# One component of every type whose rows give a name its own meaning, and the hidden rows.
NAMED = gf.parse_feedme(
    " 0) edgedisk\n 1) 20 20 1 1\n 3) 18 1\n 4) 2 1\n 5) 6 1\n10) 30 1\n"
    " 0) nuker\n 1) 20 20 1 1\n 3) 18 1\n 4) 3 1\n 5) 1.5 1\n 6) 2 1\n 7) 0.5 1\n 9) 0.6 1\n10) 30 1\n"
    " 0) king\n 1) 20 20 1 1\n 3) 18 1\n 4) 3 1\n 5) 20 1\n 6) 2 1\n 9) 0.6 1\n10) 30 1\n"
    " 0) ferrer\n 1) 20 20 1 1\n 3) 18 1\n 4) 10 1\n 5) 1.5 1\n 6) 0.5 1\n 9) 0.6 1\n10) 30 1\n"
    " 0) moffat\n 1) 20 20 1 1\n 3) 18 1\n 4) 3 1\n 5) 2.5 1\n 9) 0.6 1\n10) 30 1\n"
    " 0) expdisk\n 1) 20 20 1 1\n 3) 18 1\n 4) 3 1\n 9) 0.6 1\n10) 30 1\n"
    " 0) sersic\n 1) 20 20 1 1\n 3) 18 1\n 4) 5 1\n 5) 2 1\n 9) 0.6 1\n10) 30 1\n"
    "C0) 0.2 1\nF1) 0.1 20 1 1\nF3) 0.05 -40 1 1\nR0) power\nR1) 2 1\nR2) 9 1\nR3) 60 1\nR4) 0.5 1\nR9) 30 1\nR10) 20 1\n"
    " 0) sersic\n 1) 20 20 1 1\n 3) 18 1\n 4) 5 1\n 5) 2 1\n 9) 0.6 1\n10) 30 1\nB1) 0.1 1\nB2) 0.02 1\nTo) 10\n"
    " 0) sky\n 1) 1 1\n 2) 0 0\n 3) 0 0\n"
    "T0) radial\nT1) 21 19 1 1\nT4) 12 1\nT5) 3 1\nT9) 0.5 1\nT10) 40 1\n"
).components


@pytest.mark.parametrize(
    "number, name, expected",
    [
        (1, "rs", ("5", 0)),  # edgedisk: radial scale length
        (1, "re", ("5", 0)),  # re and rs are one name in GALFIT
        (1, "hs", ("4", 0)),
        (1, "mu", ("3", 0)),
        (2, "alpha", ("5", 0)),  # nuker
        (2, "Beta", ("6", 0)),
        (2, "GAMMA", ("7", 0)),
        (2, "rb", ("4", 0)),
        (3, "alpha", ("6", 0)),  # king
        (3, "rc", ("4", 0)),
        (3, "rt", ("5", 0)),
        (4, "alpha", ("5", 0)),  # ferrer
        (4, "beta", ("6", 0)),
        (4, "rout", ("4", 0)),
        (5, "n", ("5", 0)),  # moffat's power law
        (5, "fwhm", ("4", 0)),
        (6, "rs", ("4", 0)),
        (6, "re", ("4", 0)),
        (7, "c", ("C0", 0)),
        (7, "C0", ("C0", 0)),
        (7, "f1", ("F1", 0)),
        (7, "f1a", ("F1", 0)),
        (7, "F1P", ("F1", 1)),
        (7, "f3p", ("F3", 1)),
        (7, "r1", ("R1", 0)),
        (7, "R4", ("R4", 0)),
        (7, "r9", ("R9", 0)),
        (7, "r10", ("R10", 0)),
        (8, "b1", ("B1", 0)),
        (8, "B2", ("B2", 0)),
        (8, "mag", ("3", 0)),  # truncated: row 3) is a surface brightness
        (9, "sky", ("1", 0)),
        (9, "2", ("2", 0)),
        (10, "t4", ("T4", 0)),
        (10, "T5", ("T5", 0)),
        (10, "t9", ("T9", 0)),
        (10, "t10", ("T10", 0)),
        (10, "q", ("T9", 0)),
        (10, "y", ("T1", 1)),
    ],
)
def test_constraint_names_follow_the_component_type(tmp_path, number, name, expected):
    path = tmp_path / "cons.txt"
    path.write_text(f"{number} {name} 0 to 1\n")
    (con,) = gf.read_constraints(path, NAMED)
    assert con.parameter_of(NAMED[number - 1], number) == expected


@pytest.mark.parametrize(
    "number, name",
    [
        (7, "alpha"),  # sersic
        (5, "alpha"),  # moffat's power law is n
        (7, "hs"),
        (1, "q"),  # edgedisk has no axis ratio
        (1, "n"),
        (2, "n"),
        (9, "x"),  # sky
        (9, "mag"),
        (7, "f2a"),  # no F2) row
        (7, "b1"),
        (8, "r1"),  # no rotation
        (7, "r5"),
        (7, "t4"),
        (10, "t1p"),
        (10, "mag"),  # truncation
        (10, "4"),
        (7, "2"),
        (7, "11"),
    ],
)
def test_constraint_name_a_component_lacks_is_one_line(tmp_path, number, name):
    path = tmp_path / "cons.txt"
    path.write_text(f"# comment\n{number} {name} 0 to 1\n")
    with pytest.raises(gf.GalfitFormatError) as err:
        gf.read_constraints(path, NAMED)
    message = str(err.value)
    assert "\n" not in message
    if name == "t1p":
        assert message.startswith(f"{path}: line 2 parameter: unknown parameter 't1p'; use x, y, mag")
    else:
        ctype = NAMED[number - 1].type
        assert message.startswith(f"{path}: line 2 parameter: {name} is not a parameter of component {number} ({ctype}); use one of ")
        assert message.endswith(" or fix the component number")


@pytest.mark.parametrize("name, what", [("r0", "the rotation function"), ("R0", "the rotation function"), ("t0", "the truncation type"), ("0", "the component type")])
def test_constraint_on_a_row_that_names_something_is_refused(name, what):
    with pytest.raises(gf.GalfitFormatError, match=rf"^cons.txt: line 1 parameter: {name} names {what}, not a parameter; constrain one of the numeric rows$"):
        gf.parse_constraints(f"7 {name} 0 to 1\n", "cons.txt")


def test_constraint_names_in_a_coupling_follow_each_component(tmp_path):
    """``1_6 rs ratio``: the edgedisk's row 5) with the expdisk's row 4)."""
    path = tmp_path / "cons.txt"
    path.write_text("1_6 rs ratio\n2_4 alpha offset\n")
    first, second = gf.read_constraints(path, NAMED)
    assert [first.parameter_of(NAMED[n - 1], n) for n in first.components] == [("5", 0), ("4", 0)]
    assert [second.parameter_of(NAMED[n - 1], n) for n in second.components] == [("5", 0), ("5", 0)]


def test_constraint_on_missing_component(tmp_path):
    path = tmp_path / "cons.txt"
    path.write_text("30 n 0.5 to 8\n")
    with pytest.raises(gf.GalfitFormatError, match="component 30 does not exist"):
        gf.read_constraints(path, 23)


def test_comp_ident_real_and_errors(shared, tmp_path):
    ident = gf.read_comp_ident(shared("decals-coolj0112", "comp_ident_example.txt"), components=24)
    assert len(ident) == 23 and ident[13] == "10" and ident[8] == "4"
    cases = {
        "missing.txt": ("1 a\n30 b\n", "component 30 is not in the fit"),
        "dup.txt": ("1 a\n2 b\n1 c\n", "component 1 listed twice"),
        "nonint.txt": ("1 a\nx2 b\n", "'x2' is not an integer"),
        "empty.txt": ("# nothing\n", "no component lines"),
        "three.txt": ("1 a b\n", "expected 'component object'"),
    }
    for name, (text, match) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(gf.GalfitFormatError, match=match) as err:
            gf.read_comp_ident(path, components=24)
        assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


@pytest.mark.parametrize("text", ["[1:10,5:20", "[10:1,1:5]", "1:10,1:5", "[a:b,c:d]"])
def test_fitsect_errors(text):
    with pytest.raises(gf.GalfitFormatError, match="FITSECT"):
        gf.parse_fitsect(text, "block.fits")


def test_fitsect_and_slices():
    assert gf.parse_fitsect("[220:315,213:290]") == (220, 315, 213, 290)
    assert gf.format_fitsect((220, 315, 213, 290)) == "[220:315,213:290]"
    assert gf.region_slices((220, 315, 213, 290)) == (slice(212, 290), slice(219, 315))


GALFIT2 = """A) gal.fits
B) out.fits
H) 1 93 1 93
J) 26.563
 0) sersic
 1) 48. 49. 1 1
 3) 20.0 1
 4) 5.0 1
 5) 4.0 1
 8) 0.7 1
 9) 45.0 1
10) 0.0 0
"""


def test_galfit2_feedme_refused():
    with pytest.raises(gf.GalfitFormatError, match="GALFIT 2 numbering") as err:
        gf.parse_feedme(GALFIT2, "old.feedme")
    assert str(err.value).startswith("old.feedme: component 1 (sersic)")
    with pytest.raises(gf.GalfitFormatError, match="GALFIT 2 numbering"):
        gf.parse_feedme(GALFIT2.replace(" 9) 45.0 1\n10) 0.0 0\n", ""), "old.feedme")


def test_unknown_key_and_type_refused(tmp_path):
    base = "A) gal.fits\nH) 1 10 1 10\nJ) 25\n 0) sersic\n 1) 5 5 1 1\n 3) 20 1\n 4) 3 1\n 5) 1 1\n 9) 0.5 1\n10) 0 1\n"
    with pytest.raises(gf.GalfitFormatError, match="unknown control key 'Q'"):
        gf.parse_feedme("Q) 3\n" + base, "f")
    with pytest.raises(gf.GalfitFormatError, match="unknown parameter key 'X9'"):
        gf.parse_feedme(base + "X9) 1 1\n", "f")
    with pytest.raises(gf.GalfitFormatError, match="unknown component type 'blob'"):
        gf.parse_feedme(base + " 0) blob\n 1) 5 5 1 1\n", "f")
    with pytest.raises(gf.GalfitFormatError, match=r"row 4\).*missing value for RE"):
        gf.parse_feedme(base.replace(" 4) 3 1\n", ""), "f")
    with pytest.raises(gf.GalfitFormatError, match="not found"):
        gf.read_feedme(tmp_path / "absent.feedme")
    assert gf.parse_feedme(base, "f").components[0].type == "sersic"


def test_next_restart_name(tmp_path):
    assert gf.next_restart_name(tmp_path) == "galfit.01"
    (tmp_path / "galfit.01").write_text("")
    (tmp_path / "galfit.02").write_text("")
    assert gf.next_restart_name(tmp_path) == "galfit.03"
