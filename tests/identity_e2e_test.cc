// Identity resolution and erasure through the real binary, as a retailer's
// data team would run them: generate demo data, import, resolve, measure
// against the truth, forget a person by phone, re-import the old file, and
// find the person still gone.
#include <simdjson.h>

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "test_util.h"

namespace omni::testing {
namespace {

simdjson::dom::element ParseOne(simdjson::dom::parser& parser, const std::string& out) {
  auto doc = parser.parse(out);
  EXPECT_FALSE(doc.error()) << "stdout is not one JSON object: " << out;
  return doc.value_unsafe();
}

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream s(line);
  std::string f;
  while (std::getline(s, f, ',')) fields.push_back(f);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

// A person of the truth file with a phone and at least two non-hashed own
// identifiers (customer_id, member_card, device_id, cookie_id): their events
// can be counted in the store by those values.
struct Person {
  std::string phone;                                       // E.164, as a user would type it
  std::vector<std::pair<std::string, std::string>> plain;  // (type, value)
};

Person PickPerson(const std::filesystem::path& truth) {
  std::ifstream in(truth);
  std::string line;
  std::getline(in, line);  // header
  std::map<std::string, Person> persons;
  std::map<std::string, bool> has_shared;
  while (std::getline(in, line)) {
    auto f = SplitCsv(line);
    if (f.size() < 4) continue;
    Person& p = persons[f[0]];
    if (!f[3].empty()) {
      has_shared[f[0]] = true;
      continue;
    }
    if (f[1] == "phone") {
      p.phone = f[2];
    } else if (f[1] != "email") {
      p.plain.emplace_back(f[1], f[2]);
    }
  }
  // Prefer a person who also used a household screen: the other members
  // must keep their events.
  const Person* fallback = nullptr;
  for (const auto& [id, p] : persons) {
    if (p.phone.empty() || p.plain.size() < 2) continue;
    if (has_shared[id]) return p;
    if (!fallback) fallback = &p;
  }
  return fallback ? *fallback : Person{};
}

TEST(IdentityE2eTest, ResolveEvaluateForgetReimport) {
  auto dir = TempDir("identity-e2e");
  const std::string data = "--data " + (dir / "d").string() + " --format json ";
  const std::string events = (dir / "demo.jsonl").string();
  RunResult r =
      RunOmni("--format json demo generate --out " + events + " --customers 2000 --events 50000", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunOmni(data + "import " + events, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  simdjson::dom::parser parser;
  r = RunOmni(data + "customers resolve", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int64_t customers_before = 0;
  {
    auto stats = ParseOne(parser, r.out);
    EXPECT_EQ(int64_t(stats["events_read"]), 50000);
    customers_before = int64_t(stats["customers"]);
    EXPECT_GT(int64_t(stats["shared"]), 0);  // households and kiosks
  }

  r = RunOmni(data + "customers evaluate --truth " + (dir / "demo.truth.csv").string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    auto ev = ParseOne(parser, r.out);
    EXPECT_GE(double(ev["precision"]), 0.99) << r.out;
    EXPECT_GE(double(ev["recall"]), 0.95) << r.out;
    EXPECT_EQ(int64_t(ev["household"]["flagged_shared"]), int64_t(ev["household"]["used_by_several"]))
        << r.out;
    EXPECT_EQ(int64_t(ev["kiosk"]["flagged_shared"]), int64_t(ev["kiosk"]["used_by_several"])) << r.out;
  }

  const Person person = PickPerson(dir / "demo.truth.csv");
  ASSERT_FALSE(person.phone.empty());
  auto count_events = [&]() {
    int64_t n = 0;
    for (const auto& [type, value] : person.plain) {
      n += QueryInt(dir / "d", "SELECT count(*) FROM events WHERE identities LIKE '%\"" + type + "\":\"" +
                                   value + "\"%'");
    }
    return n;
  };
  ASSERT_GT(count_events(), 0);
  const int64_t total_before = QueryInt(dir / "d", "SELECT count(*) FROM events");

  // explain names the customer and shows the phone only as a hash prefix.
  r = RunOmni(data + "customers explain phone:" + person.phone, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string phone_prefix;
  {
    auto ex = ParseOne(parser, r.out);
    EXPECT_FALSE(std::string_view(ex["customer_key"]).empty());
    const std::string shown{std::string_view(ex["asked"]["identifier"])};
    EXPECT_EQ(shown.find(person.phone.substr(3)), std::string::npos) << "raw phone printed: " << shown;
    phone_prefix = shown.substr(std::string("phone:").size(), 12);
    EXPECT_GT(ex["links"].get_array().size(), 0u);
  }
  EXPECT_GT(QueryInt(dir / "d", "SELECT count(*) FROM events WHERE identities LIKE '%\"phone\":\"" +
                                    phone_prefix + "%'"),
            0);

  r = RunOmni(data + "customers forget phone:" + person.phone, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int64_t deleted = 0;
  {
    auto f = ParseOne(parser, r.out);
    deleted = int64_t(f["events_deleted"]);
    EXPECT_GT(deleted, 0);
    EXPECT_FALSE(bool(f["already_forgotten"]));
  }
  EXPECT_EQ(count_events(), 0);
  EXPECT_EQ(QueryInt(dir / "d", "SELECT count(*) FROM events WHERE identities LIKE '%\"phone\":\"" +
                                    phone_prefix + "%'"),
            0);
  EXPECT_EQ(QueryInt(dir / "d", "SELECT count(*) FROM events"), total_before - deleted);

  // Re-importing the old file: the person's events are counted as erased
  // and stay out; everything else is a duplicate.
  r = RunOmni(data + "import " + events, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  {
    auto im = ParseOne(parser, r.out);
    EXPECT_EQ(int64_t(im["accepted"]), 0);
    EXPECT_GE(int64_t(im["erased"]), deleted);
  }
  EXPECT_EQ(count_events(), 0);
  EXPECT_EQ(QueryInt(dir / "d", "SELECT count(*) FROM events"), total_before - deleted);

  // One customer fewer; the rest keep theirs.
  r = RunOmni(data + "customers resolve", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(int64_t(ParseOne(parser, r.out)["customers"]), customers_before - 1);

  // The phone is unknown now; forgetting again is harmless.
  r = RunOmni(data + "customers explain phone:" + person.phone, dir);
  EXPECT_EQ(r.exit_code, 1);
  r = RunOmni(data + "customers forget phone:" + person.phone, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(bool(ParseOne(parser, r.out)["already_forgotten"]));
  std::filesystem::remove_all(dir);
}

TEST(IdentityE2eTest, UserErrorsExitOneWithoutEchoingPii) {
  auto dir = TempDir("identity-e2e-errors");
  const std::string data = "--data " + (dir / "d").string() + " ";
  RunResult r = RunOmni(data + "customers explain fax:123", dir);
  EXPECT_EQ(r.exit_code, 1);
  r = RunOmni(data + "--format json customers explain email:wei.li-at-163.com", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.find("wei.li"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("wei.li"), std::string::npos) << r.err;
  r = RunOmni(data + "customers split", dir);
  EXPECT_EQ(r.exit_code, 2);  // usage: IDENTIFIER missing
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::testing
