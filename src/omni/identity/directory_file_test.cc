// The directory file (directory_file.h): a directory loaded from it is the
// one the identity tables give; a file of an earlier state (after a new
// resolution, a split, an erasure) or a damaged one is never used; after an
// erasure no file holds the person's identifiers.
#include "omni/identity/directory_file.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "gtest/gtest.h"
#include "omni/demo/generator.h"
#include "omni/identity/erasure.h"
#include "omni/identity/identity.h"
#include "omni/identity/test_util.h"

namespace omni::identity {
namespace {

using namespace omni::identity::testing;  // NOLINT: test helpers
namespace fs = std::filesystem;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string FilePath(DataDir& d) { return internal::DirectoryFilePath(d.path()); }

internal::DirectoryStamp Stamp(DataDir& d) {
  auto state = internal::ReadIdentityState(d.sql());
  EXPECT_TRUE(state.ok()) << state.status().ToString();
  return state.ok() ? internal::DirectoryStamp::Of(*state) : internal::DirectoryStamp{};
}

// True when the file at the path is there and belongs to the tables' state.
bool FileIsCurrent(DataDir& d) { return internal::DirectoryFile::Read(FilePath(d), Stamp(d)).ok(); }

std::unique_ptr<CustomerDirectory> Load(DataDir& d, bool use_file, bool value_index = true) {
  DirectoryOptions options;
  options.use_file = use_file;
  options.value_index = value_index;
  auto loaded = LoadDirectory(d.sql(), IdentityConfig{}, options);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  return loaded.ok() ? std::move(loaded).value() : nullptr;
}

std::unique_ptr<CustomerDirectory> FromTables(DataDir& d) { return Load(d, false); }

// Every observable of two directories, against the tables' identifiers,
// aliases and events.
void ExpectSame(const CustomerDirectory& got, const CustomerDirectory& want, DataDir& d) {
  ASSERT_EQ(got.customer_count(), want.customer_count());
  ASSERT_EQ(got.identifier_count(), want.identifier_count());
  for (int32_t c = 0; c < want.customer_count(); ++c) {
    EXPECT_EQ(got.CustomerKey(c), want.CustomerKey(c));
    EXPECT_EQ(got.DenseIdOfKey(want.CustomerKey(c)), c);
    EXPECT_EQ(got.IdentifiersOf(c), want.IdentifiersOf(c));
  }
  for (int32_t i = 0; i < want.identifier_count(); ++i) {
    const auto a = got.identifier(i);
    const auto b = want.identifier(i);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.value, b.value);
    EXPECT_EQ(a.first_seq, b.first_seq);
    EXPECT_EQ(a.customer, b.customer);
  }
  int64_t aliases = 0;
  ASSERT_TRUE(d.sql()
                  .Query("SELECT old_key FROM customer_key_aliases", {},
                         [&](const store::SqlRow& row) {
                           ++aliases;
                           const std::string key(row.Text(0));
                           EXPECT_EQ(got.DenseIdOfKey(key), want.DenseIdOfKey(key)) << key;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(got.DenseIdOfKey("C999999999"), std::nullopt);
  ASSERT_TRUE(d.sql()
                  .Query("SELECT type, value FROM identifiers", {},
                         [&](const store::SqlRow& row) {
                           const ingest::Identity identity{*ingest::ParseIdentityType(row.Text(0)),
                                                           std::string(row.Text(1))};
                           EXPECT_EQ(got.CustomerOf(identity), want.CustomerOf(identity));
                           return true;
                         })
                  .ok());
  ASSERT_TRUE(d.store()
                  .ScanEvents(0,
                              [&](int64_t, const ingest::Event& event) {
                                EXPECT_EQ(got.CustomerOfEvent(event), want.CustomerOfEvent(event));
                                return true;
                              })
                  .ok());
}

// The demo retailer (with shared devices), plus a merge that leaves an alias.
void MakeStore(DataDir& d) {
  ImportDemo(d, {.customers = 300, .events = 8000, .seed = 11, .shared_device_rate = 0.05});
  // (Weak identifiers: no guard counts them.)
  d.Write({{"a1", {Cookie("alias-a"), Device("alias-a")}}, {"b1", {Cookie("alias-b"), Device("alias-b")}}});
  d.Resolve();
  d.Write({{"ab", {Cookie("alias-a"), Device("alias-b")}}});  // B's customer merges into A's
  d.Resolve();
  ASSERT_GT(d.Count("SELECT count(*) FROM customer_key_aliases"), 0);
  ASSERT_GT(d.Count("SELECT count(*) FROM identifiers WHERE shared = 1"), 0);
}

TEST(DirectoryFileTest, ALoadFromTheFileEqualsALoadFromTheTables) {
  DataDir d("dirfile-equal");
  MakeStore(d);
  ASSERT_EQ(internal::DataDirOf(d.sql()).value_or(""), d.path());
  // Resolve wrote the file for the state it committed.
  ASSERT_TRUE(FileIsCurrent(d));
  auto tables = FromTables(d);
  auto file = Load(d, true);
  ASSERT_TRUE(tables && file);
  ExpectSame(*file, *tables, d);

  // Without the file, a load reads the tables and writes it; the next load
  // reads that one. Loads without value maps agree too.
  fs::remove(FilePath(d));
  ASSERT_TRUE(Load(d, true));
  ASSERT_TRUE(FileIsCurrent(d));
  auto again = Load(d, true);
  ASSERT_TRUE(again);
  ExpectSame(*again, *tables, d);
  auto bare_file = Load(d, true, false);
  auto bare_tables = Load(d, false, false);
  ASSERT_EQ(bare_file->identifier_count(), bare_tables->identifier_count());
  for (int32_t i = 0; i < bare_tables->identifier_count(); ++i) {
    EXPECT_EQ(bare_file->identifier(i).value, bare_tables->identifier(i).value);
    EXPECT_EQ(bare_file->identifier(i).customer, bare_tables->identifier(i).customer);
  }

  // use_file = false neither reads nor writes it.
  fs::remove(FilePath(d));
  ASSERT_TRUE(FromTables(d));
  EXPECT_FALSE(fs::exists(FilePath(d)));
}

// The file is what a load uses when its stamp is the tables' (a file made
// to differ from the tables shows through), and only then.
TEST(DirectoryFileTest, TheLoadUsesTheFileOnlyWhenItsStampIsTheTables) {
  DataDir d("dirfile-used");
  d.Write({{"e1", {Card("M1"), Cookie("k1")}}, {"e2", {Card("M2")}}});
  d.Resolve();
  auto tables = FromTables(d);
  ASSERT_EQ(tables->customer_count(), 2);

  internal::DirectoryBuffers doctored;
  doctored.type = {static_cast<uint8_t>(IdentityType::kMemberCard)};
  doctored.first_seq = {1};
  doctored.text = "NOT-IN-THE-TABLES";
  doctored.value_begin = {0, doctored.text.size()};
  const std::vector<int64_t> numbers = {7};
  doctored.AssignCustomers(numbers);
  const internal::DirectoryStamp stamp = Stamp(d);
  ASSERT_TRUE(internal::WriteDirectoryFile(d.sql(), d.path(), stamp, doctored.View()).ok());
  auto used = Load(d, true);
  ASSERT_EQ(used->customer_count(), 1);
  EXPECT_EQ(used->CustomerKey(0), "C000000007");
  EXPECT_EQ(used->CustomerOf(Card("NOT-IN-THE-TABLES")), 0);

  // The same generation with another updated_at_ms (a restored copy of the
  // database) or another watermark is another state.
  for (int field = 0; field < 3; ++field) {
    internal::DirectoryStamp other = stamp;
    if (field == 0) other.updated_at_ms -= 1;
    if (field == 1) other.watermark += 1;
    if (field == 2) other.generation += 1;
    ASSERT_TRUE(internal::WriteDirectoryFile(d.sql(), d.path(), other, doctored.View()).ok());
    // The writer saw the stamp differ from the tables' and took it back.
    EXPECT_FALSE(fs::exists(FilePath(d)));
    // Put it there anyway, as a stale file left behind would be.
    internal::DirectoryStamp saved = other;
    ASSERT_TRUE(d.sql().Execute("UPDATE identity_state SET generation = ?, updated_at_ms = ?, watermark = ?",
                                {saved.generation, saved.updated_at_ms, saved.watermark}).ok());
    ASSERT_TRUE(internal::WriteDirectoryFile(d.sql(), d.path(), other, doctored.View()).ok());
    ASSERT_TRUE(d.sql().Execute("UPDATE identity_state SET generation = ?, updated_at_ms = ?, watermark = ?",
                                {stamp.generation, stamp.updated_at_ms, stamp.watermark}).ok());
    ASSERT_TRUE(fs::exists(FilePath(d)));
    auto loaded = Load(d, true);
    ExpectSame(*loaded, *tables, d);
  }
}

// After each kind of write to the identity tables, a load reflects it even
// when the file of the earlier state is still there.
TEST(DirectoryFileTest, AFileOfAnEarlierStateIsNotUsed) {
  DataDir d("dirfile-stale");
  d.Write({{"e1", {Card("M1"), Cookie("k1")}}, {"e2", {Card("M2"), Cookie("k2")}},
           {"e3", {Card("M3"), Device("tab")}}});
  d.Resolve();
  ASSERT_EQ(FromTables(d)->customer_count(), 3);

  // Runs `change`, puts the file of before back, and checks a load.
  auto after = [&](const char* what, const std::function<void()>& change) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(FileIsCurrent(d));
    const std::string before = ReadBytes(FilePath(d));
    auto old = Load(d, true);
    change();
    WriteBytes(FilePath(d), before);
    auto tables = FromTables(d);
    auto loaded = Load(d, true);
    ExpectSame(*loaded, *tables, d);
    // The change is visible (so the old file would have given another answer).
    EXPECT_NE(old->identifier_count(), tables->identifier_count());
  };
  after("new events add identifiers and link them", [&] {
    d.Write({{"e4", {Card("M1"), Phone("p1"), Device("d1")}}});
    d.Resolve();
    ASSERT_EQ(d.KeyOf(Phone("p1")), d.KeyOf(Card("M1")));
  });
  after("split", [&] {
    auto split = Split(d.store(), d.sql(), IdentityConfig{}, Phone("p1"), /*undo=*/false);
    ASSERT_TRUE(split.ok()) << split.status().ToString();
  });
  after("forget", [&] {
    auto forgotten = Forget(d.store(), d.sql(), IdentityConfig{}, Card("M2"));
    ASSERT_TRUE(forgotten.ok()) << forgotten.status().ToString();
  });
}

TEST(DirectoryFileTest, ADamagedFileIsNotUsed) {
  DataDir d("dirfile-damaged");
  MakeStore(d);
  ASSERT_TRUE(FileIsCurrent(d));
  const std::string good = ReadBytes(FilePath(d));
  auto tables = FromTables(d);
  ASSERT_GT(good.size(), 1000u);

  std::vector<std::pair<std::string, std::string>> damaged;
  for (size_t length : {size_t{0}, size_t{100}, size_t{128}, good.size() / 2, good.size() - 1}) {
    damaged.emplace_back("cut at " + std::to_string(length), good.substr(0, length));
  }
  damaged.emplace_back("one byte more", good + "x");
  // A byte in the header, the first and middle arrays, the values (near the
  // end) and the last byte.
  for (size_t at : {size_t{20}, size_t{130}, good.size() / 2, good.size() - 200, good.size() - 1}) {
    std::string flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
    damaged.emplace_back("byte " + std::to_string(at) + " flipped", flipped);
  }
  for (const auto& [what, bytes] : damaged) {
    SCOPED_TRACE(what);
    WriteBytes(FilePath(d), bytes);
    auto stamp = Stamp(d);
    EXPECT_FALSE(internal::DirectoryFile::Read(FilePath(d), stamp).ok());
    auto loaded = Load(d, true);
    ASSERT_TRUE(loaded);
    ExpectSame(*loaded, *tables, d);
    // And the load put a good one back.
    EXPECT_EQ(ReadBytes(FilePath(d)).size(), good.size());
    EXPECT_TRUE(FileIsCurrent(d));
  }
}

// Whatever the checksum says, nothing out of range reaches the directory.
TEST(DirectoryFileTest, AFileWithARightChecksumButIndexesOutOfRangeIsNotUsed) {
  DataDir d("dirfile-range");
  d.Write({{"e1", {Card("M1"), Cookie("k1")}}, {"e2", {Card("M2")}}});
  d.Resolve();
  auto tables = FromTables(d);
  auto good = [] {
    internal::DirectoryBuffers b;
    b.type = {static_cast<uint8_t>(IdentityType::kMemberCard), static_cast<uint8_t>(IdentityType::kCookieId)};
    b.first_seq = {1, 1};
    b.text = "M9k9";
    b.value_begin = {0, 2, 4};
    b.numbers = {3, 8};
    b.customer = {0, 1};
    b.alias_text = "C000000004";
    b.alias_begin = {0, 10};
    b.alias_customer = {1};
    return b;
  };
  std::vector<std::pair<std::string, internal::DirectoryBuffers>> bad;
  bad.emplace_back("customer", good());
  bad.back().second.customer[1] = 2;
  bad.emplace_back("negative customer", good());
  bad.back().second.customer[0] = -1;
  bad.emplace_back("type", good());
  bad.back().second.type[0] = 200;
  bad.emplace_back("value offsets", good());
  bad.back().second.value_begin = {0, 5, 4};
  bad.emplace_back("value end", good());
  bad.back().second.value_begin = {0, 2, 3};
  bad.emplace_back("key numbers", good());
  bad.back().second.numbers = {8, 3};
  bad.emplace_back("alias customer", good());
  bad.back().second.alias_customer = {2};
  bad.emplace_back("alias offsets", good());
  bad.back().second.alias_begin = {0, 11};
  const internal::DirectoryStamp stamp = Stamp(d);
  ASSERT_TRUE(internal::WriteDirectoryFile(d.sql(), d.path(), stamp, good().View()).ok());
  ASSERT_TRUE(FileIsCurrent(d));  // the doctored file itself is fine
  for (const auto& [what, buffers] : bad) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(internal::WriteDirectoryFile(d.sql(), d.path(), stamp, buffers.View()).ok());
    EXPECT_EQ(internal::DirectoryFile::Read(FilePath(d), stamp).status().code(), StatusCode::kInternal);
    auto loaded = Load(d, true);
    ASSERT_TRUE(loaded);
    ExpectSame(*loaded, *tables, d);
  }
}

// A file that cannot be written costs a warning, never the command.
TEST(DirectoryFileTest, AFileThatCannotBeWrittenFailsNothing) {
  DataDir d("dirfile-unwritable");
  WriteBytes(d.path() + "/identity", "a file where the folder would go");
  d.Write({{"e1", {Card("M1"), Cookie("k1")}}});
  const ResolveStats stats = d.Resolve();
  EXPECT_EQ(stats.customers, 1);
  auto loaded = Load(d, true);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->customer_count(), 1);
  EXPECT_EQ(loaded->CustomerOf(Cookie("k1")), 0);
}

// A writer that died before its rename leaves a temporary file; the next
// writer removes it (not those of live writers).
TEST(DirectoryFileTest, TemporaryFilesOfDeadWritersAreRemoved) {
  DataDir d("dirfile-temp");
  d.Write({{"e1", {Card("M1")}}});
  d.Resolve();
  const std::string dead = FilePath(d) + ".tmp.999999999.0";  // above Linux's pid_max
  const std::string alive = FilePath(d) + ".tmp." + std::to_string(getpid()) + ".999";
  WriteBytes(dead, "x");
  WriteBytes(alive, "x");
  d.Write({{"e2", {Card("M2")}}});
  d.Resolve();
  ASSERT_TRUE(FileIsCurrent(d));
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(alive));
}

