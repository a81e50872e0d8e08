#include "omni/ingest/pii.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumberutil.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

namespace omni::ingest {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test under $OMNI_TEST_TMP (set by CTest) or the
// system temp dir.
fs::path TestDir(std::string_view name) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  fs::path dir = fs::path(base != nullptr && *base != '\0' ? base : fs::temp_directory_path().string()) /
                 ("pii_test_" + std::string(name) + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Unsets OMNI_PII_KEY for the test's duration, restoring it after.
class PiiKeyEnv {
 public:
  PiiKeyEnv() {
    if (const char* v = std::getenv("OMNI_PII_KEY")) saved_ = v, had_ = true;
    ::unsetenv("OMNI_PII_KEY");
  }
  ~PiiKeyEnv() {
    if (had_) ::setenv("OMNI_PII_KEY", saved_.c_str(), 1);
    else ::unsetenv("OMNI_PII_KEY");
  }

 private:
  std::string saved_;
  bool had_ = false;
};

IngestConfig TestConfig() {
  IngestConfig config;
  for (size_t i = 0; i < config.pii_key.size(); ++i) config.pii_key[i] = static_cast<unsigned char>(i);
  return config;
}

constexpr std::string_view kChineseMobileFormats[] = {
    "138 0013 8000",      "13800138000",      "+86-138-0013-8000",  "+86 138 0013 8000",
    "0086 138 0013 8000", "(+86) 13800138000", " 13800138000 ",     "+8613800138000",
    "8613800138000",      "138-0013-8000",    "+86 (0)138 0013 8000"};

TEST(NormalisePhone, ChineseMobileFormatsAllBecomeOneE164Number) {
  Pseudonymiser p(TestConfig());
  for (std::string_view raw : kChineseMobileFormats) {
    StatusOr<std::string> e164 = p.NormalisePhone(raw);
    ASSERT_TRUE(e164.ok()) << raw << ": " << e164.status().ToString();
    EXPECT_EQ(*e164, "+8613800138000") << raw;
  }
}

// The fast path for Chinese mobiles must agree with libphonenumber on every
// shape it takes, or the same customer would get two hashes.
TEST(NormalisePhone, FastPathAgreesWithLibphonenumber) {
  using ::i18n::phonenumbers::PhoneNumber;
  using ::i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  std::mt19937 rng(7);
  const std::string_view prefixes[] = {"", "+86", "+86 ", "+86-", "0086 ", "0086", "86", "86 ", "(+86) ",
                                       "(+86)", "+ 86 ", "(86) "};
  const std::string_view seps[] = {"", " ", "-", ".", " - ", "(", ")"};
  for (std::string_view region : {"CN", "US", "HK"}) {
    IngestConfig config = TestConfig();
    config.default_phone_region = std::string(region);
    Pseudonymiser p(config);
    for (int i = 0; i < 4000; ++i) {
      std::string digits = "1";
      digits += static_cast<char>('0' + rng() % 10);  // 10..19: includes non-mobile blocks
      for (int k = 0; k < 9; ++k) digits += static_cast<char>('0' + rng() % 10);
      if (rng() % 8 == 0) digits.pop_back();           // wrong lengths too
      if (rng() % 8 == 0) digits += '5';
      std::string raw(prefixes[rng() % std::size(prefixes)]);
      const std::string_view sep = seps[rng() % std::size(seps)];
      for (size_t k = 0; k < digits.size(); ++k) {
        if (k == 3 || k == 7) raw += sep;
        raw += digits[k];
      }
      StatusOr<std::string> ours = p.NormalisePhone(raw);
      PhoneNumber number;
      std::string theirs;
      if (util->Parse(raw, std::string(region), &number) == PhoneNumberUtil::NO_PARSING_ERROR &&
          util->IsPossibleNumberWithReason(number) == PhoneNumberUtil::IS_POSSIBLE) {
        util->Format(number, PhoneNumberUtil::E164, &theirs);
      }
      if (ours.ok()) {
        EXPECT_EQ(*ours, theirs) << region << " [" << raw << "]";
      } else {
        // We may refuse more (the 11-digit rule for mobiles), but never a
        // well-formed Chinese mobile that libphonenumber accepts.
        const bool cn_mobile = theirs.size() == 14 && theirs.rfind("+861", 0) == 0 && theirs[4] >= '3';
        EXPECT_FALSE(cn_mobile) << region << " [" << raw << "] libphonenumber: " << theirs;
      }
    }
  }
}

TEST(NormalisePhone, ForeignNumbersWithCountryCodeKeepTheirCountry) {
  Pseudonymiser p(TestConfig());
  EXPECT_EQ(*p.NormalisePhone("+1 650-253-0000"), "+16502530000");
  EXPECT_EQ(*p.NormalisePhone("+44 20 7946 0958"), "+442079460958");
}

TEST(NormalisePhone, DefaultRegionComesFromConfig) {
  IngestConfig config = TestConfig();
  config.default_phone_region = "US";
  Pseudonymiser p(config);
  EXPECT_EQ(*p.NormalisePhone("(650) 253-0000"), "+16502530000");
}

TEST(NormalisePhone, RejectsWhatIsNotAPhoneNumberWithoutEchoingIt) {
  Pseudonymiser p(TestConfig());
  for (std::string_view raw : {"abc", "123", "", "   ", "138abcd0000", "1380013800", "138001380001",
                               "12345678901234567890", "n/a", "+", "--"}) {
    StatusOr<std::string> r = p.NormalisePhone(raw);
    ASSERT_FALSE(r.ok()) << "accepted \"" << raw << "\" as " << *r;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("phone"), std::string::npos);
    if (raw.size() > 3) {
      EXPECT_EQ(r.status().message().find(raw), std::string::npos);
    }
  }
}

TEST(NormaliseEmail, TrimsAndLowerCasesAsciiOnly) {
  EXPECT_EQ(*Pseudonymiser::NormaliseEmail("  Alice.Smith@Example.COM \t"), "alice.smith@example.com");
  // Non-ASCII bytes are left as they are (no Unicode case folding).
  EXPECT_EQ(*Pseudonymiser::NormaliseEmail("ZOË@Example.com"), "zoË@example.com");
  EXPECT_EQ(*Pseudonymiser::NormaliseEmail("张三@例子.公司"), "张三@例子.公司");
}

TEST(NormaliseEmail, RejectsMalformedAddresses) {
  for (std::string_view raw : {"", "alice", "alice@", "@example.com", "a@@example.com",
                               "a@b@example.com", "alice@example", "alice@.com", "alice@example.",
                               "alice@example..com", "al ice@example.com", "alice@exa\tmple.com"}) {
    StatusOr<std::string> r = Pseudonymiser::NormaliseEmail(raw);
    EXPECT_FALSE(r.ok()) << "accepted \"" << raw << "\"";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(Hash, IsKeyedBlake2bOfTypeNameZeroAndValue) {
  const IngestConfig config = TestConfig();
  Pseudonymiser p(config);
  const std::string h = p.Hash(IdentityType::kPhone, "+8613800138000");
  ASSERT_EQ(h.size(), 32u);
  for (char c : h) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << h;

  // The documented construction, computed independently with the one-shot API.
  const std::string input = std::string("phone") + '\0' + "+8613800138000";
  unsigned char digest[16];
  ASSERT_EQ(crypto_generichash(digest, sizeof(digest), reinterpret_cast<const unsigned char*>(input.data()),
                               input.size(), config.pii_key.data(), config.pii_key.size()),
            0);
  char hex[33];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  EXPECT_EQ(h, hex);
}

TEST(Hash, DependsOnKeyAndTypeSoTypesNeverCollide) {
  IngestConfig a = TestConfig();
  IngestConfig b = TestConfig();
  b.pii_key[0] ^= 1;
  Pseudonymiser pa(a), pb(b);
  EXPECT_EQ(pa.Hash(IdentityType::kEmail, "x@y.cn"), pa.Hash(IdentityType::kEmail, "x@y.cn"));
  EXPECT_NE(pa.Hash(IdentityType::kEmail, "x@y.cn"), pb.Hash(IdentityType::kEmail, "x@y.cn"));
  EXPECT_NE(pa.Hash(IdentityType::kCustomerId, "12345"), pa.Hash(IdentityType::kMemberCard, "12345"));
}

TEST(Normalise, EveryChinesePhoneFormatStoresTheSameHashAndNeverTheRawNumber) {
  Pseudonymiser p(TestConfig());
  const std::string expected = p.Hash(IdentityType::kPhone, "+8613800138000");
  for (int round = 0; round < 2; ++round) {  // round two: "(0)" shapes come from the cache
    for (std::string_view raw : kChineseMobileFormats) {
      StatusOr<std::string> stored = p.Normalise(IdentityType::kPhone, raw);
      ASSERT_TRUE(stored.ok()) << raw;
      EXPECT_EQ(*stored, expected) << raw;
      EXPECT_EQ(stored->find("13800138000"), std::string::npos);
    }
  }
}

TEST(Normalise, EmailIsCaseInsensitive) {
  Pseudonymiser p(TestConfig());
  EXPECT_EQ(*p.Normalise(IdentityType::kEmail, "Li.Wei@QQ.com"), *p.Normalise(IdentityType::kEmail, "li.wei@qq.COM "));
  EXPECT_EQ(*p.Normalise(IdentityType::kEmail, "li.wei@qq.com"),
            p.Hash(IdentityType::kEmail, "li.wei@qq.com"));
}

TEST(Normalise, FailuresRepeatIdenticallyFromTheCache) {
  Pseudonymiser p(TestConfig());
  StatusOr<std::string> first = p.Normalise(IdentityType::kPhone, "123");
  StatusOr<std::string> second = p.Normalise(IdentityType::kPhone, "123");
  ASSERT_FALSE(first.ok());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(first.status().message(), second.status().message());
  EXPECT_EQ(first.status().message().find("123"), std::string::npos);
}

TEST(Normalise, UnhashedTypesAreTrimmedAndBounded) {
  Pseudonymiser p(TestConfig());
  EXPECT_EQ(*p.Normalise(IdentityType::kMemberCard, "  M0042 "), "M0042");
  EXPECT_EQ(*p.Normalise(IdentityType::kDeviceId, "设备-1"), "设备-1");
  EXPECT_FALSE(p.Normalise(IdentityType::kCustomerId, "   ").ok());
  EXPECT_TRUE(p.Normalise(IdentityType::kCookieId, std::string(256, 'c')).ok());
  EXPECT_FALSE(p.Normalise(IdentityType::kCookieId, std::string(257, 'c')).ok());
}

TEST(Normalise, HashedTypesFollowTheConfig) {
  IngestConfig config = TestConfig();
  config.hashed_identity_types = {IdentityType::kCustomerId};
  Pseudonymiser p(config);
  EXPECT_EQ(*p.Normalise(IdentityType::kCustomerId, " C1 "), p.Hash(IdentityType::kCustomerId, "C1"));
  // Phone no longer hashed: stored as E.164.
  EXPECT_EQ(*p.Normalise(IdentityType::kPhone, "138 0013 8000"), "+8613800138000");
}

TEST(LoadOrCreatePiiKey, CreatesA0600KeyFileOnceAndReusesIt) {
  PiiKeyEnv env;
  const fs::path dir = TestDir("create") / "nested" / "data";  // created on demand
  StatusOr<PiiKey> first = LoadOrCreatePiiKey(dir.string());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const fs::path file = dir / "pii.key";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_NE(*first, PiiKey{});

  StatusOr<PiiKey> second = LoadOrCreatePiiKey(dir.string());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(*first, *second);
  // No temporary files left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(LoadOrCreatePiiKey, ConcurrentCreatorsAgreeOnOneKey) {
  PiiKeyEnv env;
  const fs::path dir = TestDir("race");
  std::vector<PiiKey> keys(8);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (size_t i = 0; i < keys.size(); ++i) {
    threads.emplace_back([&, i] {
      StatusOr<PiiKey> k = LoadOrCreatePiiKey(dir.string());
      if (k.ok()) keys[i] = *k;
      else ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  StatusOr<PiiKey> on_disk = LoadOrCreatePiiKey(dir.string());
  ASSERT_TRUE(on_disk.ok());
  for (const PiiKey& k : keys) EXPECT_EQ(k, *on_disk);
}

TEST(LoadOrCreatePiiKey, RefusesAKeyFileOthersCanRead) {
  PiiKeyEnv env;
  const fs::path dir = TestDir("mode");
  ASSERT_TRUE(LoadOrCreatePiiKey(dir.string()).ok());
  ASSERT_EQ(::chmod((dir / "pii.key").c_str(), 0644), 0);
  StatusOr<PiiKey> k = LoadOrCreatePiiKey(dir.string());
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(::chmod((dir / "pii.key").c_str(), 0600), 0);
  EXPECT_TRUE(LoadOrCreatePiiKey(dir.string()).ok());
}

TEST(LoadOrCreatePiiKey, RefusesATruncatedKeyFile) {
  PiiKeyEnv env;
  const fs::path dir = TestDir("truncated");
  {
    std::ofstream out(dir / "pii.key", std::ios::binary);
    out << "short";
  }
  ASSERT_EQ(::chmod((dir / "pii.key").c_str(), 0600), 0);
  StatusOr<PiiKey> k = LoadOrCreatePiiKey(dir.string());
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), StatusCode::kFailedPrecondition);
}

TEST(LoadOrCreatePiiKey, EnvironmentVariableWinsAndIsValidated) {
  PiiKeyEnv env;
  const fs::path dir = TestDir("env");
  const std::string hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
  ::setenv("OMNI_PII_KEY", hex.c_str(), 1);
  StatusOr<PiiKey> k = LoadOrCreatePiiKey(dir.string());
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(*k, TestConfig().pii_key);
  EXPECT_FALSE(fs::exists(dir / "pii.key"));  // nothing written when the key comes from outside

  ::setenv("OMNI_PII_KEY", "not-hex", 1);
  k = LoadOrCreatePiiKey(dir.string());
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(k.status().message().find("not-hex"), std::string::npos);
}

TEST(MaskPii, MasksPhonesAndEmailsButKeepsTheRest) {
  const std::string masked = MaskPii(
      R"({"ts":"2026-03-01T10:15:02+08:00","identities":{"phone":"+86 138 0013 8000",)"
      R"("email":"Li.Wei@qq.com"},"quantity":2,"price":59.0,"item_id":"SKU-991"})");
  EXPECT_EQ(masked,
            R"({"ts":"2026-03-01T10:15:02+08:00","identities":{"phone":"***",)"
            R"("email":"***"},"quantity":2,"price":59.0,"item_id":"SKU-991"})");
}

TEST(MaskPii, MasksEveryChinesePhoneFormat) {
  for (std::string_view raw : kChineseMobileFormats) {
    const std::string masked = MaskPii("tel: " + std::string(raw) + ";");
    EXPECT_EQ(masked.find("8000"), std::string::npos) << raw << " -> " << masked;
    EXPECT_NE(masked.find("***"), std::string::npos) << raw;
  }
}

TEST(MaskPii, LeavesShortNumbersDatesAndIdentifiersAlone) {
  for (std::string_view text :
       {"order R-88123, qty 3, 2026-03-01 10:15", "no pii here: 抹茶拿铁", "2025-13-01T08:00:00+08:00",
        R"({"customer_id":"C593062883","order_id":"R-SH-07-20260301-1234567"})",
        R"({"cookie_id":"c99fec69-770f-4e2b-9988-36f530b0816b","item_id":"SKU9912345"})"}) {
    EXPECT_EQ(MaskPii(text), text);
  }
}

TEST(MaskPii, MasksPhonesInFreeText) {
  EXPECT_EQ(MaskPii("call 138 0013 8000 now"), "call *** now");
  EXPECT_EQ(MaskPii("tel:13800138000;"), "tel:***;");
  EXPECT_EQ(MaskPii("电话13800138000"), "电话***");
  EXPECT_EQ(MaskPii(R"({"ts":1772331302})"), R"({"ts":***})");  // epoch seconds look like phones
}

}  // namespace
}  // namespace omni::ingest
