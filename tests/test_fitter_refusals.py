"""What the embedded fitter cannot do is refused before any image is read, in one line
naming the input file, the component and the row; nothing is silently dropped.

Every input file of the galfit305-renders set (every GALFIT 3 component type, hidden row,
truncation and E) option) is turned into a fit of a data image that does not exist: a
file the fitter supports then stops at the missing image, any other at the refusal.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fitter_renders import SET, _cases  # noqa: E402

from galfit_unc import galfit_files as gf  # noqa: E402
from galfit_unc.fitter import cli  # noqa: E402

_REFUSAL = re.compile(
    r"^galfit-embedded: (?P<file>\S+): (?:component (?P<number>\d+) \((?P<type>\w+)\): "
    r"(?:hidden row (?P<row>\w+)\)|(?P<what>component type|surface-brightness variant of the type|C0\) boxiness on this type))"
    r"|E\) PSF fine sampling (?P<fine>\d+)): not supported by the embedded fitter; use engine galfit"
)


@pytest.mark.parametrize("case", _cases())
def test_refused_before_reading_images_or_run(shared, tmp_path, monkeypatch, capsys, case):
    text = (shared(SET) / "renders" / case / "galfit.feedme").read_text()
    text = text.replace("A) none", "A) gone.fits").replace("P) 1", "P) 0")
    (tmp_path / "galfit.feedme").write_text(text)
    monkeypatch.chdir(tmp_path)
    status = cli.main(["galfit.feedme"])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1, err
    if "A) input image: file not found" in err:
        return  # supported: the fit went on to read the data
    m = _REFUSAL.match(err)
    assert m, err
    assert Path(m["file"]).name == "galfit.feedme"
    fm = gf.parse_feedme(text)
    if m["fine"]:
        assert int(m["fine"]) == fm.finesample != 1
        return
    comp = fm.components[int(m["number"]) - 1]
    assert comp.type == m["type"]
    if m["row"]:
        assert m["row"] in comp.rows  # the row named is the component's own
    assert not list(tmp_path.glob("*.fits")) and not (tmp_path / "fit.log").exists()


def test_every_row_key_is_either_rendered_or_refused():
    """Each hidden-row family GALFIT 3 reads, on a Sersic, is refused by name unless supported."""
    from galfit_unc.fitter.render import ModelRenderer

    base = " 0) sersic\n 1) 10 10 1 1\n 3) 20 1\n 4) 3 1\n 5) 1 1\n 9) 0.8 1\n10) 0 1\n"
    extra = {"C0": "C0) 0.1 1", "F1": "F1) 0.1 10 1 1", "F7": "F7) 0.1 10 1 1", "B2": "B2) 0.1 1",
             "R0": "R0) powerlaw", "To": "To) 2", "Ti": "Ti) 2", "T0": "T0) radial"}
    for key, row in extra.items():
        comps = gf.parse_feedme(base + row + "\n").components
        try:
            renderer = ModelRenderer(comps, (1, 20, 1, 20), None, None, 25.0)
        except gf.GalfitFormatError as exc:
            assert f"hidden row {key})" in str(exc) and "\n" not in str(exc)
        else:
            # Supported: the row's parameters are in the fitted vector.
            assert any(name.startswith(key) for _, name in renderer.names), key
