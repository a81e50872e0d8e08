// Pseudonymisation: normalise, then keyed hash. See pii.h for the contract.
//
// Choices a reader may wonder about:
//  - Phones are checked with PhoneNumberUtil::IsPossibleNumberWithReason ==
//    IS_POSSIBLE (length per region), not IsValidNumber (number ranges).
//    Debian 12 ships libphonenumber 8.12.57 (2022), whose range tables do
//    not know every Chinese mobile block in use (14x, 16x and 19x blocks
//    are partly missing), and rejecting a real customer's phone silently
//    loses an identity link. To catch the commonest typo anyway, a Chinese
//    number whose national part starts 13..19 (a mobile) must have exactly
//    11 digits. Letters are refused outright: libphonenumber would read
//    "138abcd0000" as a vanity number and turn it into digits.
//  - libphonenumber's Parse is regex-based and costs 10-30 µs, too slow for
//    the import path; Chinese mobiles in the usual shapes take a fast path
//    that gives the identical result (FastChineseMobile; pii_test compares).
//  - The hash input is type name + '\0' + normalised value, so equal strings
//    of two types ("12345" as customer_id and as member_card) never collide.
//  - pii.key holds the 32 raw key bytes (not hex): it is only ever written by
//    us, and a fixed size makes truncation detectable. To share a key between
//    servers copy the file or set OMNI_PII_KEY (64 hex chars) everywhere.
#include "omni/ingest/pii.h"

#include <fcntl.h>
#include <phonenumbers/phonenumberutil.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "absl/container/flat_hash_map.h"

