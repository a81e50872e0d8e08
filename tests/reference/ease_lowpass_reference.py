#!/usr/bin/python3
"""Independent reference for EASE's low-pass term (src/omni/recommend/ease.cc,
low_pass_filter.cc), numpy only.

GF-CF's filter (Shen et al., CIKM 2021): R̃ = D_U^-1/2 X D_I^-1/2,
W = R̃ᵀR̃ + α · D_I^-1/2 V_k V_kᵀ D_I^1/2 with V_k the k leading eigenvectors
of R̃ᵀR̃ (numpy.linalg.eigh). EASE's B (with the session term, as
ease_session_reference.py) gets B + w · (‖B‖_F / ‖W‖_F) · W, both diagonals
zeroed first; scores = X·B.

The log is recommend_test.cc's SessionLog (EaseSessionTest) plus customer 5
holding items 1, 3 and 4, so the spectrum has a gap after k = 2.
Prints the filter's eigenvalues (the gap), W and the golden scores pasted into
recommend_test.cc (EaseLowPassTest).
Usage: /usr/bin/python3 tests/reference/ease_lowpass_reference.py
"""
import numpy as np

from ease_common import ease, interactions_and_session

# (customer, item, time in seconds)
LOG = [(0, 0, 0), (0, 1, 60), (0, 2, 86400),
       (1, 0, 0), (1, 1, 30), (1, 2, 200000),
       (2, 0, 0), (2, 2, 120), (2, 1, 500000),
       (3, 1, 0), (3, 2, 10), (3, 3, 100),
       (4, 0, 0), (4, 3, 50),
       (5, 1, 0), (5, 3, 40), (5, 4, 90)]
CUSTOMERS, ITEMS = 6, 5
LAMBDA, GAMMA, TAU = 0.5, 1.0, 600.0
WEIGHT, K, ALPHA = 0.5, 2, 3.0


def low_pass(x, k, alpha):
    du = x.sum(1)
    du[du == 0] = 1
    di = x.sum(0)
    di[di == 0] = 1
    rn = x / np.sqrt(du)[:, None] / np.sqrt(di)[None, :]
    g = rn.T @ rn
    vals, vecs = np.linalg.eigh(g)
    v = vecs[:, ::-1][:, :k]
    return g + alpha * (v / np.sqrt(di)[:, None]) @ (v.T * np.sqrt(di)[None, :]), vals[::-1]


x, session = interactions_and_session(LOG, CUSTOMERS, ITEMS, TAU)
b = ease(x.T @ x + GAMMA * session, LAMBDA)
w, spectrum = low_pass(x, K, ALPHA)
np.fill_diagonal(w, 0)
blended = b + WEIGHT * np.linalg.norm(b) / np.linalg.norm(w) * w
np.set_printoptions(precision=9, suppress=True)
print("eigenvalues (descending) =", repr(spectrum))
print("filter (diagonal zeroed) =", repr(w))
print("session scores =", repr(x @ b))
print("blended scores =", repr(x @ blended))
