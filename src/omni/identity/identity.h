// One customer across channels (One-ID). Identifiers seen together in one
// event are linked; connected components are customers. Guards, as the best
// customer-data platforms have them:
//  - strong identifiers (customer_id, member_card, phone, email, social_id by
//    default) outrank weak ones (device_id, cookie_id): an event belongs to
//    the customer of its strongest usable identifier, and when links have to
//    be refused the strong ones are kept first;
//  - an identifier seen with more distinct values of one strong type than
//    IdentityConfig::max_distinct allows (a family tablet seen with three
//    customer_ids, a store kiosk tapped by hundreds of member cards, a phone
//    given for two member cards) is flagged shared: it links nothing and
//    belongs to no customer. Flagging undoes the merges it caused;
//  - two different customer_ids (IdentityConfig::exclusive) never end in one
//    customer: the weakest link on the path is refused and recorded;
//  - an identifier split off by hand (`omni customers split`) links nothing.
// Every link is recorded with the event that first made it and how many
// events support it, so a merge can be explained (explain.h) and undone.
//
// How a run works (resolver.cc): events after the watermark (the last
// processed events.seq) are read once; their identifiers and links are added
// to the recorded graph; then the partition is recomputed in memory from all
// recorded links — guards included — which takes a second at millions of
// links and makes the result independent of the order events arrived in
// (and makes guard changes in the configuration apply without re-reading
// events). Only what changed is written: new identifiers and links, support
// counts, and identifiers whose customer or flag changed, all in one
// transaction with the new watermark, so a crash re-processes, never
// double-counts. A run with no event after the watermark and the same
// configuration (IdentityConfig::Fingerprint) as the stored partition loads
// nothing: it answers from the totals stored with that partition.
//
// Customer keys are stable: a customer's key is "C" + the zero-padded
// first-seen number of its oldest identifier ("C000000123"). Re-running on
// the same data gives the same keys, a merge keeps the older customer's key
// (the newer key becomes an alias that still resolves), and a split-off part
// gets the key of its own oldest identifier.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/ingest/event.h"
#include "omni/store/sql.h"
#include "omni/store/store.h"

namespace omni::identity {

using ingest::IdentityType;
using ingest::kIdentityTypeCount;

struct IdentityConfig {
  // Identity types that are strong, in rank order (strongest first); the
  // rest are weak and rank after them in IdentityType order.
  std::vector<IdentityType> strong = {IdentityType::kCustomerId, IdentityType::kMemberCard,
                                      IdentityType::kPhone, IdentityType::kEmail, IdentityType::kSocialId};

  // max_distinct[x][t]: an identifier of type x seen (in some event) with
  // more than this many distinct identifiers of strong type t is shared.
  // 0 = t is not counted for x. Only strong t count.
  //
  // Defaults, and why: customer_id and member_card are issued one per person,
  // so any other identifier seen with two of them is used by two persons
  // (limit 1). A customer_id itself is never flagged — nothing outranks it,
  // and two customer_ids meeting is the exclusive guard's job. Phones,
  // e-mails and WeChat ids change over a life and a person may have two, so
  // among strong identifiers they are not counted (flagging a customer_id or
  // member card because its owner changed phone would cut the person in
  // two); weak identifiers may see two of them (one change) but not three.
  using Limits = std::array<std::array<int32_t, kIdentityTypeCount>, kIdentityTypeCount>;
  Limits max_distinct = DefaultMaxDistinct();

  // Types of which a customer holds at most one value: a link that would
  // bring two into one customer is refused.
  std::vector<IdentityType> exclusive = {IdentityType::kCustomerId};

