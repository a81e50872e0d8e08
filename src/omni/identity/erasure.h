// `omni customers forget IDENTIFIER`: erasure of a person (PIPL / GDPR
// right to erasure).
//
// What it does, in this order:
//  1. resolves new events, so the customer is complete;
//  2. tombstones the customer's own identifiers (Store::AddTombstones): from
//     then on no writer in any process stores an event carrying one of
//     them, and re-importing an old file counts those events as `erased`;
//  3. deletes every stored event carrying any of the customer's own
//     identifiers — never by a shared identifier: the household tablet's
//     events of the other members stay;
//  4. deletes the customer's identifiers, their links, refusals and key
//     aliases, quarantined records quoting one of its (non-hashed)
//     identifiers, and its rows of a `profiles` table when one exists
//     (profiles are also rebuilt from the remaining events);
//  5. re-resolves. Shared identifiers the person used stay shared for good
//     (pinned): the family tablet does not become the remaining member's
//     own, so the other members' customers are untouched.
// Deletes run with SQLite's secure_delete, so the erased rows are
// overwritten in the database file rather than left in free pages.
//
// Idempotent: forgetting an identifier that is already tombstoned succeeds
// (already_forgotten) and deletes any event carrying it that is still there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "omni/common/status.h"
#include "omni/identity/identity.h"
#include "omni/store/sql.h"
#include "omni/store/store.h"

namespace omni::identity {

struct ForgetResult {
  std::string customer_key;                   // "" when already forgotten
  std::vector<ingest::Identity> identifiers;  // tombstoned (stored form)
  bool already_forgotten = false;
  int64_t events_deleted = 0;
  int64_t identifiers_deleted = 0;
  int64_t links_deleted = 0;
  int64_t aliases_deleted = 0;
  int64_t quarantine_deleted = 0;
  int64_t profile_rows_deleted = 0;
  std::vector<ingest::Identity> shared_kept;  // shared identifiers the person used (kept)
};

// `identity` in stored form. NotFound when never seen and not tombstoned;
// FailedPrecondition when the identifier is shared (it names no one person).
StatusOr<ForgetResult> Forget(store::Store& store, store::Sql& sql, const IdentityConfig& config,
                              const ingest::Identity& identity);

}  // namespace omni::identity
