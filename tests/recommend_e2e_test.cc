// End to end: ratings imported through the movielens format, `omni evaluate`
// ranks a planted structure (EASE must beat popularity) and prints the metrics
// keyed by name; `omni train` publishes an artefact `omni recommend` reads.
#include <simdjson.h>

#include <fstream>

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
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace omni::testing
