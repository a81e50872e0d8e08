#include "omni/demo/generator.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "omni/demo/calendar.h"
#include "omni/demo/json_out.h"

namespace omni::demo {
namespace {

namespace fs = std::filesystem;

fs::path TestDir(const std::string& name) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  fs::path dir = fs::path(base ? base : fs::temp_directory_path().string()) /
                 ("demo-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Minimal RFC 4180 reader for the generated CSVs.
std::vector<std::vector<std::string>> ReadCsv(const fs::path& p) {
  const std::string text = Slurp(p);
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field);
      field.clear();
    } else if (c == '\n') {
      rows.back().push_back(field);
      field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

// What ingest will store for a raw identity (before hashing): E.164 phone,
// trimmed lower-case e-mail. Enough of libphonenumber for mainland mobiles.
std::string Normalise(const std::string& type, const std::string& raw) {
  if (type == "phone") {
    std::string d;
    for (char c : raw) {
      if (c >= '0' && c <= '9') d += c;
    }
    if (d.rfind("0086", 0) == 0) d = d.substr(4);
    else if (d.size() == 13 && d.rfind("86", 0) == 0) d = d.substr(2);
    return "+86" + d;
  }
  if (type == "email") {
    std::string s = raw;
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  return raw;
}

// The string value of a JSON element, "" when it is not a string.
std::string Str(simdjson::dom::element e) {
  std::string_view v;
  return e.get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

bool DaysOk(int y, int m, int d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

// Parses the two timestamp shapes the generator writes; -1 when invalid.
int64_t ParseTs(simdjson::dom::element ts) {
  if (ts.is_int64()) return int64_t(ts);
  if (!ts.is_string()) return -1;
  const std::string s = Str(ts);
  int y, mo, d, h, mi, se, ms = 0;
  char tail[16] = {};
  if (s.size() == 25 && std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &y, &mo, &d, &h, &mi, &se, tail) == 7) {
  } else if (s.size() == 29 &&
             std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%15s", &y, &mo, &d, &h, &mi, &se, &ms, tail) == 8) {
  } else {
    return -1;
  }
  if (std::string(tail) != "+08:00" || !DaysOk(y, mo, d) || h > 23 || mi > 59 || se > 59) return -1;
  return (DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - 8 * 3600) * 1000 + ms;
}

const std::set<std::string> kChannels = {"web",    "app", "miniprogram", "store",     "social",
                                         "email",  "sms", "kiosk",       "callcenter"};
const std::set<std::string> kTypes = {"view",   "search",        "add_to_cart", "purchase", "refund", "click",
                                      "impression", "open",      "coupon_redeem", "store_visit", "signup",
                                      "consent"};

struct Event {
  std::string id, channel, type, item, order, store;
  int64_t ts = 0;
  std::vector<std::pair<std::string, std::string>> ids;  // type, normalised value
};

// Classifies a line as ingest should: "" for a valid event, else the reason.
std::string Classify(simdjson::dom::parser& parser, const std::string& line, Event& ev) {
  if (!IsValidUtf8(line)) return "invalid_utf8";
  simdjson::dom::element doc;
  if (parser.parse(line).get(doc) != simdjson::SUCCESS || !doc.is_object()) return "invalid_json";
  simdjson::dom::element v;
  if (doc["type"].get(v) != simdjson::SUCCESS) return "missing_field";
  ev.type = Str(v);
  simdjson::dom::element ids;
  if (doc["identities"].get(ids) != simdjson::SUCCESS || !ids.is_object()) return "wrong_type";
  ev.channel = Str(doc["channel"]);
  if (!kChannels.count(ev.channel)) return "unknown_channel";
  if (!kTypes.count(ev.type) && ev.type.rfind("custom:", 0) != 0) return "unknown_event_type";
  ev.ts = ParseTs(doc["ts"]);
  if (ev.ts < 0) return "bad_timestamp";
  for (auto [key, value] : simdjson::dom::object(ids)) {
    const std::string type(key);
    const std::string raw = Str(value);
    if (type == "email" && raw.find('@') == std::string::npos) return "invalid_identity";
    ev.ids.push_back({type, Normalise(type, raw)});
  }
  if (ev.ids.empty()) return "missing_identities";
  if (ev.type == "purchase") {
    simdjson::dom::element q, p;
    if (doc["price"].get(p) != simdjson::SUCCESS || doc["quantity"].get(q) != simdjson::SUCCESS) {
      return "missing_field";
    }
    if (!p.is_number()) return "bad_number";
    if (double(p) < 0) return "negative_price";
    if (int64_t(q) < 0) return "negative_quantity";
  }
  ev.id = Str(doc["event_id"]);
  if (doc["item_id"].get(v) == simdjson::SUCCESS) ev.item = Str(v);
  if (doc["order_id"].get(v) == simdjson::SUCCESS) ev.order = Str(v);
  if (doc["store_id"].get(v) == simdjson::SUCCESS) ev.store = Str(v);
  return "";
}

DemoOptions SmallOptions() {
  DemoOptions o;
  o.customers = 3000;
  o.items = 600;
  o.events = 120000;
  o.seed = 7;
  o.stores = 12;
  // Noise up so every kind shows up in a small file.
  o.malformed_rate = 0.01;
  o.duplicate_rate = 0.01;
  o.shared_device_rate = 0.03;
  return o;
}

// One generated data set, parsed once, shared by the tests below.
struct Generated {
  DemoOptions options;
  DemoPaths paths;
  DemoSummary summary;
  std::vector<std::string> lines;
  std::vector<Event> events;  // valid, first deliveries, file order
  std::map<std::string, int64_t> reasons;
  int64_t duplicates = 0;
  bool duplicates_identical = true;
  // truth
  std::unordered_map<std::string, std::string> owner;  // "type\tvalue" -> person (personal ids)
  std::map<std::string, std::set<std::string>> shared;  // "type\tvalue" -> persons
  std::map<std::string, std::string> shared_kind;
  std::set<std::string> guest;  // guest phones (also in owner)
};

const Generated& Data() {
  static const Generated* data = [] {
    auto* g = new Generated;
    g->options = SmallOptions();
    g->paths = DemoPaths::Beside((TestDir("shared") / "demo.jsonl").string());
    auto result = GenerateDemo(g->options, g->paths);
    OMNI_CHECK(result.ok());
    g->summary = *result;
    g->lines = Lines(Slurp(g->paths.events));
    simdjson::dom::parser parser;
    std::unordered_map<std::string, std::string> first_line;
    for (const std::string& line : g->lines) {
      Event ev;
      const std::string reason = Classify(parser, line, ev);
      if (!reason.empty()) {
        ++g->reasons[reason];
        continue;
      }
      auto [it, inserted] = first_line.emplace(ev.id, line);
      if (!inserted) {
        ++g->duplicates;
        if (it->second != line) g->duplicates_identical = false;
        continue;
      }
      g->events.push_back(std::move(ev));
    }
    auto rows = ReadCsv(g->paths.truth);
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      OMNI_CHECK(row.size() == 4);
      const std::string key = row[1] + "\t" + row[2];
      if (row[3].empty() || row[3] == "guest") {
        // A guest phone belongs to one person, it just never meets the others.
        OMNI_CHECK(g->owner.emplace(key, row[0]).second || g->owner[key] == row[0]);
        if (row[3] == "guest") g->guest.insert(key);
      } else {
        g->shared[key].insert(row[0]);
        g->shared_kind[key] = row[3];
      }
    }
    return g;
  }();
  return *data;
}

std::string Key(const std::pair<std::string, std::string>& id) { return id.first + "\t" + id.second; }

// The person an event belongs to, from its personal identifiers ("" if none).
std::string PersonOf(const Generated& g, const Event& e) {
  for (const auto& id : e.ids) {
    auto it = g.owner.find(Key(id));
    if (it != g.owner.end()) return it->second;
  }
  return "";
}

// ---------------------------------------------------------------------------

TEST(GenerateDemo, SameSeedSameBytesOtherSeedOtherBytes) {
  DemoOptions o = SmallOptions();
  o.events = 30000;
  const fs::path dir = TestDir("determinism");
  const DemoPaths a = DemoPaths::Beside((dir / "a.jsonl").string());
  const DemoPaths b = DemoPaths::Beside((dir / "b.jsonl").string());
  const DemoPaths c = DemoPaths::Beside((dir / "c.jsonl").string());
  ASSERT_TRUE(GenerateDemo(o, a).ok());
  ASSERT_TRUE(GenerateDemo(o, b).ok());
  o.seed += 1;
  ASSERT_TRUE(GenerateDemo(o, c).ok());
  EXPECT_EQ(Slurp(a.events), Slurp(b.events));
  EXPECT_EQ(Slurp(a.truth), Slurp(b.truth));
  EXPECT_EQ(Slurp(a.catalogue), Slurp(b.catalogue));
  EXPECT_EQ(Slurp(a.availability), Slurp(b.availability));
  EXPECT_EQ(Slurp(a.stores), Slurp(b.stores));
  EXPECT_EQ(Slurp(a.persons), Slurp(b.persons));
  EXPECT_NE(Slurp(a.events), Slurp(c.events));
  EXPECT_NE(Slurp(a.truth), Slurp(c.truth));
  // No temporary files are left behind.
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  }
}

TEST(GenerateDemo, SummaryMatchesTheFile) {
  const Generated& g = Data();
  EXPECT_EQ(g.summary.events, g.options.events);  // exact budget
  EXPECT_EQ(static_cast<int64_t>(g.lines.size()), g.summary.lines);
  EXPECT_EQ(g.summary.lines, g.summary.events + g.summary.malformed + g.summary.duplicates);
  EXPECT_EQ(static_cast<int64_t>(g.events.size()), g.summary.events);
  EXPECT_EQ(g.duplicates, g.summary.duplicates);
  EXPECT_TRUE(g.duplicates_identical);
  EXPECT_GT(g.summary.duplicates, 0);
  int64_t malformed = 0;
  for (const auto& [reason, n] : g.reasons) malformed += n;
  EXPECT_EQ(malformed, g.summary.malformed);
  // Each planted defect is seen as exactly the reason the summary names.
  EXPECT_EQ(g.reasons, g.summary.malformed_by_reason);
  for (const char* reason : {"invalid_json", "invalid_utf8", "unknown_channel", "bad_timestamp",
                             "missing_identities", "negative_quantity", "bad_number"}) {
    EXPECT_GT(g.summary.malformed_by_reason.count(reason) ? g.summary.malformed_by_reason.at(reason) : 0, 0)
        << reason;
  }
  int64_t by_type = 0, by_channel = 0;
  for (const auto& [k, n] : g.summary.events_by_type) by_type += n;
  for (const auto& [k, n] : g.summary.events_by_channel) by_channel += n;
  EXPECT_EQ(by_type, g.summary.events);
  EXPECT_EQ(by_channel, g.summary.events);
  EXPECT_EQ(static_cast<int64_t>(ReadCsv(g.paths.catalogue).size()) - 1, g.options.items);
  EXPECT_EQ(static_cast<int64_t>(ReadCsv(g.paths.stores).size()) - 1, g.options.stores);
  EXPECT_EQ(static_cast<int64_t>(ReadCsv(g.paths.persons).size()) - 1, g.options.customers);
  EXPECT_EQ(static_cast<int64_t>(ReadCsv(g.paths.availability).size()) - 1, g.summary.availability_rows);
}

TEST(GenerateDemo, EventIdsAreUniqueAndEventsCarryTheirFields) {
  const Generated& g = Data();
  std::set<std::string> types;
  for (const Event& e : g.events) {
    types.insert(e.type);
    if (e.type == "purchase" || e.type == "refund") {
      EXPECT_FALSE(e.item.empty()) << e.id;
      EXPECT_FALSE(e.order.empty()) << e.id;
    }
    if (e.channel == "store") {
      EXPECT_FALSE(e.store.empty()) << e.id;
      EXPECT_EQ(e.id.rfind("pos-" + e.store + "-", 0), 0u) << e.id;
    }
  }
  for (const char* t : {"view", "search", "add_to_cart", "purchase", "refund", "click", "impression", "open",
                        "coupon_redeem", "store_visit", "signup", "consent", "custom:inquiry"}) {
    EXPECT_TRUE(types.count(t)) << t;
  }
}

TEST(GenerateDemo, TruthCoversEveryIdentifierAndOnlyOnePersonPerEvent) {
  const Generated& g = Data();
  for (const Event& e : g.events) {
    std::set<std::string> persons;
    for (const auto& id : e.ids) {
      const std::string key = Key(id);
      auto it = g.owner.find(key);
      if (it != g.owner.end()) {
        persons.insert(it->second);
      } else {
        ASSERT_TRUE(g.shared.count(key)) << "not in truth: " << key << " in " << e.id;
      }
    }
    // No event is only household/kiosk identifiers, and none mixes persons.
    EXPECT_EQ(persons.size(), 1u) << e.id;
  }
}

TEST(GenerateDemo, EachPersonsOwnIdentifiersAreConnected) {
  const Generated& g = Data();
  std::unordered_map<std::string, std::string> parent;
  std::function<std::string(const std::string&)> find = [&](const std::string& x) {
    auto it = parent.find(x);
    if (it == parent.end() || it->second == x) return x;
    return it->second = find(it->second);
  };
  for (const Event& e : g.events) {
    std::string first;
    for (const auto& id : e.ids) {
      const std::string key = Key(id);
      // Shared identifiers must not be needed; guest phones are apart by design.
      if (!g.owner.count(key) || g.guest.count(key)) continue;
      if (first.empty()) {
        first = find(key);
        parent.emplace(first, first);
      } else {
        parent[find(key)] = first;
      }
    }
  }
  std::map<std::string, std::set<std::string>> components;
  for (const auto& [key, person] : g.owner) {
    if (!g.guest.count(key)) components[person].insert(find(key));
  }
  int64_t fragmented = 0;
  for (const auto& [person, roots] : components) fragmented += roots.size() > 1;
  EXPECT_EQ(fragmented, 0);
  EXPECT_GT(components.size(), static_cast<size_t>(g.options.customers / 2));
}

TEST(GenerateDemo, SharedDevicesAndKiosksAreSeenWithSeveralPersons) {
  const Generated& g = Data();
  EXPECT_GT(g.summary.households, 0);
  // Truth lists the members who used the screen: nearly always 2-4 (a member
  // who barely shops may never touch it).
  int households = 0, kiosks = 0, multi_member = 0;
  for (const auto& [key, persons] : g.shared) {
    const std::string& kind = g.shared_kind.at(key);
    if (kind == "household") {
      ++households;
      multi_member += persons.size() >= 2;
      EXPECT_LE(persons.size(), 4u) << key;
    }
    if (kind == "kiosk") ++kiosks;
  }
  EXPECT_GT(households, 0);
  EXPECT_GE(multi_member, households * 9 / 10);
  EXPECT_GT(kiosks, 0);
  EXPECT_GT(g.guest.size(), 0u);
  // In the events, a household screen co-occurs with several customer_ids:
  // what a resolution guard must notice.
  std::map<std::string, std::set<std::string>> strong_with;
  for (const Event& e : g.events) {
    for (const auto& id : e.ids) {
      const std::string key = Key(id);
      if (!g.shared.count(key)) continue;
      for (const auto& other : e.ids) {
        if (other.first == "customer_id" || other.first == "member_card") strong_with[key].insert(Key(other));
      }
    }
  }
  int multi = 0;
  for (const auto& [key, strong] : strong_with) multi += strong.size() >= 2;
  EXPECT_GE(multi, households / 2);
}

TEST(GenerateDemo, FunnelsAreOrderedInTime) {
  const Generated& g = Data();
  // person -> item -> first online view time
  std::map<std::pair<std::string, std::string>, int64_t> first_view;
  std::map<std::pair<std::string, std::string>, int64_t> purchase_ts;  // (order, item) -> ts
  for (const Event& e : g.events) {
    if (e.type == "view") {
      const auto key = std::make_pair(PersonOf(g, e), e.item);
      auto it = first_view.find(key);
      if (it == first_view.end() || e.ts < it->second) first_view[key] = e.ts;
    }
    if (e.type == "purchase") purchase_ts[{e.order, e.item}] = e.ts;
  }
  int64_t online = 0, o2o = 0, store_purchases = 0;
  for (const Event& e : g.events) {
    if (e.type == "purchase" && (e.channel == "web" || e.channel == "app" || e.channel == "miniprogram")) {
      ++online;
      auto it = first_view.find({PersonOf(g, e), e.item});
      ASSERT_NE(it, first_view.end()) << "purchase without a view: " << e.id;
      EXPECT_LE(it->second, e.ts) << e.id;
    }
    if (e.type == "purchase" && e.channel == "store") {
      ++store_purchases;
      auto it = first_view.find({PersonOf(g, e), e.item});
      if (it != first_view.end() && it->second < e.ts && e.ts - it->second < 8 * kDayMs) ++o2o;
    }
    if (e.type == "refund") {
      auto it = purchase_ts.find({e.order, e.item});
      ASSERT_NE(it, purchase_ts.end()) << "refund without purchase: " << e.id;
      EXPECT_LT(it->second, e.ts) << e.id;
    }
  }
  EXPECT_GT(online, 1000);
  // Browse online, buy in store: a visible share of store purchases.
  EXPECT_GT(o2o, store_purchases / 50);
}

TEST(GenerateDemo, LinesAreRoughlyInTimeOrder) {
  const Generated& g = Data();
  int64_t max_ts = 0, inversions = 0, worst_lag = 0;
  for (const Event& e : g.events) {
    if (e.ts < max_ts) {
      ++inversions;
      worst_lag = std::max(worst_lag, max_ts - e.ts);
    }
    max_ts = std::max(max_ts, e.ts);
  }
  EXPECT_LT(inversions, static_cast<int64_t>(g.events.size()) / 10);
  EXPECT_LE(worst_lag, kDayMs);
  EXPECT_GE(g.events.front().ts, g.options.start_ms);
  EXPECT_LT(g.events.back().ts, g.options.start_ms + g.options.days * kDayMs);
}

TEST(GenerateDemo, ChineseTextIsPresentAndValidUtf8) {
  const Generated& g = Data();
  const std::string catalogue = Slurp(g.paths.catalogue);
  const std::string stores = Slurp(g.paths.stores);
  EXPECT_TRUE(IsValidUtf8(catalogue));
  EXPECT_TRUE(IsValidUtf8(stores));
  EXPECT_NE(catalogue.find("服饰 > 女装 > 连衣裙"), std::string::npos);
  EXPECT_NE(catalogue.find("数码 > 手机配件"), std::string::npos);
  EXPECT_NE(stores.find("上海 南京西路店"), std::string::npos);
  // Titles that need CSV quoting survive a round trip.
  bool quoted_title = false;
  for (const auto& row : ReadCsv(g.paths.catalogue)) {
    ASSERT_EQ(row.size(), 5u);
    quoted_title |= row[1].find('"') != std::string::npos || row[1].find(',') != std::string::npos;
  }
  EXPECT_TRUE(quoted_title);
  int64_t chinese_lines = 0;
  for (const std::string& line : g.lines) {
    if (line.find("尺码不合适") != std::string::npos || line.find("连衣裙") != std::string::npos) ++chinese_lines;
  }
  EXPECT_GT(chinese_lines, 0);
}

TEST(GenerateDemo, PhonesAndEmailsAreSpelledSeveralWays) {
  const Generated& g = Data();
  std::map<std::string, std::set<std::string>> spellings;  // normalised -> raw
  simdjson::dom::parser parser;
  for (const std::string& line : g.lines) {
    simdjson::dom::element doc;
    if (!IsValidUtf8(line) || parser.parse(line).get(doc) != simdjson::SUCCESS) continue;
    simdjson::dom::object ids;
    if (doc["identities"].get(ids) != simdjson::SUCCESS) continue;
    for (auto [key, value] : ids) {
      if (key == "phone" || key == "email") {
        const std::string raw = Str(value);
        spellings[Normalise(std::string(key), raw)].insert(raw);
      }
    }
  }
  int64_t phones_multi = 0, emails_multi = 0;
  for (const auto& [norm, raws] : spellings) {
    if (raws.size() < 2) continue;
    (norm[0] == '+' ? phones_multi : emails_multi)++;
  }
  EXPECT_GT(phones_multi, 100);
  EXPECT_GT(emails_multi, 10);
}

TEST(GenerateDemo, RejectsBadOptions) {
  DemoOptions o;
  o.customers = 0;
  const DemoPaths paths = DemoPaths::Beside((TestDir("bad") / "x.jsonl").string());
  EXPECT_EQ(GenerateDemo(o, paths).status().code(), StatusCode::kInvalidArgument);
  o = DemoOptions();
  o.malformed_rate = -0.1;
  EXPECT_EQ(GenerateDemo(o, paths).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateDemo(DemoOptions(), DemoPaths()).status().code(), StatusCode::kInvalidArgument);
  DemoPaths unwritable = paths;
  unwritable.events = "/nonexistent-dir/x.jsonl";
  o = DemoOptions();
  o.events = 10;
  EXPECT_EQ(GenerateDemo(o, unwritable).status().code(), StatusCode::kInternal);
}

TEST(GenerateDemo, TinyAndNoiseFreeRuns) {
  DemoOptions o;
  o.customers = 1;
  o.items = 1;
  o.stores = 1;
  o.events = 50;
  o.days = 1;
  o.malformed_rate = 0;
  o.duplicate_rate = 0;
  const DemoPaths paths = DemoPaths::Beside((TestDir("tiny") / "t.jsonl").string());
  auto r = GenerateDemo(o, paths);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LE(r->events, 50);
  EXPECT_EQ(r->lines, r->events);
  o.events = 0;
  r = GenerateDemo(o, paths);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lines, 0);
}

TEST(DemoPaths, BesideTheEventsFile) {
  const DemoPaths p = DemoPaths::Beside("out/demo.jsonl");
  EXPECT_EQ(p.events, "out/demo.jsonl");
  EXPECT_EQ(p.truth, "out/demo.truth.csv");
  EXPECT_EQ(p.availability, "out/demo.availability.csv");
  EXPECT_EQ(DemoPaths::Beside("x").catalogue, "x.catalogue.csv");
}

TEST(DemoSummaryJson, IsOneJsonObject) {
  DemoSummary s;
  s.events = 3;
  s.malformed_by_reason["invalid_json"] = 2;
  const std::string json = DemoSummaryJson(s);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(int64_t(doc["events"]), 3);
  EXPECT_EQ(int64_t(doc["malformed_by_reason"]["invalid_json"]), 2);
}

}  // namespace
}  // namespace omni::demo