namespace omni::ingest {
namespace {

using ::i18n::phonenumbers::PhoneNumber;
using ::i18n::phonenumbers::PhoneNumberUtil;

constexpr size_t kHashBytes = 16;
constexpr size_t kMaxIdentityBytes = 256;
// Slow-path phone numbers remembered per Pseudonymiser (~100 bytes each).
constexpr size_t kCacheCapacity = 1 << 20;

std::once_flag g_sodium_once;
bool g_sodium_ok = false;

void InitSodium() {
  std::call_once(g_sodium_once, [] { g_sodium_ok = sodium_init() >= 0; });
  // sodium_init fails only when the system has no usable randomness source;
  // nothing in omni can work safely without it.
  OMNI_CHECK(g_sodium_ok);
}

bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string TypeError(IdentityType type, std::string_view why) {
  std::string m(IdentityTypeName(type));
  m.append(": ");
  m.append(why);
  return m;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool DecodeHexKey(std::string_view hex, PiiKey& key) {
  if (hex.size() != 2 * key.size()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    key[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

std::string ErrnoText(int err) { return std::generic_category().message(err); }

StatusOr<PiiKey> ReadKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Internal("cannot open " + path + ": " + ErrnoText(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Internal("cannot stat " + path + ": " + ErrnoText(err));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    return FailedPrecondition(path + " is accessible by group or others; run: chmod 600 " + path);
  }
  PiiKey key{};
  unsigned char extra = 0;
  size_t got = 0;
  while (got < key.size()) {
    const ssize_t n = ::read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  const bool longer = got == key.size() && ::read(fd, &extra, 1) > 0;
  ::close(fd);
  if (got != key.size() || longer) {
    sodium_memzero(key.data(), key.size());
    return FailedPrecondition(path + " must hold exactly 32 raw bytes (it was truncated or replaced)");
  }
  return key;
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Internal("cannot open " + dir + ": " + ErrnoText(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Internal("cannot fsync " + dir + ": " + ErrnoText(err));
  return Status::Ok();
}

// Writes a fresh key to a temporary file and links it into place. link(2),
// unlike rename(2), fails when the target exists, so two processes creating
// the key at once cannot end up using different keys: the loser reads the
// winner's file.
StatusOr<PiiKey> CreateKeyFile(const std::string& dir, const std::string& path) {
  PiiKey key{};
  randombytes_buf(key.data(), key.size());
  // Unique per call, not just per process: threads of one server may race too.
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(randombytes_random());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot create " + tmp + ": " + ErrnoText(errno));
  Status status;
  size_t put = 0;
  while (status.ok() && put < key.size()) {
    const ssize_t n = ::write(fd, key.data() + put, key.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) status = Internal("cannot write " + tmp + ": " + ErrnoText(errno));
    else put += static_cast<size_t>(n);
  }
  // The umask cannot widen 0600, but an inherited ACL default could; be explicit.
  if (status.ok() && ::fchmod(fd, 0600) != 0) status = Internal("cannot chmod " + tmp + ": " + ErrnoText(errno));
  if (status.ok() && ::fsync(fd) != 0) status = Internal("cannot fsync " + tmp + ": " + ErrnoText(errno));
  ::close(fd);
  if (status.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) {
      ::unlink(tmp.c_str());
      sodium_memzero(key.data(), key.size());
      return ReadKeyFile(path);
    }
    status = Internal("cannot link " + path + ": " + ErrnoText(errno));
  }
  ::unlink(tmp.c_str());
  if (!status.ok()) {
    sodium_memzero(key.data(), key.size());
    return status;
  }
  OMNI_RETURN_IF_ERROR(SyncDirectory(dir));
  return key;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

StatusOr<PiiKey> LoadOrCreatePiiKey(const std::string& data_dir) {
  InitSodium();
  PiiKey key{};
  if (const char* env = std::getenv("OMNI_PII_KEY"); env != nullptr && *env != '\0') {
    // Never echo the value: it is the secret.
    if (!DecodeHexKey(TrimAscii(env), key)) {
      return InvalidArgument("OMNI_PII_KEY must be 64 hex characters (32 bytes)");
    }
    return key;
  }
  const std::string dir = data_dir.empty() ? std::string(".") : data_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create data directory " + dir + ": " + ec.message());
  const std::string path = (std::filesystem::path(dir) / "pii.key").string();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return ReadKeyFile(path);
  if (errno != ENOENT) return Internal("cannot stat " + path + ": " + ErrnoText(errno));
  return CreateKeyFile(dir, path);
}

struct Pseudonymiser::Impl {
  std::string region;
  bool region_is_cn = false;
  PiiKey key{};
  std::array<bool, kIdentityTypeCount> hashed{};
  const PhoneNumberUtil* phone_util = nullptr;
  // Raw phone → E.164 for the numbers libphonenumber has to parse (~10-30 µs
  // each); "" records a number that failed, so a bad phone that recurs is
  // not re-parsed either. Nothing else is cached: measured on 1M events
  // with 100k customers, a raw→hash cache was slower than recomputing the
  // keyed hash (~0.3-0.45 µs), and a normalised→hash cache no faster,
  // because lookups in tables that large miss the CPU caches.
  absl::flat_hash_map<std::string, std::string> slow_phones;
  // Debian's abseil has its own string_view, so lookups go through a
  // std::string; reusing this one keeps them allocation-free.
  std::string lookup_key;
  std::string scratch;  // the normalised value of a hashed type, before hashing
  // The last raw value per type and what NormaliseTo made of it (the stored
  // form: normalised, and keyed-hashed for hashed types). A customer's events
  // come in runs (a session, an invoice's lines, a user's behaviour log), so
  // the value is often the previous one of its type; unlike the large caches
  // above, one entry per type stays in L1 and costs one compare.
  struct LastValue {
    bool valid = false;
    std::string raw;
    std::string stored;
  };
  std::array<LastValue, kIdentityTypeCount> last;
};

namespace {

// The shapes in which Chinese retail systems write mobile numbers, parsed
// without libphonenumber (whose regex-based Parse costs ~10-30 µs): digits
// with ' ', '-', '.', '(' and ')' between them, optionally "+86", "0086" or
// "86" in front. Produces exactly what libphonenumber produces for these
// inputs (pii_test checks this); anything else returns false and takes the
// slow path.
bool FastChineseMobile(std::string_view v, bool region_is_cn, std::string& out) {
  char digits[16];
  size_t n = 0;
  bool plus = false;
  for (char c : v) {
    if (IsDigit(c)) {
      if (n == sizeof(digits)) return false;
      digits[n++] = c;
    } else if (c == '+') {
      if (n != 0 || plus) return false;
      plus = true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') {
      return false;
    }
  }
  std::string_view d(digits, n);
  if (plus) {
    if (n != 13 || d.substr(0, 2) != "86") return false;
    d.remove_prefix(2);
  } else {
    if (!region_is_cn) return false;
    if (n == 13 && d.substr(0, 2) == "86") d.remove_prefix(2);
    else if (n == 15 && d.substr(0, 4) == "0086") d.remove_prefix(4);
  }
  if (d.size() != 11 || d[0] != '1' || d[1] < '3' || d[1] > '9') return false;
  out.assign("+86");
  out.append(d);
  return true;
}

// Keyed BLAKE2b of type name + '\0' + value, as 32 lower-case hex chars.
// Two BLAKE2b compressions (the key block, then the data block) whatever
// the value: ~0.2-0.4 µs, the largest single cost of importing an event.
void HashHex(const PiiKey& key, IdentityType type, std::string_view normalised,
             char (&hex)[2 * kHashBytes]) {
  const std::string_view name = IdentityTypeName(type);
  unsigned char digest[kHashBytes];
  // Values are at most 256 bytes (longer ones are rejected before), so the
  // input fits on the stack and one-shot hashing avoids the state API.
  unsigned char input[16 + kMaxIdentityBytes + 64];
  if (name.size() + 1 + normalised.size() <= sizeof(input)) {
    std::memcpy(input, name.data(), name.size());
    input[name.size()] = 0;
    std::memcpy(input + name.size() + 1, normalised.data(), normalised.size());
    crypto_generichash(digest, kHashBytes, input, name.size() + 1 + normalised.size(), key.data(),
                       key.size());
  } else {
    const unsigned char zero = 0;
    crypto_generichash_state state;
    crypto_generichash_init(&state, key.data(), key.size(), kHashBytes);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(name.data()), name.size());
    crypto_generichash_update(&state, &zero, 1);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(normalised.data()),
                              normalised.size());
    crypto_generichash_final(&state, digest, kHashBytes);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < kHashBytes; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 15];
  }
}

}  // namespace

Pseudonymiser::Pseudonymiser(const IngestConfig& config) : impl_(std::make_unique<Impl>()) {
  InitSodium();
  impl_->region = config.default_phone_region;
  impl_->region_is_cn = config.default_phone_region == "CN";
  impl_->key = config.pii_key;
  for (IdentityType t : config.hashed_identity_types) impl_->hashed[static_cast<size_t>(t)] = true;
  impl_->phone_util = PhoneNumberUtil::GetInstance();
}

Pseudonymiser::~Pseudonymiser() { sodium_memzero(impl_->key.data(), impl_->key.size()); }

StatusOr<std::string> Pseudonymiser::Normalise(IdentityType type, std::string_view raw) {
  std::string out;
  OMNI_RETURN_IF_ERROR(NormaliseTo(type, raw, out));
  return out;
}

namespace {

Status NormaliseEmailTo(std::string_view raw, std::string& out) {
  const std::string_view v = TrimAscii(raw);
  if (v.empty()) return InvalidArgument("email: empty value");
  if (v.size() > 254) return InvalidArgument("email: longer than 254 bytes");
  out.assign(v);
  size_t at = std::string::npos;
  for (size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');  // ASCII only: non-ASCII bytes are left alone
    } else if (c == '@') {
      if (at != std::string::npos) return InvalidArgument("email: more than one '@'");
      at = i;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == ' ' || c == 0x7f) {
      return InvalidArgument("email: contains spaces or control characters");
    }
  }
  if (at == std::string::npos) return InvalidArgument("email: no '@'");
  if (at == 0) return InvalidArgument("email: nothing before '@'");
  const std::string_view domain = std::string_view(out).substr(at + 1);
  if (domain.empty()) return InvalidArgument("email: nothing after '@'");
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return InvalidArgument("email: the domain is not of the form name.tld");
  }
  return Status::Ok();
}

Status NormalisePlain(IdentityType type, std::string_view raw, std::string& out) {
  const std::string_view v = TrimAscii(raw);
  if (v.empty()) return InvalidArgument(TypeError(type, "empty value"));
  if (v.size() > kMaxIdentityBytes) return InvalidArgument(TypeError(type, "longer than 256 bytes"));
  out.assign(v);
  return Status::Ok();
}

}  // namespace

Status Pseudonymiser::NormaliseTo(IdentityType type, std::string_view raw, std::string& out) {
  Impl& impl = *impl_;
  Impl::LastValue& last = impl.last[static_cast<size_t>(type)];
  if (last.valid && raw == last.raw) {
    out.assign(last.stored);
    return Status::Ok();
  }
  last.valid = false;  // until this value is done: a failure is not remembered
  const bool hashed = impl.hashed[static_cast<size_t>(type)];
  // A hashed value is normalised into a reused buffer, so `out` is written
  // (and allocated) once, with the 32 hex chars.
  std::string& normalised = hashed ? impl.scratch : out;
  switch (type) {
    case IdentityType::kPhone: {
      const std::string_view v = TrimAscii(raw);
      if (!v.empty() && FastChineseMobile(v, impl.region_is_cn, normalised)) break;
      impl.lookup_key.assign(v);
      auto it = impl.slow_phones.find(impl.lookup_key);
      if (it == impl.slow_phones.end()) {
        if (impl.slow_phones.size() >= kCacheCapacity) impl.slow_phones.clear();
        StatusOr<std::string> e164 = NormalisePhone(v);
        it = impl.slow_phones.emplace(impl.lookup_key, e164.ok() ? *e164 : std::string()).first;
        if (!e164.ok()) return e164.status();
      }
      // A cached failure: recompute for its message (failures are rare).
      if (it->second.empty()) return NormalisePhone(v).status();
      normalised.assign(it->second);
      break;
    }
    case IdentityType::kEmail:
      OMNI_RETURN_IF_ERROR(NormaliseEmailTo(raw, normalised));
      break;
    default:
      OMNI_RETURN_IF_ERROR(NormalisePlain(type, raw, normalised));
  }
  if (hashed) {
    char hex[2 * kHashBytes];
    HashHex(impl.key, type, normalised, hex);
    out.assign(hex, sizeof(hex));
  }
  last.raw.assign(raw);
  last.stored.assign(out);
  last.valid = true;
  return Status::Ok();
}

StatusOr<std::string> Pseudonymiser::NormalisePhone(std::string_view raw) const {
  const std::string_view v = TrimAscii(raw);
  if (v.empty()) return InvalidArgument("phone: empty value");
  if (v.size() > 64) return InvalidArgument("phone: too long to be a phone number");
  std::string e164;
  if (FastChineseMobile(v, impl_->region_is_cn, e164)) return e164;
  for (char c : v) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      return InvalidArgument("phone: contains letters");
    }
  }
  PhoneNumber number;
  const auto err = impl_->phone_util->Parse(std::string(v), impl_->region, &number);
  if (err != PhoneNumberUtil::NO_PARSING_ERROR) return InvalidArgument("phone: not a phone number");
  if (impl_->phone_util->IsPossibleNumberWithReason(number) != PhoneNumberUtil::IS_POSSIBLE) {
    return InvalidArgument("phone: wrong number of digits for its country");
  }
  if (number.country_code() == 86) {
    const std::string national = std::to_string(number.national_number());
    if (national.size() >= 2 && national[0] == '1' && national[1] >= '3' && national[1] <= '9' &&
        national.size() != 11) {
      return InvalidArgument("phone: a Chinese mobile number has 11 digits");
    }
  }
  impl_->phone_util->Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

StatusOr<std::string> Pseudonymiser::NormaliseEmail(std::string_view raw) {
  std::string out;
  OMNI_RETURN_IF_ERROR(NormaliseEmailTo(raw, out));
  return out;
}

std::string Pseudonymiser::Hash(IdentityType type, std::string_view normalised) const {
  char hex[2 * kHashBytes];
  HashHex(impl_->key, type, normalised, hex);
  return std::string(hex, sizeof(hex));
}

// Errs towards masking: a quarantined record is for a human to recognise,
// and an order number hidden by mistake costs less than a phone number kept.
// A phone-like run is digits joined by at most two of " -()+" between them,
// with seven or more digits in all. Not masked: an ISO date (YYYY-MM-DD), so
// timestamps stay readable, and a run glued to ASCII letters by letters,
// digits, '-' or '_' ("C593062883", "SH-07-20260301", a UUID), which is an
// identifier rather than a phone. An e-mail is text around an '@'.
std::string MaskPii(std::string_view raw) {
  auto is_sep = [](char c) { return c == ' ' || c == '-' || c == '(' || c == ')' || c == '+'; };
  auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto is_local = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(static_cast<char>(c)) ||
           c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c >= 0x80;
  };
  auto is_domain = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(static_cast<char>(c)) ||
           c == '.' || c == '-' || c >= 0x80;
  };
  auto is_date_at = [&](size_t i) {
    // YYYY-MM-DD with a 19xx/20xx year and no digit after. Month and day are
    // not checked: "2025-13-01" is a bad date, not a phone number.
    if (raw.size() - i < 10) return false;
    const std::string_view d = raw.substr(i, 10);
    for (size_t k : {0, 1, 2, 3, 5, 6, 8, 9}) {
      if (!IsDigit(d[k])) return false;
    }
    if (d[4] != '-' || d[7] != '-') return false;
    if (!((d[0] == '1' && d[1] == '9') || (d[0] == '2' && d[1] == '0'))) return false;
    return i + 10 == raw.size() || !IsDigit(raw[i + 10]);
  };
  // Whether the word around [lo, hi) holds a letter. Looks at most 32 bytes
  // each way, so the scan stays linear; beyond that we mask.
  auto glued_to_letters = [&](size_t lo, size_t hi) {
    auto in_word = [&](char c) { return is_letter(c) || IsDigit(c) || c == '-' || c == '_'; };
    for (size_t k = lo, n = 0; k > 0 && n < 32 && in_word(raw[k - 1]); --k, ++n) {
      if (is_letter(raw[k - 1])) return true;
    }
    for (size_t k = hi, n = 0; k < raw.size() && n < 32 && in_word(raw[k]); ++k, ++n) {
      if (is_letter(raw[k])) return true;
    }
    return false;
  };

