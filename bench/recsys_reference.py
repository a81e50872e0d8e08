#!/usr/bin/python3
"""Independent reference for `omni evaluate` on MovieLens (numpy/pandas only).

Reproduces the two split protocols and the ranking metrics with the published
libraries' rules, so omni's numbers can be cross-checked in the same run:

  msr-stratified  Microsoft Recommenders' python_stratified_split(ratio=0.75,
                  seed=42): per user, rows in file order, shuffled with
                  DataFrame.sample(frac=1, random_state=42) (a fresh
                  RandomState(42) per user), train = the first round(0.75 n)
                  rows (Python's round: half to even).
  recbole         ratings >= 3, iterative 10-core on users and items, per user
                  random 8:1:1 (RecBole's count rule: valid = test =
                  floor(0.1 n), train = the rest); model chosen on validation
                  NDCG@10, test reported with train+valid items excluded.

Models: popularity, the seed's dense cosine item-CF (r_u · S, S = cosine of
item columns), numpy EASE (Steck 2019), optionally with omni's session term
(--session-weight γ, --session-seconds τ: G += γ Σ_users exp(-|t_i - t_j| / τ)
over each user's training items, src/omni/recommend/ease.cc), and optionally with omni's low-pass
term (--lowpass-weight w --lowpass-k k --lowpass-alpha α: GF-CF's filter W = R̃ᵀR̃ + α D^-1/2 V_k V_kᵀ D^1/2,
R̃ the degree-normalised matrix, V_k the leading eigenvectors of R̃ᵀR̃; B + w ‖B‖/‖W‖ W, diagonals
zeroed, src/omni/recommend/low_pass_filter.cc). Metrics as Microsoft Recommenders'
ranking metrics with binary relevance: precision@k = hits / k, recall@k =
hits / |relevant|, ndcg@k with ideal DCG over min(k, |relevant|), map@k =
sum(precision at each hit rank) / min(k, |relevant|), averaged over test users.

Usage: /usr/bin/python3 bench/recsys_reference.py ../shared/data/ml-100k/u.data
           [--protocol msr-stratified|recbole] [--value binary|rating] [--lambda 400]
           [--session-weight 3.41 --session-seconds 110]
           [--lowpass-weight 0.7 --lowpass-k 64 --lowpass-alpha 10]
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd


def load(path):
    df = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "ts"])
    return df


def msr_stratified(df, ratio=0.75, seed=42):
    train_parts, test_parts = [], []
    for _, group in df.groupby("user", sort=False):
        shuffled = group.sample(frac=1, random_state=seed)
        cut = round(ratio * len(shuffled))
        train_parts.append(shuffled.iloc[:cut])
        test_parts.append(shuffled.iloc[cut:])
    return pd.concat(train_parts), None, pd.concat(test_parts)


def kcore(df, k=10):
    while True:
        n = len(df)
        uc = df["user"].map(df["user"].value_counts())
        ic = df["item"].map(df["item"].value_counts())
        df = df[(uc >= k) & (ic >= k)]
        if len(df) == n:
            return df


def recbole_split(df, seed=42):
    df = kcore(df[df["rating"] >= 3], 10)
    rng = np.random.RandomState(seed)
    df = df.iloc[rng.permutation(len(df))]
    tr, va, te = [], [], []
    for _, g in df.groupby("user", sort=False):
        n = len(g)
        nv = int(0.1 * n)
        nt = int(0.1 * n)
        ntr = n - nv - nt
        tr.append(g.iloc[:ntr])
        va.append(g.iloc[ntr:ntr + nv])
        te.append(g.iloc[ntr + nv:])
    return pd.concat(tr), pd.concat(va), pd.concat(te)


def matrix(part, users, items, value):
    x = np.zeros((len(users), len(items)), dtype=np.float64)
    u = part["user"].map(users).to_numpy()
    i = part["item"].map(items).to_numpy()
    v = np.ones(len(part)) if value == "binary" else part["rating"].to_numpy(dtype=np.float64)
    np.add.at(x, (u, i), v)
    return x


def session_term(part, users, items, x, tau):
    """Σ_users x_i x_j exp(-|t_i - t_j| / τ) over each user's items in `part` (ts in seconds)."""
    u = part["user"].map(users).to_numpy()
    i = part["item"].map(items).to_numpy()
    t = part["ts"].to_numpy(dtype=np.float64)
    order = np.argsort(u, kind="stable")
    u, i, t = u[order], i[order], t[order]
    bounds = np.flatnonzero(np.diff(u)) + 1
    g = np.zeros((len(items), len(items)))
    for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(u)]):
        ii = i[a:b]
        k = np.exp(-np.abs(t[a:b, None] - t[None, a:b]) / tau)
        w = x[u[a], ii]
        g[np.ix_(ii, ii)] += w[:, None] * w[None, :] * k
    return g


def low_pass(x, k, alpha):
    """GF-CF (Shen et al. 2021): R̃ᵀR̃ + α D_I^-1/2 V_k V_kᵀ D_I^1/2."""
    du = x.sum(1)
    du[du == 0] = 1
    di = x.sum(0)
    di[di == 0] = 1
    rn = x / np.sqrt(du)[:, None] / np.sqrt(di)[None, :]
    g = rn.T @ rn
    v = np.linalg.eigh(g)[1][:, ::-1][:, :k]
    return g + alpha * (v / np.sqrt(di)[:, None]) @ (v.T * np.sqrt(di)[None, :])