TEST(DirectoryFileTest, AfterForgetNoFileHoldsThePersonsIdentifiers) {
  DataDir d("dirfile-forget");
  d.Write({{"w1", {Cid("CU-WEI-0001"), Card("MC-WEI-0001"), Device("wei-phone-0001")}},
           {"f1", {Cid("CU-FANG-0002"), Card("MC-FANG-0002")}}});
  d.Resolve();
  const std::string before = ReadBytes(FilePath(d));
  ASSERT_NE(before.find("MC-WEI-0001"), std::string::npos);
  // A temporary file a crashed writer left behind holds the person too.
  WriteBytes(FilePath(d) + ".tmp.999999.0", before);

  auto forgotten = Forget(d.store(), d.sql(), IdentityConfig{}, Card("MC-WEI-0001"));
  ASSERT_TRUE(forgotten.ok()) << forgotten.status().ToString();
  ASSERT_EQ(forgotten->identifiers.size(), 3u);
  // The resolution at the end of forget wrote the current file: Fang only.
  ASSERT_TRUE(FileIsCurrent(d));
  for (const fs::directory_entry& entry : fs::directory_iterator(fs::path(FilePath(d)).parent_path())) {
    SCOPED_TRACE(entry.path().string());
    const std::string bytes = ReadBytes(entry.path().string());
    EXPECT_NE(bytes.find("MC-FANG-0002"), std::string::npos);
    for (const ingest::Identity& identity : forgotten->identifiers) {
      EXPECT_EQ(bytes.find(identity.value), std::string::npos) << identity.value;
    }
  }
}

}  // namespace
}  // namespace omni::identity
