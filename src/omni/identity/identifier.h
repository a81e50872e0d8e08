// Identifiers as people type and read them, and point lookups of one
// identifier's resolution — shared by the `omni customers` commands and
// `omni customers show`.
//
// People type "type:value" with the raw value ("phone:+86 138 0013 8000",
// "email:Wei.Li@163.com", "member_card:M0042"); it is normalised and, for
// hashed types, hashed with the data directory's key, exactly as ingest
// stores it. Output never shows a raw phone or e-mail: hashed types are
// shown as the type and the first 12 hex chars of the hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "omni/common/status.h"
#include "omni/ingest/config.h"
#include "omni/ingest/event.h"
#include "omni/ingest/pii.h"
#include "omni/store/sql.h"

namespace omni::identity {

// "type:value" -> the stored form. InvalidArgument (naming the type, never
// the value of a hashed type) for an unknown type, a missing ':' or a value
// that does not normalise.
StatusOr<ingest::Identity> ParseIdentifier(std::string_view text, ingest::Pseudonymiser& pseudonymiser);

// "member_card:M0042", "phone:3fa2b9c01d2e…" (hashed types: hash prefix).
std::string DisplayIdentifier(const ingest::Identity& identity, const ingest::IngestConfig& config);
// The same without the ingest configuration: hashed = the value is shown as a prefix.
std::string DisplayIdentifier(const ingest::Identity& identity, bool hashed);

// "C" + first-seen number zero-padded to 9 digits: fixed width, so keys
// sort in order of the customers' first appearance.
std::string FormatCustomerKey(int64_t number);
// The number of a well-formed key ("C000000123" -> 123), else nullopt.
std::optional<int64_t> ParseCustomerKey(std::string_view key);

// One stored identifier row.
struct IdentifierRecord {
  int64_t id = 0;  // first-seen number
  ingest::Identity identity;
  int64_t first_seq = 0;
  bool shared = false;
  std::string shared_reason;
  bool blocked = false;
  std::string customer_key;  // "" when shared or blocked
};
// nullopt when the identifier was never seen (or was erased).
StatusOr<std::optional<IdentifierRecord>> FindIdentifier(store::Sql& sql, const ingest::Identity& identity);
StatusOr<std::optional<IdentifierRecord>> FindIdentifierById(store::Sql& sql, int64_t id);

// A live customer key for `key`: itself when live, the key it merged into
// when it is an alias; nullopt when unknown (never existed, or erased).
StatusOr<std::optional<std::string>> ResolveCustomerKey(store::Sql& sql, std::string_view key);

// The customer an identifier argument denotes, for commands: the argument is
// "type:value" or a customer key ("C000000123"). NotFound when unknown;
// FailedPrecondition when the identifier is shared or blocked (it belongs to
// no customer) or identity resolution has not run yet.
StatusOr<std::string> CustomerKeyForArgument(store::Sql& sql, ingest::Pseudonymiser& pseudonymiser,
                                             std::string_view argument);

}  // namespace omni::identity
