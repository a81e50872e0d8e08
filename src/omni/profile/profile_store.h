// Where profiles live: the `profiles` table (one row per customer key;
// scalar fields in their own columns so SQL and the dashboard can filter and
// sort on them, the maps and lists in a binary `detail` column,
// profile_detail.h, whose names live in `profile_names`) and the
// `profile_builds` table (when, as of when, with which CLV parameters).
// Tables of the "profile" module, in the store's database through store::Sql.
//
// A build replaces the previous one in one transaction: a reader sees either
// the old profiles or the new ones, never a mix, and a failed build leaves the
// old ones in place.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/profile/profile.h"
#include "omni/store/sql.h"

namespace omni::profile {

// What a profile build recorded about itself.
struct ProfileBuildInfo {
  int64_t id = 0;
  int64_t as_of_ms = 0;
  int64_t built_at_ms = 0;
  int64_t customers = 0;
  int64_t buyers = 0;
  int64_t events_used = 0;
  int64_t last_seq = 0;  // the newest event sequence number the build read
  std::string clv_json;  // {"r":..,"alpha":..,...} or {} when CLV was not fitted
  // Names the profiles will refer to (ProfileBuilder::Names), numbered in
  // this order before any profile is encoded, so ids do not depend on which
  // encoding thread meets a name first. Names not listed are numbered when
  // met. Not stored.
  std::vector<std::string> names;
};

// Creates / upgrades the profile module's tables (profiles, profile_builds,
// segments). Every opener calls it; it is cheap when up to date.
Status MigrateProfileTables(store::Sql& sql);

class ProfileStore {
 public:
  // Opens DATA_DIR's database (store::OpenSqliteSql) and migrates.
  static StatusOr<std::unique_ptr<ProfileStore>> Open(const std::string& data_dir);
  // Over an existing connection (tests); migrates.
  static StatusOr<std::unique_ptr<ProfileStore>> Over(std::unique_ptr<store::Sql> sql);

  // Replaces every profile in one transaction: `produce` is called once, on
  // a second thread (profiles are encoded there while this thread inserts),
  // and hands each profile to the writer it receives. A non-OK status from
  // `produce` or a failed insert rolls everything back. Records `info` (its
  // id and built_at are filled in) and returns the build id.
  using ProfileWriter = std::function<Status(const Profile&)>;
  StatusOr<int64_t> ReplaceProfiles(ProfileBuildInfo info,
                                    const std::function<Status(const ProfileWriter&)>& produce);
  // The same, with the profiles produced in `chunks` parts on `threads`
  // threads beside the inserting one: `produce_chunk(i, write)` writes part
  // i's profiles, and part i is stored before part i + 1, so the table fills
  // in the order a single producer would have written. At most `threads`
  // parts are open at once, each holding a few hundred encoded rows, so memory
  // does not grow with the number of profiles. `produce_chunk` must be safe
  // to call from several threads at once (for different parts).
  using ChunkProducer = std::function<Status(int64_t chunk, const ProfileWriter&)>;
  StatusOr<int64_t> ReplaceProfiles(ProfileBuildInfo info, int64_t chunks, int threads,
                                    const ChunkProducer& produce_chunk);

  // The customer's profile from the latest build; nullopt when none.
  StatusOr<std::optional<Profile>> GetProfile(std::string_view customer_key);
  // Every profile, in customer-key order; `fn` returns false to stop.
  Status ScanProfiles(const std::function<bool(const Profile&)>& fn);
  StatusOr<int64_t> CountProfiles();
  // nullopt before the first build.
  StatusOr<std::optional<ProfileBuildInfo>> LatestBuild();

  store::Sql& sql() { return *sql_; }

 private:
  explicit ProfileStore(std::unique_ptr<store::Sql> sql) : sql_(std::move(sql)) {}
  // A profiles row (every column of kColumns) into `p`.
  Status ReadProfile(const store::SqlRow& r, Profile& p);
  // (Re)reads profile_names: details name channels, categories and brands by id.
  Status LoadNames();

  std::unique_ptr<store::Sql> sql_;
  std::vector<std::string> names_;  // profile_names: id -> name, loaded when a detail needs one
};

}  // namespace omni::profile
