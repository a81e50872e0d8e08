"""What the EASE reference scripts share (ease_session_reference.py,
ease_lowpass_reference.py): EASE's closed form and the session-weighted
co-occurrence of a hand-built (customer, item, seconds) log, numpy only."""
import numpy as np


def ease(g, lam):
    """B = -P / diag(P) column-wise with P = (G + λI)⁻¹, diag(B) = 0."""
    g = g + lam * np.eye(len(g))
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0)
    return b


def interactions_and_session(log, customers, items, tau):
    """X (customers × items, 0/1) and Σ_u D_u K_u D_u with
    K_u[i, j] = exp(-|t_i - t_j| / τ) over the customer's items."""
    x = np.zeros((customers, items))
    t = np.zeros((customers, items))
    for u, i, s in log:
        x[u, i] = 1
        t[u, i] = s
    session = np.zeros((items, items))
    for u in range(customers):
        idx = np.flatnonzero(x[u])
        kern = np.exp(-np.abs(t[u, idx][:, None] - t[u, idx][None, :]) / tau)
        session[np.ix_(idx, idx)] += x[u, idx][:, None] * x[u, idx][None, :] * kern
    return x, session
