"""False-alarm rate of the split warning on samples with a single solution.

Draws samples of re-fit values from single-peaked distributions (Gaussian, Student t with 3
and 2 degrees of freedom, log-normal with sigma 0.7) and counts how often
:func:`galfit_unc.statistics.split_statistic` exceeds :data:`galfit_unc.statistics.SPLIT_GAP`,
i.e. how often an object would be warned about although its re-fits form one solution.
The values are in units of the distribution's scale, so the floor plays no part (0).

Usage: ``python benchmarks/bench_split.py [--trials 4000] [--seed 1] [--sizes 8 12 20 35 50]``
"""

import argparse

import numpy as np

from galfit_unc.statistics import SPLIT_GAP, split_statistic

DRAWS = {
    "gaussian": lambda rng, n: rng.normal(size=n),
    "student-t3": lambda rng, n: rng.standard_t(3, size=n),
    "student-t2": lambda rng, n: rng.standard_t(2, size=n),
    "lognormal-0.7": lambda rng, n: rng.lognormal(0.0, 0.7, size=n),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 12, 20, 35, 50])
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print("distribution\t" + "\t".join(f"n={n}" for n in args.sizes))
    for name, draw in DRAWS.items():
        rates = [np.mean([split_statistic(draw(rng, n), 0.0) > SPLIT_GAP for _ in range(args.trials)]) for n in args.sizes]
        print(name + "\t" + "\t".join(f"{100 * r:.1f} %" for r in rates), flush=True)


if __name__ == "__main__":
    main()
