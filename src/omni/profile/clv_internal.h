// Shared by the CLV model files (clv.cc, clv_bgnbd.cc, clv_gamma_gamma.cc);
// not part of the profile module's interface.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/profile/clv.h"

namespace omni::profile::clv_internal {

// Log-parameters are kept in [-kLogParamBound, kLogParamBound]: wide enough
// for any real customer base, narrow enough that lgamma and exp stay finite,
// so the optimiser never sees inf or NaN.
inline constexpr double kLogParamBound = 20.0;

// A minimisation objective over log-parameters: returns the value and, when
// `grad` is non-null, writes d value / d log-parameter into it.
using LogObjective = std::function<double(const double* log_params, double* grad)>;

struct MinimiseResult {
  std::vector<double> log_params;
  double value = 0.0;
  int evaluations = 0;
  bool converged = false;
  double gradient_norm = 0.0;
  std::string outcome;
};

// L-BFGS (NLopt's LD_LBFGS, analytic gradients) from each start; keeps the
// lowest value. The starts are in log-parameters and are clamped to the
// bounds.
MinimiseResult MinimiseOverLogParams(const LogObjective& objective,
                                     const std::vector<std::vector<double>>& starts,
                                     const FitOptions& options);

// E[Y(t) | x, T] of a customer known to be alive at T (FHL 2005, eq. 10
// without the P(alive) factor): BgNbdExpectedPurchases is this times
// BgNbdProbabilityAlive. Depends on t_x only through P(alive), which lets CLV
// share it across customers with equal (x, T). Parameters and customer are
// assumed valid.
double BgNbdExpectedPurchasesIfAlive(const BgNbdParams& params, double t, double x, double T);

// InvalidArgument for options no fit can use.
Status ValidateFitOptions(const FitOptions& options);

}  // namespace omni::profile::clv_internal
