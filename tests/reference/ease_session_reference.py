#!/usr/bin/python3
"""Independent reference for EASE's session term (src/omni/recommend/ease.cc), numpy only.

G = XᵀX + γ · Σ_customers D_u K_u D_u + λI, with K_u[i, j] = exp(-|t_i - t_j| / τ)
over the customer's items (t: the item's newest event time, seconds here) and
D_u = diag(x_u); P = G⁻¹, B = -P / diag(P) column-wise, diag(B) = 0; scores = X·B.

The hand-built log (recommend_test.cc, EaseSessionTest): items 1 and 2 are
interchangeable in XᵀX (same popularity, same co-occurrence with 0 and 3),
but customers 0 and 1 take up 0 and 1 within a minute while only customer 2
takes up 0 and 2 together, so for a customer holding item 0 the session term
must rank 1 above 2 while plain EASE ties them.
Prints the golden scores pasted into recommend_test.cc.
Usage: /usr/bin/python3 tests/reference/ease_session_reference.py
"""
import numpy as np

from ease_common import ease, interactions_and_session

# (customer, item, time in seconds)
LOG = [(0, 0, 0), (0, 1, 60), (0, 2, 86400),
       (1, 0, 0), (1, 1, 30), (1, 2, 200000),
       (2, 0, 0), (2, 2, 120), (2, 1, 500000),
       (3, 1, 0), (3, 2, 10), (3, 3, 100),
       (4, 0, 0), (4, 3, 50)]
CUSTOMERS, ITEMS = 5, 4
LAMBDA, GAMMA, TAU = 0.5, 1.0, 600.0


x, session = interactions_and_session(LOG, CUSTOMERS, ITEMS, TAU)
plain = x @ ease(x.T @ x, LAMBDA)
timed = x @ ease(x.T @ x + GAMMA * session, LAMBDA)
np.set_printoptions(precision=9, suppress=True)
print("plain scores =", repr(plain))
print("session scores =", repr(timed))
