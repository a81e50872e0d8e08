#include "omni/identity/identifier.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "omni/identity/identity.h"
#include "omni/identity/tables.h"

namespace omni::identity {
namespace {

constexpr size_t kHashPrefix = 12;
constexpr int kKeyDigits = 9;

std::string TypeList() {
  std::string s;
  for (int t = 0; t < kIdentityTypeCount; ++t) {
    if (t > 0) s += ", ";
    s += ingest::IdentityTypeName(static_cast<IdentityType>(t));
  }
  return s;
}

std::optional<IdentifierRecord> ReadRecord(const store::SqlRow& row) {
  auto type = ingest::ParseIdentityType(row.Text(1));
  if (!type) return std::nullopt;
  IdentifierRecord r;
  r.id = row.Int(0);
  r.identity = {*type, std::string(row.Text(2))};
  r.first_seq = row.Int(3);
  r.shared = row.Int(4) != 0;
  r.shared_reason = std::string(row.Text(5));
  r.blocked = row.Int(6) != 0;
  r.customer_key = std::string(row.Text(7));
  return r;
}

constexpr std::string_view kRecordColumns =
    "SELECT id, type, value, first_seq, shared, shared_reason, blocked, customer_key FROM identifiers ";

}  // namespace

StatusOr<ingest::Identity> ParseIdentifier(std::string_view text, ingest::Pseudonymiser& pseudonymiser) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument(
        "identifier must be TYPE:VALUE (e.g. phone:+8613800138000, member_card:M0042); "
        "types: " +
        TypeList());
  }
  const std::string_view type_name = text.substr(0, colon);
  auto type = ingest::ParseIdentityType(type_name);
  if (!type) {
    return InvalidArgument("unknown identity type \"" + std::string(type_name) + "\"; types: " + TypeList());
  }
  StatusOr<std::string> value = pseudonymiser.Normalise(*type, text.substr(colon + 1));
  // The pseudonymiser's messages name the type, never a raw value.
  if (!value.ok())
    return InvalidArgument("identifier " + std::string(type_name) + ": " + value.status().message());
  return ingest::Identity{*type, std::move(*value)};
}

std::string DisplayIdentifier(const ingest::Identity& identity, bool hashed) {
  std::string out(ingest::IdentityTypeName(identity.type));
  out += ':';
  if (hashed && identity.value.size() > kHashPrefix) {
    out.append(identity.value, 0, kHashPrefix);
    out += "…";
  } else {
    out += identity.value;
  }
  return out;
}

std::string DisplayIdentifier(const ingest::Identity& identity, const ingest::IngestConfig& config) {
  return DisplayIdentifier(identity, config.IsHashed(identity.type));
}

std::string FormatCustomerKey(int64_t number) {
  // to_chars rather than snprintf: a directory load formats every key
  // (a quarter of a million), which snprintf made a third of the load.
  if (number >= 0) {
    char digits[24];
    const size_t n = static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, number).ptr - digits);
    std::string key(1 + std::max<size_t>(n, kKeyDigits), '0');
    key[0] = 'C';
    std::memcpy(key.data() + key.size() - n, digits, n);
    return key;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "C%0*lld", kKeyDigits, static_cast<long long>(number));
  return buf;
}

std::optional<int64_t> ParseCustomerKey(std::string_view key) {
  if (key.size() < 2 || key[0] != 'C' || key.size() > 19) return std::nullopt;
  int64_t n = 0;
  for (char c : key.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n <= 0) return std::nullopt;
  return n;
}

StatusOr<std::optional<IdentifierRecord>> FindIdentifier(store::Sql& sql, const ingest::Identity& identity) {
  std::optional<IdentifierRecord> out;
  OMNI_RETURN_IF_ERROR(sql.Query(std::string(kRecordColumns) + "WHERE type = ? AND value = ?",
                                 {std::string(ingest::IdentityTypeName(identity.type)), identity.value},
                                 [&](const store::SqlRow& row) {
                                   out = ReadRecord(row);
                                   return false;
                                 }));
  return out;
}

StatusOr<std::optional<IdentifierRecord>> FindIdentifierById(store::Sql& sql, int64_t id) {
  std::optional<IdentifierRecord> out;
  OMNI_RETURN_IF_ERROR(
      sql.Query(std::string(kRecordColumns) + "WHERE id = ?", {id}, [&](const store::SqlRow& row) {
        out = ReadRecord(row);
        return false;
      }));
  return out;
}

StatusOr<std::optional<std::string>> ResolveCustomerKey(store::Sql& sql, std::string_view key) {
  bool live = false;
  OMNI_RETURN_IF_ERROR(sql.Query("SELECT 1 FROM identifiers WHERE customer_key = ? LIMIT 1",
                                 {std::string(key)}, [&](const store::SqlRow&) {
                                   live = true;
                                   return false;
                                 }));
  if (live) return std::optional<std::string>(std::string(key));
  // Aliases always point at a live key (the resolver keeps them flat).
  std::optional<std::string> target;
  OMNI_RETURN_IF_ERROR(sql.Query("SELECT new_key FROM customer_key_aliases WHERE old_key = ?",
                                 {std::string(key)}, [&](const store::SqlRow& row) {
                                   target = std::string(row.Text(0));
                                   return false;
                                 }));
  return target;
}

StatusOr<std::string> CustomerKeyForArgument(store::Sql& sql, ingest::Pseudonymiser& pseudonymiser,
                                             std::string_view argument) {
  OMNI_RETURN_IF_ERROR(MigrateIdentityTables(sql));
  OMNI_ASSIGN_OR_RETURN(internal::IdentityState state, internal::ReadIdentityState(sql));
  if (state.generation == 0) {
    return FailedPrecondition("identity resolution has not run yet: run omni customers resolve");
  }
  if (argument.find(':') == std::string_view::npos && ParseCustomerKey(argument)) {
    OMNI_ASSIGN_OR_RETURN(std::optional<std::string> key, ResolveCustomerKey(sql, argument));
    if (!key) return NotFound("no customer has key " + std::string(argument));
    return *key;
  }
  OMNI_ASSIGN_OR_RETURN(ingest::Identity identity, ParseIdentifier(argument, pseudonymiser));
  OMNI_ASSIGN_OR_RETURN(std::optional<IdentifierRecord> record, FindIdentifier(sql, identity));
  const std::string type(ingest::IdentityTypeName(identity.type));
  if (!record) return NotFound("no customer has this " + type + " (it was never seen, or was erased)");
  if (record->shared) {
    return FailedPrecondition("this " + type + " is shared by several persons (" + record->shared_reason +
                              ") and belongs to no one customer; use one of the person's own identifiers");
  }
  if (record->blocked) {
    return FailedPrecondition("this " + type +
                              " was split off (omni customers split) and belongs to no customer");
  }
  if (record->customer_key.empty()) {
    return FailedPrecondition("this " + type + " has no customer yet: run omni customers resolve");
  }
  return record->customer_key;
}

}  // namespace omni::identity
