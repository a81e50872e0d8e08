#!/usr/bin/python3
"""Independent reference for rp3beta (src/omni/recommend/rp3beta.cc), numpy only.

RP3beta (Paudel et al., ACM TiiS 2017), as in Dacrema et al.'s reference code
(RP3betaRecommender): P_ui = (x_ui / sum_j x_uj)^alpha, P_iu = (x_ui / sum_v
x_vi)^alpha, W = P_iu @ P_ui, each column j divided by pop_j^beta (pop_j =
customers of j), diagonal 0, each row cut to its top k; scores = X @ W.

Prints the golden W and the scores of customer 0 pasted into
recommend_test.cc (Rp3BetaTest.MatchesNumpyReference).
Usage: /usr/bin/python3 tests/reference/rp3beta_reference.py
"""
import numpy as np

# recommend_test.cc's Small(): 4 customers x 4 items, plus a weighted cell.
X = np.zeros((4, 4))
for u, i, v in [(0, 0, 1), (0, 1, 2), (1, 0, 1), (1, 1, 1), (1, 2, 1), (2, 2, 1), (2, 3, 1), (3, 1, 1), (3, 3, 1)]:
    X[u, i] = v
alpha, beta, k = 0.8, 0.5, 2
pui = (X / X.sum(axis=1, keepdims=True)) ** alpha
piu = (X / X.sum(axis=0, keepdims=True)).T ** alpha
W = piu @ pui
pop = (X > 0).sum(axis=0)
W = W / pop[None, :] ** beta
np.fill_diagonal(W, 0)
for i in range(W.shape[0]):
    order = sorted(range(W.shape[1]), key=lambda j: (-W[i, j], j))
    for j in order[k:]:
        W[i, j] = 0
np.set_printoptions(precision=9, suppress=True)
print("W =", repr(W))
print("scores(customer 0) =", repr(X[0] @ W))
