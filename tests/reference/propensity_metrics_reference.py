#!/usr/bin/python3
"""Golden values for src/omni/predict/propensity_test.cc, from scikit-learn.

    /usr/bin/python3 tests/reference/propensity_metrics_reference.py

The fixtures are literal below and pasted identically into the C++ test.
Debian 12: python3-sklearn 1.2.1, numpy 1.24.
"""
import math

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, brier_score_loss, log_loss, roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import StandardScaler

# 20 customers: label and score, with ties (0.3 x3, 0.7 x2, 0.1 x2) across classes.
Y = np.array([0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0])
P = np.array([0.05, 0.1, 0.3, 0.3, 0.7, 0.2, 0.1, 0.9, 0.3, 0.45, 0.7, 0.55, 0.15, 0.02, 0.6, 0.35, 0.25, 0.08,
              0.85, 0.5])

print(f"roc_auc {roc_auc_score(Y, P)!r}")
print(f"average_precision {average_precision_score(Y, P)!r}")
print(f"log_loss {log_loss(Y, P)!r}")
print(f"brier {brier_score_loss(Y, P)!r}")
print(f"accuracy@0.5 {accuracy_score(Y, P >= 0.5)!r}")
order = np.argsort(-P, kind="stable")
top = math.ceil(len(Y) / 10)
print(f"lift_top_decile {Y[order[:top]].mean() / Y.mean()!r}")
prob_true, prob_pred = calibration_curve(Y, P, n_bins=10, strategy="uniform")
print("reliability observed", list(prob_true))
print("reliability predicted", list(prob_pred))

# Isotonic calibration at a few points (sklearn interpolates linearly between knots).
iso = IsotonicRegression(out_of_bounds="clip").fit(P, Y)
Q = np.array([0.0, 0.12, 0.3, 0.4, 0.58, 0.65, 0.8, 1.0])
print("isotonic", list(iso.predict(Q)))
# Platt: an unpenalised logistic regression on logit(p).
z = np.log(P / (1 - P)).reshape(-1, 1)
platt = LogisticRegression(penalty=None, tol=1e-12, max_iter=10000).fit(z, Y)
print(f"platt a {platt.coef_[0][0]!r} b {platt.intercept_[0]!r}")

# Logistic regression, L2 with C = 1/l2 on standardised features (l2 = 1).
X = np.array([[1.0, 200.0, 0.0], [2.0, 150.0, 1.0], [3.0, 400.0, 0.0], [4.0, 90.0, 1.0], [5.0, 310.0, 1.0],
              [6.0, 120.0, 0.0], [7.0, 500.0, 1.0], [8.0, 60.0, 0.0], [9.0, 260.0, 1.0], [10.0, 80.0, 0.0],
              [11.0, 330.0, 0.0], [12.0, 45.0, 1.0]])
YX = np.array([0, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0])
Z = StandardScaler().fit_transform(X)
lr = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(Z, YX)
print("logistic coef", list(lr.coef_[0]), "intercept", lr.intercept_[0])
print("logistic proba", list(lr.predict_proba(Z)[:, 1]))
nb = GaussianNB().fit(X, YX)
print("naive_bayes proba", list(nb.predict_proba(X)[:, 1]))
