// How many customers are in each saved segment (segments_store.h): the
// segment's expression evaluated against every profile of the latest build.
// Membership is never stored, so a size is never stale. `omni segments
// list|create`, GET /v1/segments and the dashboard's RFM page all size
// segments here; each applies k-anonymity (k_anonymity.h) to what it shows.
#pragma once

#include <cstdint>
#include <vector>

#include "omni/common/status.h"
#include "omni/profile/profile_fields.h"
#include "omni/profile/profile_store.h"
#include "omni/profile/segment_expression.h"

namespace omni::profile {

struct SegmentSizes {
  std::vector<int64_t> sizes;  // per expression, in the order given; 0 for a null expression
  int64_t profiles = 0;        // profiles scanned (the build's customers)
};

// Sizes every expression in one pass over the profiles. `fields` must be the
// catalogue the expressions were parsed against. A null expression (a stored
// segment that no longer parses) is skipped and sized 0.
StatusOr<SegmentSizes> SizeSegments(ProfileStore& profiles, const ProfileFields& fields,
                                    const std::vector<const SegmentExpression*>& expressions);

}  // namespace omni::profile
