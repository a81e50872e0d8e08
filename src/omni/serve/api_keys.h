// API keys with scopes, stored hashed in the `api_keys` table of the serve
// module (store/sql.h migrations, module "serve").
//
// A key is "omk_" + 32 characters of URL-safe base64 (24 random bytes from
// libsodium). Only its BLAKE2b-256 hash is stored — a key is 192 random bits,
// so a fast unkeyed hash cannot be brute-forced and a stolen database holds
// no usable key — plus its first 12 characters ("omk_3fA9xQ2b") so people can
// tell keys apart in `omni serve keys list`. The key itself is printed once,
// at creation, and never again.
//
// Scopes: ingest (POST /v1/events: safe to ship in a web page or a till),
// read (lookups, segments, the dashboard's data), admin (erasure, reload;
// holds every scope). A key may hold several ("ingest,read").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/serve/routes.h"
#include "omni/store/sql.h"

namespace omni::serve {

struct ApiKey {
  int64_t id = 0;
  std::string name;    // who holds it ("till-07"); free text
  std::string prefix;  // the key's first 12 characters, for people
  std::string hash;    // BLAKE2b-256 of the key, 64 hex chars
  uint32_t scopes = 0; // bit per Scope
  double rate_per_s = 0;  // requests per second; 0 = the server's default
  int64_t created_at_ms = 0;
  int64_t revoked_at_ms = 0;  // 0 = active

  bool Has(Scope scope) const;
};

// "ingest,read" -> bits; InvalidArgument naming an unknown scope.
StatusOr<uint32_t> ParseScopes(std::string_view text);
std::string ScopesText(uint32_t scopes);

// The stored hash of a presented key.
std::string HashApiKey(std::string_view key);

class ApiKeyStore {
 public:
  // Migrates the serve module's tables. `sql` must outlive the store.
  static StatusOr<ApiKeyStore> Over(store::Sql& sql);

  struct Created {
    ApiKey key;
    std::string secret;  // the key to hand out; not stored anywhere
  };
  StatusOr<Created> Create(std::string_view name, uint32_t scopes, double rate_per_s);
  // Every key, revoked ones included, oldest first.
  StatusOr<std::vector<ApiKey>> List();
  // `which` is a key's id, its prefix or its name (when unique). NotFound /
  // InvalidArgument (ambiguous name) otherwise. Revoking twice is a no-op.
  StatusOr<ApiKey> Revoke(std::string_view which);

 private:
  explicit ApiKeyStore(store::Sql& sql) : sql_(&sql) {}
  store::Sql* sql_;
};

}  // namespace omni::serve