  static Limits DefaultMaxDistinct();
  int32_t& Limit(IdentityType of, IdentityType with) {
    return max_distinct[static_cast<size_t>(of)][static_cast<size_t>(with)];
  }
  int32_t Limit(IdentityType of, IdentityType with) const {
    return max_distinct[static_cast<size_t>(of)][static_cast<size_t>(with)];
  }
  // 0 = strongest. Strong types by their place in `strong`, then weak types.
  int Rank(IdentityType type) const;
  bool IsStrong(IdentityType type) const;
  bool IsExclusive(IdentityType type) const;
  // InvalidArgument naming the problem (a type listed twice, a negative limit).
  Status Validate() const;
  // Every setting that shapes the partition, as text: two configurations
  // resolve alike exactly when their fingerprints are equal.
  std::string Fingerprint() const;
};

// The "identity" object of DATA_DIR/config.json (optional; keys override the
// defaults above, other top-level keys belong to other modules):
//   {"identity": {"strong": ["customer_id", "member_card", "phone", "email", "social_id"],
//                 "exclusive": ["customer_id"],
//                 "max_distinct": {"device_id": {"customer_id": 1, "phone": 3},
//                                  "phone": {"member_card": 0}}}}
// max_distinct entries override single cells of the default table.
StatusOr<IdentityConfig> LoadIdentityConfig(const std::string& data_dir);
StatusOr<IdentityConfig> ParseIdentityConfig(std::string_view json, std::string_view origin);

struct ResolveStats {
  int64_t events_read = 0;  // events processed in this run
  int64_t watermark = 0;    // the last events.seq processed
  int64_t identifiers = 0;  // all known
  int64_t new_identifiers = 0;
  int64_t links = 0;  // distinct identifier pairs recorded
  int64_t new_links = 0;
  int64_t customers = 0;            // after this run
  int64_t new_customers = 0;        // keys that did not exist before this run
  int64_t merges = 0;               // customers merged into an older one this run (keys now aliases)
                                    // (a customer whose oldest identifier was split off or flagged
                                    // continues under its next-oldest one's key; also an alias)
  int64_t splits = 0;               // customers that lost identifiers to another customer this run
  int64_t changed_identifiers = 0;  // existing identifiers whose customer or flag changed
  int64_t shared = 0;               // identifiers flagged shared (now)
  int64_t newly_shared = 0;         // of which flagged in this run
  int64_t blocked = 0;              // identifiers split off by hand
  int64_t refused_links = 0;        // links the exclusive guard refuses (now)
  double seconds = 0;
};

// A resolved customer as later stages see it: dense id for models, stable key for people.
struct CustomerRef {
  int32_t dense_id = -1;  // 0..customers-1, valid for one loaded directory
  std::string key;        // "C000000123", stable
};

// Read-only view of the resolution, loaded in memory for later stages
// (profiles, models, serving): maps identifiers and events to customers.
// Immutable after loading, so safe to share between threads.
class CustomerDirectory {
 public:
  virtual ~CustomerDirectory() = default;
  virtual int32_t customer_count() const = 0;
  // Dense ids are in key order (so in order of the customers' first
  // appearance), deterministic for a given resolution.
  virtual const std::string& CustomerKey(int32_t dense_id) const = 0;
  // A live key, or an old key that merged into a live one (aliases).
  virtual std::optional<int32_t> DenseIdOfKey(std::string_view key) const = 0;
  // The customer of an identifier as stored (hashed value for hashed
  // types); nullopt when unknown, shared or blocked.
  virtual std::optional<int32_t> CustomerOf(const ingest::Identity& identity) const = 0;
  // The customer of an event: that of its strongest identifier that belongs
  // to a customer (not shared, not blocked, already resolved); nullopt when
  // there is none (e.g. only a kiosk, or the event is newer than the last
  // resolution).
  virtual std::optional<int32_t> CustomerOfEvent(const ingest::Event& event) const = 0;
  // All identifiers of a customer (stored values; hashed for hashed types),
  // strongest type first.
  virtual std::vector<ingest::Identity> IdentifiersOf(int32_t dense_id) const = 0;

  // Every identifier that belongs to a customer, in the order the store
  // numbered them (which is the order of first appearance: first_seq does
  // not decrease, though callers must not rely on that for correctness),
  // for builds that attribute a whole event snapshot at once.
  struct IdentifierEntry {
    ingest::IdentityType type;
    std::string_view value;  // stored form; valid while the directory lives
    int64_t first_seq;       // the first event that carried it
    int32_t customer;        // dense id
  };
  virtual int32_t identifier_count() const = 0;
  virtual IdentifierEntry identifier(int32_t i) const = 0;
};

// How LoadDirectory builds the directory.
struct DirectoryOptions {
  // The per-type value -> identifier maps behind CustomerOf and
  // CustomerOfEvent: most of a load's time (a million identifiers are a
  // million hash-map inserts). A build that attributes a snapshot through
  // identifier() (the profile build) goes without; CustomerOf and
  // CustomerOfEvent must then not be called.
  bool value_index = true;
  // A second connection to the same database (not used by another thread
  // meanwhile): half of the identifiers are read through it, on a second
  // thread. Optional.
  store::Sql* second_connection = nullptr;
  // Below this many identifiers one connection reads them all (a second
  // thread is not worth starting).
  int64_t split_min_identifiers = 200'000;
  // Read the directory from DATA_DIR/identity/directory.bin when that file
  // is current (it was written for the identity tables' present state), and
  // write it after reading the tables (directory_file.h): a load then reads
  // one file instead of a million rows. false = the tables only, the file
  // is neither read nor written.
  bool use_file = true;
};

// Creates or upgrades the identity tables (Resolve and LoadDirectory call it).
Status MigrateIdentityTables(store::Sql& sql);

// Runs resolution over events not yet processed and persists the result in
// the identity tables of `sql` (the same database as `store`). Safe against
// a concurrent run (the later writer notices and recomputes). A run that
// writes a new state also writes the directory file for it (a failure there
// is only a warning).
StatusOr<ResolveStats> Resolve(store::Store& store, store::Sql& sql, const IdentityConfig& config);

// Loads the current resolution. `config` supplies the type ranks used by
// CustomerOfEvent. Millions of identifiers load in a second from the tables,
// in a fraction of it from the directory file (DirectoryOptions::use_file).
StatusOr<std::unique_ptr<CustomerDirectory>> LoadDirectory(store::Sql& sql,
                                                           const IdentityConfig& config = {},
                                                           const DirectoryOptions& options = {});
// The same for DATA_DIR: opens the database and reads config.json.
StatusOr<std::unique_ptr<CustomerDirectory>> LoadDirectory(const std::string& data_dir);

// `omni customers split`: blocks `identity` (stored form) from linking —
// undo = true lifts the block — and recomputes. Returns the customers the
// identifier's former customer is made of afterwards.
struct CustomerSummary {
  std::string key;
  std::vector<ingest::Identity> identifiers;  // strongest type first
};
struct SplitResult {
  std::string old_key;  // the identifier's customer before ("" if it had none)
  std::vector<CustomerSummary> customers;
  ResolveStats stats;
};
StatusOr<SplitResult> Split(store::Store& store, store::Sql& sql, const IdentityConfig& config,
                            const ingest::Identity& identity, bool undo);

}  // namespace omni::identity
