// End to end: ratings imported through the movielens format, `omni evaluate`
// ranks a planted structure (EASE must beat popularity) and prints the metrics
// keyed by name; `omni train` publishes an artefact `omni recommend` reads.
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace omni::testing {
namespace {

// Two taste groups of 150 users over 60 movies: each group rates most of its
// own 30 movies, and everybody rates the 5 "blockbusters" of group A.
void WritePlantedRatings(const std::filesystem::path& path) {
  std::ofstream out(path);
  uint32_t state = 7;
  auto rnd = [&]() { return (state = state * 1664525u + 1013904223u) >> 8; };
  int64_t ts = 880000000;
  for (int u = 1; u <= 300; ++u) {
    const int base = u % 2 == 0 ? 1 : 31;
    for (int i = 0; i < 30; ++i) {
      if (rnd() % 100 < 50) out << u << "\t" << base + i << "\t" << 1 + rnd() % 5 << "\t" << ts++ << "\n";
    }
    if (base == 31) {
      for (int i = 1; i <= 5; ++i) {
        if (rnd() % 100 < 70) out << u << "\t" << i << "\t4\t" << ts++ << "\n";
      }
    }
  }
}

TEST(RecommendE2eTest, EvaluateTrainRecommend) {
  auto dir = TempDir("rec-e2e");
  auto file = dir / "u.data";
  WritePlantedRatings(file);
  std::string data = "--data " + (dir / "d").string();
  RunResult imp = RunOmni(data + " import " + file.string() + " --as movielens", dir);
  ASSERT_EQ(imp.exit_code, 0) << imp.err;

  RunResult r = RunOmni(data + " --format json evaluate popularity ease:lambda=50 itemknn:k=20 --protocol msr-stratified", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::parser parser;
  auto doc = parser.parse(r.out);
  ASSERT_FALSE(doc.error()) << r.out;
  auto obj = doc.value_unsafe();
  EXPECT_FALSE(obj["ndcg@10"].error()) << r.out;
  EXPECT_FALSE(obj["precision@10"].error());
  EXPECT_EQ(std::string_view(obj["protocol"]), "msr-stratified");
  double pop = -1, ease = -1;
  for (auto m : obj["models"].get_array()) {
    std::string_view spec = m["spec"];
    double ndcg = m["ndcg@10"];
    if (spec == "popularity") pop = ndcg;
    if (spec.starts_with("ease")) ease = ndcg;
  }
  EXPECT_GT(ease, pop + 0.1) << r.out;
  // The report is kept for the dashboard: the same JSON, in DATA_DIR/evaluations.
  int kept = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "d" / "evaluations")) {
    if (e.path().extension() != ".json") continue;
    ++kept;
    auto saved = parser.load(e.path().string());
    ASSERT_FALSE(saved.error());
    EXPECT_EQ(double(saved.value_unsafe()["ndcg@10"]), double(parser.parse(r.out).value_unsafe()["ndcg@10"]));
  }
  EXPECT_EQ(kept, 1);

  RunResult bad = RunOmni(data + " evaluate ease --protocol nope", dir);
  EXPECT_EQ(bad.exit_code, 2);
  RunResult refused = RunOmni(data + " --format json evaluate ease:max_memory_mb=0 --protocol msr-stratified", dir);
  EXPECT_EQ(refused.exit_code, 1);

  RunResult t = RunOmni(data + " --format json train ease:lambda=50", dir);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "d" / "models" / "ease" / "000001.bin"));
  RunResult rec = RunOmni(data + " --format json recommend customer_id:2 -k 5", dir);
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  auto rdoc = parser.parse(rec.out);
  ASSERT_FALSE(rdoc.error()) << rec.out;
  EXPECT_EQ(rdoc.value_unsafe()["items"].get_array().size(), 5u);
  EXPECT_EQ(RunOmni(data + " recommend customer_id:99999", dir).exit_code, 1);

  // EASE's session term is fitted with the stored events' times by train and evaluate alike.
  RunResult ts = RunOmni(data + " --format json train ease:lambda=50,session_weight=1,session_seconds=600", dir);
  ASSERT_EQ(ts.exit_code, 0) << ts.err;
  auto tdoc = parser.parse(ts.out);
  ASSERT_FALSE(tdoc.error()) << ts.out;
  EXPECT_EQ(std::string_view(tdoc.value_unsafe()["spec"]), "ease:lambda=50,session_weight=1,session_seconds=600");
  EXPECT_EQ(RunOmni(data + " recommend customer_id:2 -k 5", dir).exit_code, 0);
  RunResult es = RunOmni(data + " --format json evaluate ease:lambda=50,session_weight=1 --protocol msr-stratified", dir);
  ASSERT_EQ(es.exit_code, 0) << es.err;
  auto edoc = parser.parse(es.out);
  ASSERT_FALSE(edoc.error()) << es.out;
  EXPECT_GT(double(edoc.value_unsafe()["ndcg@10"]), pop + 0.1) << es.out;
  std::filesystem::remove_all(dir);
}


