// Pseudonymisation of personal identifiers. Phone numbers are normalised to
// E.164 with libphonenumber (so "138 0013 8000", "+86-138-0013-8000" and
// "0086 13800138000" are one number), e-mails are trimmed and lower-cased,
// then both are replaced by a keyed BLAKE2b hash (libsodium
// crypto_generichash, 16-byte digest, written as 32 lower-case hex chars).
// The raw value never leaves this file: not in the database, not in a log,
// not in a quarantine message.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "omni/common/status.h"
#include "omni/ingest/config.h"
#include "omni/ingest/event.h"

namespace omni::ingest {

using PiiKey = std::array<unsigned char, 32>;

// The key, in this order: the OMNI_PII_KEY environment variable (64 hex
// chars); else DATA_DIR/pii.key; else a new random key written to
// DATA_DIR/pii.key with mode 0600 (created atomically: temp file + rename).
// A key file readable by group or others is refused.
StatusOr<PiiKey> LoadOrCreatePiiKey(const std::string& data_dir);

// Normalises one identity value of the given type for storage:
//  - phone: E.164 ("+8613800138000") via libphonenumber with the config's
//    default region, then keyed hash when phone is a hashed type;
//  - email: trim + lower-case, must contain one '@' with text on both sides,
//    then keyed hash when e-mail is a hashed type;
//  - other types: trimmed; non-empty; at most 256 bytes; hashed when listed.
// Errors are InvalidArgument with a message that names the type but not the
// raw value (it may be PII).
// Thread-compatible: use one Pseudonymiser per thread. Keeps a bounded cache
// of raw→E.164 for the phone numbers that need libphonenumber's slow parse
// (Chinese mobiles in the usual shapes take a fast path), because the same
// customer's phone recurs.
class Pseudonymiser {
 public:
  explicit Pseudonymiser(const IngestConfig& config);
  ~Pseudonymiser();
  Pseudonymiser(const Pseudonymiser&) = delete;
  Pseudonymiser& operator=(const Pseudonymiser&) = delete;

  StatusOr<std::string> Normalise(IdentityType type, std::string_view raw);
  // The same, writing into `out` (reusing its capacity) instead of returning
  // a new string; `out` is unspecified on error. For hot loops.
  Status NormaliseTo(IdentityType type, std::string_view raw, std::string& out);

  // E.164 without hashing; exposed for tests and `omni customers show phone:...`.
  StatusOr<std::string> NormalisePhone(std::string_view raw) const;
  static StatusOr<std::string> NormaliseEmail(std::string_view raw);
  // Keyed hash of an already-normalised value, as 32 hex chars.
  std::string Hash(IdentityType type, std::string_view normalised) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Replaces anything that looks like a phone number or e-mail address in a raw
// record with "***" so quarantined raw text carries no PII.
std::string MaskPii(std::string_view raw);

}  // namespace omni::ingest