  // Pass 1: mark bytes to mask.
  std::vector<bool> mask(raw.size(), false);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '@') continue;
    size_t lo = i, hi = i + 1;
    while (lo > 0 && is_local(static_cast<unsigned char>(raw[lo - 1]))) --lo;
    while (hi < raw.size() && is_domain(static_cast<unsigned char>(raw[hi]))) ++hi;
    if (lo < i && hi > i + 1) {
      for (size_t k = lo; k < hi; ++k) mask[k] = true;
    }
  }
  size_t i = 0;
  while (i < raw.size()) {
    if (!IsDigit(raw[i]) && !(raw[i] == '+' || raw[i] == '(')) {
      ++i;
      continue;
    }
    if (IsDigit(raw[i]) && (i == 0 || !IsDigit(raw[i - 1])) && is_date_at(i)) {
      i += 10;
      continue;
    }
    // Extend over digits and short separator runs that lead to another digit.
    size_t j = i, first_digit = std::string_view::npos, last_digit = 0, digits = 0;
    while (j < raw.size()) {
      if (IsDigit(raw[j])) {
        if (first_digit == std::string_view::npos) first_digit = j;
        last_digit = j;
        ++digits;
        ++j;
        continue;
      }
      size_t k = j;
      while (k < raw.size() && k - j < 3 && is_sep(raw[k])) ++k;
      if (k > j && k - j <= 2 && k < raw.size() && IsDigit(raw[k]) && !is_date_at(k)) {
        j = k;
        continue;
      }
      break;
    }
    if (digits >= 7 && !glued_to_letters(i, last_digit + 1)) {
      // Keep a leading '+' / '(' with the number: "(+86) 138..." masks whole.
      for (size_t k = i; k <= last_digit; ++k) mask[k] = true;
    }
    i = j > i ? j : i + 1;
  }

  // Pass 2: copy, collapsing each masked run into one "***".
  std::string out;
  out.reserve(raw.size());
  for (size_t k = 0; k < raw.size();) {
    if (!mask[k]) {
      out.push_back(raw[k++]);
      continue;
    }
    out.append("***");
    while (k < raw.size() && mask[k]) ++k;
  }
  return out;
}

}  // namespace omni::ingest