def ease(x, lam, extra=None, lowpass=None):
    g = x.T @ x
    if extra is not None:
        g = g + extra
    g[np.diag_indices_from(g)] += lam
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    b[np.diag_indices_from(b)] = 0
    if lowpass is not None:
        weight, k, alpha = lowpass
        w = low_pass(x, k, alpha)
        w[np.diag_indices_from(w)] = 0
        b = b + weight * np.linalg.norm(b) / np.linalg.norm(w) * w
    return x @ b


def dense_cosine(x):
    norm = np.linalg.norm(x, axis=0)
    norm[norm == 0] = 1
    s = (x.T @ x) / np.outer(norm, norm)
    return x @ s


def popularity(x):
    return np.tile((x > 0).sum(axis=0).astype(np.float64), (x.shape[0], 1))


def metrics(scores, exclude, truth, k=10):
    scores = scores.copy()
    scores[exclude > 0] = -np.inf
    p = r = n = m = 0.0
    users = 0
    for u in range(scores.shape[0]):
        rel = truth[u]
        if not rel:
            continue
        users += 1
        top = np.argsort(-scores[u], kind="stable")[:k]
        hits = [1.0 if i in rel else 0.0 for i in top]
        h = sum(hits)
        p += h / k
        r += h / len(rel)
        dcg = sum(hit / np.log2(rank + 2) for rank, hit in enumerate(hits))
        idcg = sum(1 / np.log2(rank + 2) for rank in range(min(k, len(rel))))
        n += dcg / idcg
        ap, cnt = 0.0, 0
        for rank, hit in enumerate(hits):
            if hit:
                cnt += 1
                ap += cnt / (rank + 1)
        m += ap / min(k, len(rel))
    return {"precision@%d" % k: p / users, "recall@%d" % k: r / users, "ndcg@%d" % k: n / users,
            "map@%d" % k: m / users, "customers": users}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ratings")
    ap.add_argument("--protocol", default="msr-stratified", choices=["msr-stratified", "recbole"])
    ap.add_argument("--value", default="binary", choices=["binary", "rating"])
    ap.add_argument("--lambda", dest="lam", type=float, default=400.0)
    ap.add_argument("--session-weight", type=float, default=0.0)
    ap.add_argument("--session-seconds", type=float, default=600.0)
    ap.add_argument("--lowpass-weight", type=float, default=0.0)
    ap.add_argument("--lowpass-k", type=int, default=64)
    ap.add_argument("--lowpass-alpha", type=float, default=10.0)
    ap.add_argument("-k", type=int, default=10)
    args = ap.parse_args()
    df = load(args.ratings)
    if args.protocol == "msr-stratified":
        train, valid, test = msr_stratified(df)
    else:
        train, valid, test = recbole_split(df)
    users = {u: i for i, u in enumerate(pd.unique(pd.concat([train, test])["user"]))}
    items = {v: i for i, v in enumerate(pd.unique(pd.concat([train, test] + ([valid] if valid is not None else []))["item"]))}
    x = matrix(train, users, items, args.value)
    seen = (x != 0).astype(np.float64)
    if valid is not None:
        seen = seen + matrix(valid, users, items, "binary")
    truth = [set() for _ in users]
    for u, i in zip(test["user"].map(users), test["item"].map(items)):
        truth[u].add(i)
    rows = []
    models = [("popularity", popularity), ("dense-cosine", dense_cosine),
              ("ease:lambda=%g" % args.lam, lambda m: ease(m, args.lam))]
    if args.session_weight > 0:
        # Each (user, item) has one rating in MovieLens: its time is the entry's time.
        models.append(("ease:lambda=%g,session_weight=%g,session_seconds=%g" % (
            args.lam, args.session_weight, args.session_seconds),
            lambda m: ease(m, args.lam, args.session_weight * session_term(
                train, users, items, m, args.session_seconds))))
    if args.lowpass_weight > 0:
        lp = (args.lowpass_weight, args.lowpass_k, args.lowpass_alpha)
        spec = "ease:lambda=%g" % args.lam
        if args.session_weight > 0:
            spec += ",session_weight=%g,session_seconds=%g" % (args.session_weight, args.session_seconds)
        spec += ",lowpass_weight=%g,lowpass_k=%d,lowpass_alpha=%g" % lp
        models.append((spec, lambda m: ease(m, args.lam, args.session_weight * session_term(
            train, users, items, m, args.session_seconds) if args.session_weight > 0 else None, lp)))
    for name, fn in models:
        t0 = time.time()
        scores = fn(x)
        fit = time.time() - t0
        res = metrics(scores, seen, truth, args.k)
        res["model"] = name
        res["seconds"] = round(fit, 3)
        rows.append(res)
        print("%-20s ndcg@%d %.4f  precision@%d %.4f  recall@%d %.4f  map@%d %.4f  (%.2f s)" % (
            name, args.k, res["ndcg@%d" % args.k], args.k, res["precision@%d" % args.k], args.k,
            res["recall@%d" % args.k], args.k, res["map@%d" % args.k], fit), file=sys.stderr)
    print(json.dumps({"protocol": args.protocol, "value": args.value, "rows": rows}))


if __name__ == "__main__":
    main()
