// `omni profiles build` as a step other commands reuse (omni demo): compute,
// then print as a table or write as JSON.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "omni/cli/context.h"
#include "omni/common/json_writer.h"
#include "omni/common/status.h"
#include "omni/profile/profile_builder.h"
#include "omni/profile/rfm.h"

namespace omni::cli {

struct BuildFlags {
  std::string as_of;          // RFC 3339 or YYYY-MM-DD; default: the newest event
  std::string export_events;  // CSV of every event used, with its customer (bench/profile_reference.py)
};

struct ProfileBuildOutcome {
  int64_t build_id = 0;
  int64_t as_of_ms = 0;
  profile::ProfileBuildStats stats;
  std::array<int64_t, profile::kRfmGroupCount> groups{};  // customers per RFM group
  int64_t min_group_size = 0;                              // k-anonymity for shown counts
  double resolve_s = 0, directory_s = 0, scan_s = 0, compute_s = 0, write_s = 0, total_s = 0;
};

// Resolves identities (incremental), builds every profile and replaces the
// profiles table in one transaction.
StatusOr<ProfileBuildOutcome> ComputeProfiles(const Context& ctx, const BuildFlags& flags);
void WriteProfileBuildJson(JsonWriter& w, const ProfileBuildOutcome& outcome);
void PrintProfileBuildTable(const ProfileBuildOutcome& outcome);

}  // namespace omni::cli
