#include "omni/ingest/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "omni/ingest/config_file.h"
#include "omni/ingest/pii.h"

namespace omni::ingest {
namespace {

namespace fs = std::filesystem;

fs::path TestDir(std::string_view name) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  fs::path dir = fs::path(base != nullptr && *base != '\0' ? base : fs::temp_directory_path().string()) /
                 ("config_test_" + std::string(name) + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteFile(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The key must come from the data directory in these tests.
class NoPiiKeyEnv {
 public:
  NoPiiKeyEnv() {
    if (const char* v = std::getenv("OMNI_PII_KEY")) saved_ = v, had_ = true;
    ::unsetenv("OMNI_PII_KEY");
  }
  ~NoPiiKeyEnv() {
    if (had_) ::setenv("OMNI_PII_KEY", saved_.c_str(), 1);
  }

 private:
  std::string saved_;
  bool had_ = false;
};

TEST(IngestConfig, DefaultVocabulariesFollowTheDesign) {
  const IngestConfig c;
  for (std::string_view ch : {"web", "app", "miniprogram", "store", "social", "email", "sms", "kiosk",
                              "callcenter"}) {
    EXPECT_TRUE(c.IsChannel(ch)) << ch;
  }
  EXPECT_FALSE(c.IsChannel("tv"));
  EXPECT_FALSE(c.IsChannel("Store"));  // vocabularies are case-sensitive
  EXPECT_FALSE(c.IsChannel(""));
  for (std::string_view t : {"view", "search", "add_to_cart", "purchase", "refund", "click", "impression",
                             "open", "coupon_redeem", "store_visit", "signup", "consent"}) {
    EXPECT_TRUE(c.IsEventType(t)) << t;
  }
  EXPECT_FALSE(c.IsEventType("wishlist"));
  EXPECT_TRUE(c.IsHashed(IdentityType::kPhone));
  EXPECT_TRUE(c.IsHashed(IdentityType::kEmail));
  EXPECT_FALSE(c.IsHashed(IdentityType::kMemberCard));
}

TEST(IngestConfig, CustomTypesNeedThePrefixAndANonEmptySuffix) {
  IngestConfig c;
  EXPECT_TRUE(c.IsEventType("custom:wishlist"));
  EXPECT_FALSE(c.IsEventType("custom:"));
  EXPECT_FALSE(c.IsEventType("custom"));
  EXPECT_FALSE(c.IsEventType("Custom:wishlist"));
  c.custom_type_prefix = "";
  EXPECT_FALSE(c.IsEventType("custom:wishlist"));
  EXPECT_FALSE(c.IsEventType("anything"));
}

TEST(LoadIngestConfig, MissingFileMeansDefaultsAndAKey) {
  NoPiiKeyEnv env;
  const fs::path dir = TestDir("defaults") / "omni-data";
  StatusOr<IngestConfig> c = LoadIngestConfig(dir.string());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->channels, IngestConfig().channels);
  EXPECT_EQ(c->max_record_bytes, IngestConfig().max_record_bytes);
  EXPECT_NE(c->pii_key, PiiKey{});
  EXPECT_TRUE(fs::exists(dir / "pii.key"));
  // The same key next time: hashes stay comparable across imports.
  StatusOr<IngestConfig> again = LoadIngestConfig(dir.string());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->pii_key, c->pii_key);
}

TEST(LoadIngestConfig, FileOverridesTheDefaults) {
  NoPiiKeyEnv env;
  const fs::path dir = TestDir("override");
  WriteFile(dir / "config.json", R"({
    "channels": ["store", "wechat"],
    "event_types": ["purchase", "view"],
    "max_record_bytes": 1024,
    "hashed_identity_types": ["phone", "email", "member_card"],
    "default_phone_region": "HK",
    "recommend": {"half_life_days": 30}
  })");
  StatusOr<IngestConfig> c = LoadIngestConfig(dir.string());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->IsChannel("wechat"));
  EXPECT_FALSE(c->IsChannel("web"));
  EXPECT_TRUE(c->IsEventType("view"));
  EXPECT_FALSE(c->IsEventType("refund"));
  EXPECT_TRUE(c->IsEventType("custom:x"));
  EXPECT_EQ(c->max_record_bytes, 1024u);
  EXPECT_TRUE(c->IsHashed(IdentityType::kMemberCard));
  EXPECT_EQ(c->default_phone_region, "HK");
}

TEST(LoadIngestConfig, BadValuesFailNamingTheKey) {
  NoPiiKeyEnv env;
  const fs::path dir = TestDir("bad");
  const std::pair<std::string_view, std::string_view> cases[] = {
      {R"({"channels": "web"})", "channels"},
      {R"({"channels": []})", "channels"},
      {R"({"channels": ["web", "web"]})", "channels"},
      {R"({"channels": ["web", ""]})", "channels"},
      {R"({"event_types": [1]})", "event_types"},
      {R"({"max_record_bytes": -1})", "max_record_bytes"},
      {R"({"max_record_bytes": "64k"})", "max_record_bytes"},
      {R"({"max_record_bytes": 1.5})", "max_record_bytes"},
      {R"({"hashed_identity_types": ["phone", "nickname"]})", "hashed_identity_types"},
      {R"({"default_phone_region": "XX"})", "default_phone_region"},
      {R"({"default_phone_region": "china"})", "default_phone_region"},
      {R"({"custom_type_prefix": 3})", "custom_type_prefix"},
  };
  for (const auto& [json, key] : cases) {
    WriteFile(dir / "config.json", json);
    StatusOr<IngestConfig> c = LoadIngestConfig(dir.string());
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << json;
    EXPECT_NE(c.status().message().find(key), std::string::npos) << c.status().message();
  }
}

TEST(LoadIngestConfig, MalformedFileFails) {
  NoPiiKeyEnv env;
  const fs::path dir = TestDir("malformed");
  for (std::string_view json : {"{", "[1,2]", "", "{\"channels\": [\"web\"],}"}) {
    WriteFile(dir / "config.json", json);
    StatusOr<IngestConfig> c = LoadIngestConfig(dir.string());
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("config.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace omni::ingest
