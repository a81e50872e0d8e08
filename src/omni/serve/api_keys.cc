#include "omni/serve/api_keys.h"

#include <sodium.h>

#include <chrono>

namespace omni::serve {
namespace {

constexpr char kKeyPrefix[] = "omk_";
constexpr size_t kShownPrefix = 12;

// Version 1: the keys table. Lookups go by hash (unique).
const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> steps = {
      "CREATE TABLE api_keys("
      "  id INTEGER PRIMARY KEY,"
      "  name TEXT NOT NULL,"
      "  prefix TEXT NOT NULL,"
      "  hash TEXT NOT NULL UNIQUE,"
      "  scopes TEXT NOT NULL,"
      "  rate_per_s REAL NOT NULL DEFAULT 0,"
      "  created_at_ms INTEGER NOT NULL,"
      "  revoked_at_ms INTEGER NOT NULL DEFAULT 0)",
  };
  return steps;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint32_t Bit(Scope s) { return 1u << static_cast<uint32_t>(s); }

constexpr char kColumns[] = "id, name, prefix, hash, scopes, rate_per_s, created_at_ms, revoked_at_ms";

ApiKey RowToKey(const store::SqlRow& r) {
  ApiKey k;
  k.id = r.Int(0);
  k.name = std::string(r.Text(1));
  k.prefix = std::string(r.Text(2));
  k.hash = std::string(r.Text(3));
  k.scopes = ParseScopes(r.Text(4)).ok() ? *ParseScopes(r.Text(4)) : 0;
  k.rate_per_s = r.Double(5);
  k.created_at_ms = r.Int(6);
  k.revoked_at_ms = r.Int(7);
  return k;
}

}  // namespace

bool ApiKey::Has(Scope scope) const {
  if (scope == Scope::kPublic) return true;
  return (scopes & Bit(scope)) != 0 || (scopes & Bit(Scope::kAdmin)) != 0;
}

StatusOr<uint32_t> ParseScopes(std::string_view text) {
  uint32_t bits = 0;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part.empty()) continue;
    if (part == "ingest") {
      bits |= Bit(Scope::kIngest);
    } else if (part == "read") {
      bits |= Bit(Scope::kRead);
    } else if (part == "admin") {
      bits |= Bit(Scope::kAdmin);
    } else {
      return InvalidArgument("scope '" + std::string(part) + "': expected ingest, read or admin");
    }
  }
  if (bits == 0) return InvalidArgument("no scope given: expected ingest, read and/or admin");
  return bits;
}

std::string ScopesText(uint32_t scopes) {
  std::string out;
  for (Scope s : {Scope::kIngest, Scope::kRead, Scope::kAdmin}) {
    if (scopes & Bit(s)) {
      if (!out.empty()) out += ',';
      out += ScopeName(s);
    }
  }
  return out;
}

std::string HashApiKey(std::string_view key) {
  unsigned char digest[32];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     nullptr, 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, 64);
}

StatusOr<ApiKeyStore> ApiKeyStore::Over(store::Sql& sql) {
  if (sodium_init() < 0) return Internal("serve: libsodium failed to initialise");
  OMNI_RETURN_IF_ERROR(sql.Migrate("serve", Migrations()));
  return ApiKeyStore(sql);
}

StatusOr<ApiKeyStore::Created> ApiKeyStore::Create(std::string_view name, uint32_t scopes, double rate_per_s) {
  if (rate_per_s < 0) return InvalidArgument("rate limit must be >= 0 requests/s (0 = the server's default)");
  unsigned char random[24];
  randombytes_buf(random, sizeof random);
  char b64[sodium_base64_ENCODED_LEN(24, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  Created c;
  c.secret = std::string(kKeyPrefix) + b64;
  c.key.name = std::string(name);
  c.key.prefix = c.secret.substr(0, kShownPrefix);
  c.key.hash = HashApiKey(c.secret);
  c.key.scopes = scopes;
  c.key.rate_per_s = rate_per_s;
  c.key.created_at_ms = NowMs();
  OMNI_RETURN_IF_ERROR(sql_->Execute(
                                "INSERT INTO api_keys(name, prefix, hash, scopes, rate_per_s, created_at_ms) "
                                "VALUES(?, ?, ?, ?, ?, ?)",
                                {c.key.name, c.key.prefix, c.key.hash, ScopesText(scopes), rate_per_s,
                                 c.key.created_at_ms})
                           .status());
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT id FROM api_keys WHERE hash = ?", {c.key.hash},
                                   [&](const store::SqlRow& r) {
                                     c.key.id = r.Int(0);
                                     return false;
                                   }));
  return c;
}

StatusOr<std::vector<ApiKey>> ApiKeyStore::List() {
  std::vector<ApiKey> keys;
  OMNI_RETURN_IF_ERROR(sql_->Query(std::string("SELECT ") + kColumns + " FROM api_keys ORDER BY id", {},
                                   [&](const store::SqlRow& r) {
                                     keys.push_back(RowToKey(r));
                                     return true;
                                   }));
  return keys;
}

StatusOr<ApiKey> ApiKeyStore::Revoke(std::string_view which) {
  OMNI_ASSIGN_OR_RETURN(std::vector<ApiKey> keys, List());
  std::vector<const ApiKey*> hits;
  for (const ApiKey& k : keys) {
    if (std::to_string(k.id) == which || k.prefix == which || k.name == which) hits.push_back(&k);
  }
  if (hits.empty()) return NotFound("no API key with id, prefix or name '" + std::string(which) + "'");
  if (hits.size() > 1) {
    return InvalidArgument("'" + std::string(which) + "' names " + std::to_string(hits.size()) +
                           " keys; revoke by id (omni serve keys list)");
  }
  ApiKey key = *hits[0];
  if (key.revoked_at_ms == 0) {
    key.revoked_at_ms = NowMs();
    OMNI_RETURN_IF_ERROR(
        sql_->Execute("UPDATE api_keys SET revoked_at_ms = ? WHERE id = ?", {key.revoked_at_ms, key.id}).status());
  }
  return key;
}

}  // namespace omni::serve
