#!/usr/bin/python3
"""scikit-learn beside omni on the same feature table and the same split.

    /usr/bin/python3 bench/propensity_reference.py --features F.csv --split SPLIT.csv [--threads N]

SPLIT.csv is what `omni propensity train --write-split SPLIT.csv` wrote (row,part
with part = train / validation / test), so both sides see the same rows.
scikit-learn fits on train + validation together (it has no use for omni's
validation part: HistGradientBoosting carves its own early-stopping set out of
what it is given), and every model is measured on the test rows, as omni's are.
With --repeat N each model is fitted N times and the fastest fit is reported
(the fits are deterministic). Prints one JSON object: {"models": [{"model", "auc", "pr_auc", "log_loss",
"brier", "lift_top_decile", "fit_seconds", "fit_cpu_seconds"}, ...]}; fit_cpu_seconds is
time.process_time(), the CPU time of every thread of the process (OpenMP's
included), the same measure as omni's fit_cpu_seconds (std::clock).
Models: LogisticRegression (C=1, standardised, mean-imputed),
DecisionTreeClassifier (max_depth=6, min_samples_leaf=50, as omni's tree),
RandomForestClassifier (300 trees, min_samples_leaf=5), HistGradientBoostingClassifier
(defaults: early stopping on a 10% split when > 10,000 rows), and
HistGradientBoostingClassifier again held to one OpenMP thread (threadpoolctl).
"""
import argparse
import json
from contextlib import nullcontext
import math
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits


def lift_top_decile(y, p):
    order = np.argsort(-p, kind="stable")
    top = math.ceil(len(y) / 10)
    return y[order[:top]].mean() / y.mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--threads", type=int, default=-1)
    ap.add_argument("--repeat", type=int, default=1, help="fit each model this many times; report the fastest")
    a = ap.parse_args()
    df = pd.read_csv(a.features)
    split = pd.read_csv(a.split)
    if len(split) != len(df):
        sys.exit(f"{a.split} has {len(split)} rows, {a.features} {len(df)}")
    features = [c for c in df.columns if c not in ("customer_key", "cutoff", "label")]
    X = df[features].to_numpy(dtype=np.float64)
    y = df["label"].to_numpy(dtype=np.int64)
    fit_rows = split["part"].isin(["train", "validation"]).to_numpy()
    test_rows = (split["part"] == "test").to_numpy()
    models = [
        ("LogisticRegression", make_pipeline(SimpleImputer(), StandardScaler(),
                                             LogisticRegression(C=1.0, max_iter=1000))),
        ("DecisionTreeClassifier", make_pipeline(SimpleImputer(),
                                                 DecisionTreeClassifier(max_depth=6, min_samples_leaf=50,
                                                                        random_state=0))),
        ("RandomForestClassifier", make_pipeline(SimpleImputer(),
                                                 RandomForestClassifier(n_estimators=300, min_samples_leaf=5,
                                                                        n_jobs=a.threads, random_state=0))),
        ("HistGradientBoostingClassifier", HistGradientBoostingClassifier(random_state=0)),
        # The same model held to one OpenMP thread: on a shared machine two
        # spinning OpenMP threads can cost far more wall and CPU time than
        # one. Shown beside the default, not instead of it.
        ("HistGradientBoostingClassifier (1 thread)", HistGradientBoostingClassifier(random_state=0)),
    ]
    out = []
    for name, model in models:
        fit_s = cpu_s = float("inf")
        one_thread = "(1 thread)" in name
        with threadpool_limits(limits=1, user_api="openmp") if one_thread else nullcontext():
            for _ in range(a.repeat):  # the machine may be shared: keep the fastest fit
                t0, c0 = time.perf_counter(), time.process_time()
                model.fit(X[fit_rows], y[fit_rows])
                fit_s = min(fit_s, time.perf_counter() - t0)
                cpu_s = min(cpu_s, time.process_time() - c0)
        p = model.predict_proba(X[test_rows])[:, 1]
        yt = y[test_rows]
        out.append({"model": name, "auc": roc_auc_score(yt, p), "pr_auc": average_precision_score(yt, p),
                    "log_loss": log_loss(yt, p), "brier": brier_score_loss(yt, p),
                    "lift_top_decile": lift_top_decile(yt, p), "fit_seconds": fit_s,
                    "fit_cpu_seconds": cpu_s})
    print(json.dumps({"features": a.features, "fit_rows": int(fit_rows.sum()), "test_rows": int(test_rows.sum()),
                      "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""), "models": out}))


if __name__ == "__main__":
    main()
