#include "omni/profile/segment_sizing.h"

namespace omni::profile {

StatusOr<SegmentSizes> SizeSegments(ProfileStore& profiles, const ProfileFields& fields,
                                    const std::vector<const SegmentExpression*>& expressions) {
  SegmentSizes out;
  out.sizes.assign(expressions.size(), 0);
  ProfileFields::Row row(fields);
  OMNI_RETURN_IF_ERROR(profiles.ScanProfiles([&](const Profile& p) {
    row.Reset(&p);
    ++out.profiles;
    for (size_t i = 0; i < expressions.size(); ++i) {
      if (expressions[i] && expressions[i]->Matches(row)) ++out.sizes[i];
    }
    return true;
  }));
  return out;
}

}  // namespace omni::profile
