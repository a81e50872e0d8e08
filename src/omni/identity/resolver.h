// The resolution run behind Resolve() and Split() (identity.h): loads the
// recorded graph, reads new events, recomputes the partition and writes the
// difference. Internal to the module: Resolve() and Split() drive it, and
// tests use it to stage two runs that race.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/identity/identity.h"
#include "omni/identity/partition.h"
#include "omni/identity/tables.h"

namespace omni::identity::internal {

// The totals stored with a partition (identity_state.totals) as text, and
// back; DecodeTotals returns false (leaving `stats` alone) when malformed.
std::string EncodeTotals(const ResolveStats& stats);
bool DecodeTotals(std::string_view text, ResolveStats& stats);

class Resolution {
 public:
  Resolution(store::Store& store, store::Sql& sql, const IdentityConfig& config);

  // Reads the identity tables into memory.
  Status Load();
  // Adds the identifiers and links of events after the watermark.
  Status ScanNewEvents();
  // Node index of a stored identifier, or -1.
  int32_t Find(const ingest::Identity& identity) const;
  void SetBlocked(int32_t node, bool blocked) { graph_.blocked[static_cast<size_t>(node)] = blocked ? 1 : 0; }
  // Recomputes the partition and writes what changed in one transaction.
  // Unavailable with kConcurrentMessage when another run wrote in between.
  StatusOr<ResolveStats> Commit();

  // After Commit(): the customer key of a node ("" for none), its identity,
  // and the key it had before this run.
  std::string KeyOf(int32_t node) const;
  std::string StoredKeyOf(int32_t node) const;
  int64_t CustomerNumber(int32_t node) const;  // 0 = none
  int64_t StoredCustomerNumber(int32_t node) const { return stored_customer_[static_cast<size_t>(node)]; }
  ingest::Identity IdentityOf(int32_t node) const;
  int32_t size() const { return graph_.size(); }

  static constexpr std::string_view kConcurrentMessage =
      "identity: another resolution wrote while this one ran";

 private:
  int32_t Intern(IdentityType type, std::string_view value, int64_t seq);
  void AddLink(int32_t a, int32_t b, int64_t seq, const std::string& event_id);
  bool IsLiveKey(int64_t number) const;
  // After a commit: the directory file for the state written (a warning
  // when it cannot be written).
  void PublishDirectory(const IdentityState& written,
                        const absl::flat_hash_map<std::string, std::string>& aliases) const;

  store::Store& store_;
  store::Sql& sql_;
  const IdentityConfig& config_;
  IdentityState state_;
  int64_t events_read_ = 0;
  double start_ = 0;

  // Per node (index order = id order).
  Graph graph_;
  std::vector<int64_t> id_;
  std::vector<int64_t> first_seq_;
  std::vector<int64_t> stored_customer_;  // key number before this run; 0 = none or new
  std::vector<uint8_t> stored_shared_;
  std::vector<uint8_t> stored_blocked_;
  int32_t stored_nodes_ = 0;  // nodes [0, stored_nodes_) were loaded; the rest are new
  absl::flat_hash_map<int32_t, std::string> stored_reason_;
  std::deque<std::string> values_;  // stable addresses for index_'s keys
  std::array<absl::flat_hash_map<std::string_view, int32_t>, kIdentityTypeCount> index_;
  std::vector<int32_t> node_of_id_;  // id -> node, -1 when erased
  std::array<int, kIdentityTypeCount> rank_{};

  // Per link (graph_.links).
  std::vector<int64_t> stored_events_;  // -1 = new
  absl::flat_hash_map<uint64_t, int32_t> link_index_;
  struct FirstEvent {
    int64_t seq;
    std::string event_id;
  };
  std::vector<FirstEvent> first_event_;  // for links [stored_links_, ...)
  size_t stored_links_ = 0;

  struct StoredRefusal {
    int64_t a, b, holder_a, holder_b;
    bool operator==(const StoredRefusal&) const = default;
  };
  std::vector<StoredRefusal> stored_refusals_;
  absl::flat_hash_map<std::string, std::string> stored_aliases_;

  Partition partition_;
  bool committed_ = false;
};

}  // namespace omni::identity::internal
