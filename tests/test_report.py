"""`snakemake --report`: one self-contained HTML file with every target's sky-window map,
magnitude histograms and tables, their captions, and the rule graph."""

import base64
import re

import pytest

from standins.harness import DECALS, REPO, engine, write_config
from standins.harness import snakemake as run_snakemake

ROWS = [("cool", "z"), ("twin", "z")]
SMALL = {"windows": {"max_windows": 2, "min_windows": 2}, "stats": {"min_ok_windows": 2}}
RULES = ("mask", "windows", "galaxy", "batch", "tables", "plot_sky_windows", "plot_magnitudes", "summary")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A complete run of two targets, then its report: (working directory, HTML text)."""
    from conftest import shared_path

    work = tmp_path_factory.mktemp("report")
    files = [str(shared_path("decals-coolj0112", name)) for name in DECALS.values()]
    lines = ["\t".join(["target", "band", *DECALS])] + ["\t".join([t, b, *files]) for t, b in ROWS]
    (work / "targets.tsv").write_text("\n".join(lines) + "\n")
    write_config(work, {**SMALL, "targets": "targets.tsv", "fitter": {"engine": "galfit", "galfit": engine(work, "galfit_like")}})
    for args in ((), ("--report", "report.html")):
        run = run_snakemake(work, *args)
        assert run.returncode == 0, run.stderr[-3000:]
    return work, (work / "report.html").read_text()


def embedded(html, path):
    """Whether the file's bytes are in the HTML (reports embed files base64-encoded)."""
    return base64.b64encode(path.read_bytes()).decode() in html


def test_report_embeds_every_target(report):
    work, html = report
    for target, band in ROWS:
        out = work / "results" / target / band
        for name in ("sky_windows.png", "magnitudes.png", "uncertainties.tsv", "magnitudes.tsv"):
            assert embedded(html, out / name), (target, band, name)
        assert f"Sky windows of target <strong>{target}</strong>, band <strong>{band}</strong>" in html
    assert embedded(html, work / "results" / "summary.tsv")
    assert (REPO / "report" / "summary.rst").read_text().split()[0] in html


def test_report_is_self_contained_with_rule_graph(report):
    _, html = report
    assert not re.search(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", html)
    spec = html[html.index("var rulegraph_spec") :]
    spec = spec[: spec.index("</script>")]
    assert set(RULES) <= set(re.findall(r'"rule": "(\w+)"', spec))
