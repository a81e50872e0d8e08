// The JSON of recommended items, one shape for every place that prints them:
// `omni recommend --format json`, GET /v1/customers/{id}/recommendations and
// the demo report.
#pragma once

#include <vector>

#include "omni/common/json_writer.h"
#include "omni/recommend/serving.h"

namespace omni::recommend {

// Writes `"items": [{item_id, title, category, score, reason, because[],
// explanation}, ...]` into the object `w` is inside.
void WriteRecommendedItemsJson(JsonWriter& w, const std::vector<RecommendedItem>& items);

}  // namespace omni::recommend