// A small retail history with every serving rule planted:
//  - 40 customers order H1 H2 H3 (Home > Kitchen) together; the even ones
//    add F1 F2 (Food > Snacks, configured repeat-purchase); the ones divisible
//    by 3 add T1 T2 (Toys); customers 1..6 also buy T3 in store S1;
//  - customer x (phone +86 138 0013 8000) bought H1 and F1, and H2 which they
//    refunded;
//  - H3 is not sold in the store channel;
//  - customer "cold" only visited store S1 (no item).
void WriteRetail(const std::filesystem::path& dir) {
  std::ofstream ev(dir / "events.jsonl");
  int n = 0;
  auto line = [&](const std::string& customer, const std::string& type, const std::string& item,
                  const std::string& order, const std::string& channel, const std::string& store,
                  const std::string& extra_ids = "") {
    ++n;
    ev << "{\"event_id\":\"e" << n << "\",\"ts\":\"2026-03-01T10:" << (10 + n / 60 % 50) << ":" << (10 + n % 50)
       << "+08:00\",\"channel\":\"" << channel << "\",\"type\":\"" << type << "\",\"identities\":{\"customer_id\":\""
       << customer << "\"" << extra_ids << "}";
    if (!item.empty()) ev << ",\"item_id\":\"" << item << "\",\"quantity\":1,\"price\":10.0";
    if (!order.empty()) ev << ",\"order_id\":\"" << order << "\"";
    if (!store.empty()) ev << ",\"store_id\":\"" << store << "\"";
    ev << "}\n";
  };
  for (int c = 1; c <= 40; ++c) {
    const std::string id = "c" + std::to_string(c);
    const std::string order = "o" + std::to_string(c);
    for (const char* item : {"H1", "H2", "H3"}) line(id, "purchase", item, order, "web", "");
    if (c % 2 == 0) {
      for (const char* item : {"F1", "F2"}) line(id, "purchase", item, order, "web", "");
    }
    if (c % 3 == 0) {
      for (const char* item : {"T1", "T2"}) line(id, "purchase", item, order, "web", "");
    }
    if (c <= 6) line(id, "purchase", "T3", "s" + std::to_string(c), "store", "S1");
  }
  const std::string phone = ",\"phone\":\"+86 138 0013 8000\"";
  line("x", "purchase", "H1", "ox", "web", "", phone);
  line("x", "purchase", "F1", "ox", "web", "", phone);
  line("x", "purchase", "H2", "ox2", "web", "", phone);
  line("x", "refund", "H2", "ox2", "web", "", phone);
  line("cold", "store_visit", "", "", "store", "S1");
  ev.close();
  std::ofstream cat(dir / "catalogue.csv");
  cat << "item_id,title,category,brand,price\n";
  for (int i = 1; i <= 3; ++i) cat << "H" << i << ",Pan " << i << ",Home > Kitchen,Acme,30\n";
  for (int i = 1; i <= 2; ++i) cat << "F" << i << ",Nuts " << i << ",Food > Snacks,Acme,5\n";
  for (int i = 1; i <= 3; ++i) cat << "T" << i << ",积木 " << i << ",Toys > Blocks,Acme,20\n";
  cat.close();
  std::ofstream av(dir / "availability.csv");
  av << "item_id,channel,store_id,sold,stock\nH3,store,,0,\n";
  av.close();
  std::ofstream config(dir / "d" / "config.json");
  config << R"({"recommend": {"repeat_purchase_categories": ["Food"], "max_per_category": 2}})";
}

