#!/usr/bin/python3
"""Independent reference for omni's customer lifetime value models.

Fits BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy
way") and the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and
CLV") by maximum likelihood with scipy.optimize.minimize on the CDNOW fixture
that omni's unit tests read, and prints the parameters and a few per-customer
predictions. The golden values in src/omni/profile/clv_bgnbd_test.cc,
clv_gamma_gamma_test.cc and clv_test.cc were copied from this script's output.

Written from the papers' formulas, not from omni's C++ (and without the
lifetimes package, which Debian does not ship), so that the two agree only if
both are right.

Run with Debian's interpreter (python3-scipy, python3-pandas):
    /usr/bin/python3 tests/reference/cdnow_reference.py
"""

import os
import sys

import numpy as np
import pandas as pd
from scipy import optimize, special

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "src", "omni", "profile", "testdata",
                       "cdnow_summary.csv")

# Customers (1-based CDNOW sample IDs = fixture row numbers) whose predictions
# the C++ golden tests check: a mix of no repeats, early and late last
# purchases, and the heaviest buyer.
NAMED_IDS = [1, 2, 3, 6, 18, 148, 157, 1516, 1901, 2356]
HORIZON_WEEKS = 39.0
WEEKS_PER_MONTH = 4.345  # lifetimes' factor for freq="W"


def bgnbd_loglik(params, x, t_x, T):
    """Per-customer BG/NBD log-likelihood, FHL (2005) eq. 6, in log space."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = (special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b)
          - special.gammaln(a + b + x))
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(
        x > 0,
        np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
        - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def gamma_gamma_loglik(params, x, m):
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m of x
    transactions (Colombo & Jiang 1999; FHL 2005 "RFM and CLV", appendix)."""
    p, q, v = params
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
            + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
            - (px + q) * np.log(x * m + v))


def fit(negll, n_params):
    """Minimises over log-parameters: Nelder-Mead from several starts, then a
    BFGS polish from the best; returns the natural-scale parameters."""
    best = None
    for start in ([0.0] * n_params, [-1.0] * n_params, [1.0] * n_params):
        res = optimize.minimize(negll, np.array(start), method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-12,
                                         "maxiter": 200000, "maxfev": 200000})
        if best is None or res.fun < best.fun:
            best = res
    polished = optimize.minimize(negll, best.x, method="BFGS",
                                 options={"gtol": 1e-10})
    if polished.fun < best.fun:
        best = polished
    return np.exp(best.x), -best.fun


def bgnbd_expected_purchases(params, t, x, t_x, T):
    """E[Y(t) | x, t_x, T], FHL (2005) eq. 10."""
    r, alpha, a, b = params
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    num = ((a + b + x - 1) / (a - 1)
           * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp))
    den = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return num / den


def bgnbd_probability_alive(params, x, t_x, T):
    """P(alive | x, t_x, T), FHL (2005) eq. 12 / Fader-Hardie note on P(alive)."""
    r, alpha, a, b = params
    if x == 0:
        return 1.0
    return 1.0 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def bgnbd_unconditional(params, t):
    """E[X(t)], FHL (2005) eq. 9."""
    r, alpha, a, b = params
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def gamma_gamma_expected_spend(params, x, m):
    """E[M | x, m_x] = p (v + x m) / (p x + q - 1) (FHL "RFM and CLV", eq. 5)."""
    p, q, v = params
    return p * (v + x * m) / (p * x + q - 1)


def clv(bg, gg, x, t_x, T, m, months=12, discount=0.01,
        units_per_month=WEEKS_PER_MONTH):
    """lifetimes' customer_lifetime_value: sum over months i = 1..H of the
    purchases expected in month i times the expected spend, discounted by
    (1 + d)^i."""
    spend = gamma_gamma_expected_spend(gg, x, m)
    total = 0.0
    for i in range(1, months + 1):
        purchases = (bgnbd_expected_purchases(bg, i * units_per_month, x, t_x, T)
                     - bgnbd_expected_purchases(bg, (i - 1) * units_per_month,
                                                x, t_x, T))
        total += spend * purchases / (1 + discount) ** i
    return total


def main():
    df = pd.read_csv(FIXTURE)
    x = df["x"].to_numpy(float)
    t_x = df["t_x"].to_numpy(float)
    T = df["T"].to_numpy(float)
    m = df["monetary"].to_numpy(float)
    n = len(df)

    bg, bg_ll = fit(lambda lp: -bgnbd_loglik(np.exp(lp), x, t_x, T).sum() / n, 4)
    bg_ll *= n
    print(f"customers {n}")
    print("BG/NBD r %.6f alpha %.6f a %.6f b %.6f loglik %.4f" % (*bg, bg_ll))
    print("E[X(%g)] unconditional %.10g" % (HORIZON_WEEKS,
                                           bgnbd_unconditional(bg, HORIZON_WEEKS)))

    rep = x > 0
    gg, gg_ll = fit(lambda lp: -gamma_gamma_loglik(np.exp(lp), x[rep], m[rep]).sum()
                    / rep.sum(), 3)
    gg_ll *= rep.sum()
    print(f"repeat customers {int(rep.sum())}")
    print("Gamma-Gamma p %.6f q %.6f v %.6f loglik %.4f" % (*gg, gg_ll))

    # Full precision, so the C++ tests can evaluate at exactly these params.
    print("bg_params = {%.17g, %.17g, %.17g, %.17g}" % tuple(bg))
    print("gg_params = {%.17g, %.17g, %.17g}" % tuple(gg))
    print("id, x, t_x, T, m, E[Y(39)], P(alive), E[M], CLV(12 months, 1%)")
    for cid in NAMED_IDS:
        i = cid - 1
        ey = bgnbd_expected_purchases(bg, HORIZON_WEEKS, x[i], t_x[i], T[i])
        pa = bgnbd_probability_alive(bg, x[i], t_x[i], T[i])
        em = gamma_gamma_expected_spend(gg, x[i], m[i])
        value = clv(bg, gg, x[i], t_x[i], T[i], m[i])
        print("{%d, %g, %g, %g, %g, %.10g, %.10g, %.10g, %.10g}," %
              (cid, x[i], t_x[i], T[i], m[i], ey, pa, em, value))

    # Fader & Hardie's BG/NBD Excel note: the customer with x=2, t_x=30.43,
    # T=38.86 (ID 1) is expected to make 1.226 purchases in the next 39 weeks.
    published = bgnbd_expected_purchases(bg, 39.0, 2, 30.43, 38.86)
    print("x=2 t_x=30.43 T=38.86: E[Y(39)] %.6f (published 1.226)" % published)
    return 0


if __name__ == "__main__":
    sys.exit(main())
