// The feature table built from the store, for commands that train on it
// directly (`omni propensity train --cutoff ... --horizon ...`).
#pragma once

#include <string>

#include "omni/cli/context.h"
#include "omni/common/status.h"
#include "omni/predict/feature_table.h"

namespace omni::cli {

// `cutoffs`: one date or several separated by commas (as `features build
// --cutoff`); `horizon`: 90d, 12w, 48h. Default feature options.
StatusOr<predict::FeatureTable> BuildFeaturesFromStore(const Context& ctx, const std::string& cutoffs,
                                                       const std::string& horizon);

}  // namespace omni::cli