std::vector<std::string> ItemIds(simdjson::dom::element doc) {
  std::vector<std::string> ids;
  for (auto it : doc["items"].get_array()) ids.emplace_back(std::string_view(it["item_id"]));
  return ids;
}

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(RecommendE2eTest, ServingRulesExplanationsFallbackTogetherAndBatch) {
  auto dir = TempDir("rec-serve");
  std::filesystem::create_directories(dir / "d");
  WriteRetail(dir);
  const std::string data = "--data " + (dir / "d").string();
  ASSERT_EQ(RunOmni(data + " import " + (dir / "events.jsonl").string(), dir).exit_code, 0);
  ASSERT_EQ(RunOmni(data + " import " + (dir / "catalogue.csv").string() + " --as catalogue", dir).exit_code, 0);
  ASSERT_EQ(RunOmni(data + " import " + (dir / "availability.csv").string() + " --as availability", dir).exit_code, 0);
  RunResult prof = RunOmni(data + " profiles build", dir);
  ASSERT_EQ(prof.exit_code, 0) << prof.err;
  RunResult t = RunOmni(data + " --format json train itemknn:k=50", dir);
  ASSERT_EQ(t.exit_code, 0) << t.err;

  simdjson::dom::parser parser;
  // Any channel: H1 (bought) and H2 (refunded) never come back, F1 (bought,
  // repeat-purchase category) may; H3 leads, explained by the history item
  // that co-occurs with it.
  RunResult r = RunOmni(data + " --format json recommend phone:+8613800138000 -k 5", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::element doc = parser.parse(r.out).value();
  std::vector<std::string> ids = ItemIds(doc);
  EXPECT_FALSE(Has(ids, "H1")) << r.out;
  EXPECT_FALSE(Has(ids, "H2")) << r.out;
  EXPECT_TRUE(Has(ids, "F1")) << r.out;
  EXPECT_TRUE(Has(ids, "H3")) << r.out;
  EXPECT_FALSE(bool(doc["fallback"]));
  for (auto it : doc["items"].get_array()) {
    if (std::string_view(it["item_id"]) != "H3") continue;
    EXPECT_EQ(std::string_view(it["reason"]), "history");
    auto because = it["because"].get_array();
    ASSERT_GE(because.size(), 1u);
    EXPECT_EQ(std::string_view(because.at(0)), "H1") << r.out;  // H2's refund cancelled it
  }
  // At most 2 per top-level category while other categories have candidates.
  int food = 0, home = 0, toys = 0;
  for (auto it : doc["items"].get_array()) {
    std::string_view cat = it["category"];
    food += cat.starts_with("Food");
    home += cat.starts_with("Home");
    toys += cat.starts_with("Toys");
  }
  EXPECT_LE(food, 2);
  EXPECT_LE(home, 2);
  EXPECT_GE(toys, 1) << r.out;

  // The store channel does not sell H3.
  r = RunOmni(data + " --format json recommend customer_id:x -k 4 --channel store", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(Has(ItemIds(parser.parse(r.out).value()), "H3")) << r.out;

  // Cold start: popularity in the customer's store.
  r = RunOmni(data + " --format json recommend customer_id:cold -k 2 --channel store --store S1", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  doc = parser.parse(r.out).value();
  EXPECT_TRUE(bool(doc["fallback"])) << r.out;
  auto first = doc["items"].get_array().at(0);
  EXPECT_EQ(std::string_view(first["item_id"]), "T3") << r.out;
  EXPECT_EQ(std::string_view(first["reason"]), "popular");
  EXPECT_EQ(std::string_view(first["explanation"]), "popular in store S1");
  EXPECT_EQ(std::string_view(first["title"]), "积木 3");

  // Trending: the same cascade over the last window of events.
  r = RunOmni(data + " --format json recommend customer_id:cold -k 1 --store S1 --fallback trending:window=7d", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  doc = parser.parse(r.out).value();
  EXPECT_EQ(std::string_view(doc["items"].get_array().at(0)["explanation"]), "trending in store S1") << r.out;
  EXPECT_EQ(RunOmni(data + " recommend customer_id:cold --fallback trending:window=soon", dir).exit_code, 1);
  EXPECT_EQ(RunOmni(data + " recommend customer_id:x --together H1", dir).exit_code, 2);  // one mode at a time

  EXPECT_EQ(RunOmni(data + " recommend customer_id:nobody", dir).exit_code, 1);
  EXPECT_EQ(RunOmni(data + " recommend --together H1", dir).exit_code, 1);  // no rules trained yet

  // Frequently bought together: baskets are orders; H1 → H2 in all 40 + x's.
  RunResult f = RunOmni(data + " --format json train fbt:support=0.1,confidence=0.5", dir);
  ASSERT_EQ(f.exit_code, 0) << f.err;
  doc = parser.parse(f.out).value();
  EXPECT_GT(int64_t(doc["rules"]), 0) << f.out;
  r = RunOmni(data + " --format json recommend --together H3 -k 5", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  doc = parser.parse(r.out).value();
  ids = ItemIds(doc);
  EXPECT_TRUE(Has(ids, "H1")) << r.out;
  EXPECT_TRUE(Has(ids, "H2")) << r.out;
  for (auto it : doc["items"].get_array()) {
    if (std::string_view(it["item_id"]) == "H1") {
      EXPECT_DOUBLE_EQ(double(it["confidence"]), 1.0);  // every order with H3 has H1
      EXPECT_EQ(int64_t(it["count"]), 40);
    }
  }

  // Batch: every member of a segment, one JSON line each.
  ASSERT_EQ(RunOmni(data + " segments create buyers 'frequency >= 1'", dir).exit_code, 0);
  const std::string out = (dir / "buyers.jsonl").string();
  RunResult b = RunOmni(data + " --format json recommend --segment buyers --out " + out + " -k 3", dir);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  doc = parser.parse(b.out).value();
  EXPECT_EQ(int64_t(doc["written"]), 41) << b.out;  // c1..c40 and x
  std::ifstream in(out);
  int lines = 0;
  for (std::string l; std::getline(in, l); ++lines) {
    auto one = parser.parse(l);
    ASSERT_FALSE(one.error()) << l;
    // Never more than asked; fewer only when the rules leave fewer (c3 and c6
    // bought every item outside Food).
    const size_t got = one.value()["items"].get_array().size();
    EXPECT_GE(got, 2u) << l;
    EXPECT_LE(got, 3u) << l;
  }
  EXPECT_EQ(lines, 41);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::testing
