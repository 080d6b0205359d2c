"""The fitter's analytic Jacobian against central differences of its own model."""

import numpy as np


def assert_jacobian_matches(renderer, step, rtol):
    """Every column of ``renderer``'s Jacobian at ``theta0`` against central differences.

    ``step(key, value)`` gives the difference step of a parameter (well above the
    single-precision noise of the rendered model); a column passes when its largest
    deviation is within ``rtol`` of the numerical derivative's largest value.
    """
    theta = renderer.theta0
    _, jac = renderer.model_and_jacobian(theta, np.ones(len(theta), dtype=bool))
    for j, (_, key) in enumerate(renderer.names):
        h = step(key, theta[j])
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        num = (renderer.model(up) - renderer.model(down)) / (2 * h)
        assert np.abs(jac[j] - num).max() <= rtol * np.abs(num).max(), key
