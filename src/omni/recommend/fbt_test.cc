#include "omni/recommend/fbt.h"

#include <bit>
#include <map>
#include <random>

#include <gtest/gtest.h>

namespace omni::recommend {
namespace {

// The textbook example (Han, Kamber & Pei, table 6.1), items a..e = 0..4.
const std::vector<std::vector<int32_t>> kBaskets = {
    {0, 1, 4}, {1, 3}, {1, 2}, {0, 1, 3}, {0, 2}, {1, 2}, {0, 2}, {0, 1, 2, 4}, {0, 1, 2},
};

FbtOptions Counted(int64_t min_count, double min_confidence, int max_len = 6) {
  FbtOptions o;
  o.min_count = min_count;
  o.min_confidence = min_confidence;
  o.max_len = max_len;
  return o;
}

std::map<std::vector<int32_t>, int64_t> AsMap(const std::vector<FrequentItemset>& sets) {
  std::map<std::vector<int32_t>, int64_t> m;
  for (const auto& s : sets) m[s.items] = s.count;
  return m;
}

const AssociationRule* FindRule(const FrequentlyBoughtTogether& fbt, std::vector<int32_t> lhs, int32_t rhs) {
  for (const auto& r : fbt.rules()) {
    if (r.antecedent == lhs && r.consequent == rhs) return &r;
  }
  return nullptr;
}

TEST(FbtTest, CeilCountIsExactAtIntegers) {
  EXPECT_EQ(CeilCount(0.001, 9835), 10);  // 9.835
  EXPECT_EQ(CeilCount(0.7, 10), 7);       // 7.000000000000001 in doubles
  EXPECT_EQ(CeilCount(0.3, 10), 3);       // 3.0000000000000004
  EXPECT_EQ(CeilCount(0.8, 10), 8);
  EXPECT_EQ(CeilCount(0.5, 4), 2);
  EXPECT_EQ(CeilCount(0.5, 5), 3);
  EXPECT_EQ(CeilCount(0.0, 5), 0);
  EXPECT_EQ(CeilCount(1.0, 9835), 9835);
}

TEST(FbtTest, HandCheckedItemsetsAndRules) {
  auto fbt = FrequentlyBoughtTogether::Mine(kBaskets, 5, Counted(2, 0.5));
  ASSERT_TRUE(fbt.ok()) << fbt.status().message();
  const std::map<std::vector<int32_t>, int64_t> expected = {
      {{0}, 6},    {{1}, 7},    {{2}, 6},    {{3}, 2},       {{4}, 2},       {{0, 1}, 4},    {{0, 2}, 4},
      {{0, 4}, 2}, {{1, 2}, 4}, {{1, 3}, 2}, {{1, 4}, 2},    {{0, 1, 2}, 2}, {{0, 1, 4}, 2},
  };
  EXPECT_EQ(AsMap(fbt->itemsets()), expected);
  // Sorted by size, then ids.
  EXPECT_EQ(fbt->itemsets().front().items, std::vector<int32_t>{0});
  EXPECT_EQ(fbt->itemsets().back().items, (std::vector<int32_t>{0, 1, 4}));

  // 9 rules from pairs, 6 from triples; 4 sit exactly at confidence 0.5.
  EXPECT_EQ(fbt->rules().size(), 15u);
  EXPECT_EQ(fbt->CountRules(0.8), 5);
  const AssociationRule* ab_c = FindRule(*fbt, {0, 1}, 2);
  ASSERT_NE(ab_c, nullptr);
  EXPECT_EQ(ab_c->count, 2);
  EXPECT_EQ(ab_c->antecedent_count, 4);
  EXPECT_DOUBLE_EQ(ab_c->confidence, 0.5);
  EXPECT_DOUBLE_EQ(ab_c->support, 2.0 / 9);
  EXPECT_DOUBLE_EQ(ab_c->lift, 0.5 / (6.0 / 9));
  const AssociationRule* e_a = FindRule(*fbt, {4}, 0);
  ASSERT_NE(e_a, nullptr);
  EXPECT_DOUBLE_EQ(e_a->confidence, 1.0);
  EXPECT_DOUBLE_EQ(e_a->lift, 1.5);
  EXPECT_EQ(FindRule(*fbt, {0}, 4), nullptr);  // 2/6 < 0.5
  EXPECT_EQ(FindRule(*fbt, {1}, 3), nullptr);  // 2/7 < 0.5
}

TEST(FbtTest, ThresholdsAndMaxLen) {
  // min_support as a fraction: 0.2 × 9 = 1.8 -> 2 baskets, same as above.
  FbtOptions o;
  o.min_support = 0.2;
  o.min_confidence = 0.5;
  auto by_fraction = FrequentlyBoughtTogether::Mine(kBaskets, 5, o);
  ASSERT_TRUE(by_fraction.ok());
  EXPECT_EQ(by_fraction->min_count(), 2);
  EXPECT_EQ(by_fraction->itemsets().size(), 13u);

  auto pairs_only = FrequentlyBoughtTogether::Mine(kBaskets, 5, Counted(2, 0.5, 2));
  ASSERT_TRUE(pairs_only.ok());
  EXPECT_EQ(pairs_only->itemsets().size(), 11u);
  EXPECT_EQ(pairs_only->rules().size(), 9u);

  auto strict = FrequentlyBoughtTogether::Mine(kBaskets, 5, Counted(3, 0.6));
  ASSERT_TRUE(strict.ok());
  // {a,b}, {a,c}, {b,c} at 4; rules a→b, a→c, c→a, c→b at 4/6.
  EXPECT_EQ(strict->itemsets().size(), 3u + 3u);
  EXPECT_EQ(strict->rules().size(), 4u);
}

TEST(FbtTest, AlsoBoughtAndForBasket) {
  auto fbt = FrequentlyBoughtTogether::Mine(kBaskets, 5, Counted(2, 0.5));
  ASSERT_TRUE(fbt.ok());
  auto also = fbt->AlsoBought(4, 10);
  ASSERT_EQ(also.size(), 2u);
  EXPECT_EQ(also[0].consequent, 0);  // lift 1.5
  EXPECT_EQ(also[1].consequent, 1);  // lift 9/7
  EXPECT_EQ(fbt->AlsoBought(4, 1).size(), 1u);
  EXPECT_TRUE(fbt->AlsoBought(99, 5).empty());

  // Basket {a, b}: e via ab→e (lift 2.25), c via a→c (lift 1.0).
  auto till = fbt->ForBasket(std::vector<int32_t>{1, 0, 0}, 5);
  ASSERT_EQ(till.size(), 2u);
  EXPECT_EQ(till[0].consequent, 4);
  EXPECT_EQ(till[0].antecedent, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(till[1].consequent, 2);
  EXPECT_EQ(till[1].antecedent, std::vector<int32_t>{0});
  auto by_confidence = fbt->ForBasket(std::vector<int32_t>{0, 1}, 5, RuleOrder::kConfidence);
  ASSERT_EQ(by_confidence.size(), 2u);
  EXPECT_EQ(by_confidence[0].consequent, 2);  // a→c at 0.667 beats ab→e at 0.5
}

TEST(FbtTest, SavedRulesLoadIdentically) {
  auto fbt = FrequentlyBoughtTogether::Mine(kBaskets, 5, Counted(2, 0.5));
  ASSERT_TRUE(fbt.ok());
  const std::string path = ::testing::TempDir() + "/fbt_roundtrip.bin";
  ASSERT_TRUE(fbt->Save(path).ok());
  auto loaded = FrequentlyBoughtTogether::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->spec(), fbt->spec());
  EXPECT_EQ(loaded->basket_count(), fbt->basket_count());
  ASSERT_EQ(loaded->rules().size(), fbt->rules().size());
  for (size_t i = 0; i < fbt->rules().size(); ++i) {
    const auto& a = fbt->rules()[i];
    const auto& b = loaded->rules()[i];
    EXPECT_EQ(a.antecedent, b.antecedent);
    EXPECT_EQ(a.consequent, b.consequent);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.lift, b.lift);
  }
  for (int32_t item = 0; item < 5; ++item) EXPECT_EQ(loaded->AlsoBought(item, 10).size(), fbt->AlsoBought(item, 10).size());
  // The aliases merchandisers type mean the same thresholds.
  auto aliased = ParseFbtOptions(*Spec::Parse("fbt:support=0.01,confidence=0.8"));
  ASSERT_TRUE(aliased.ok());
  EXPECT_EQ(aliased->min_support, 0.01);
  EXPECT_EQ(aliased->min_confidence, 0.8);
  EXPECT_FALSE(ParseFbtOptions(*Spec::Parse("fbt:support=0.01,min_support=0.02")).ok());
}

TEST(FbtTest, DuplicatesCountOnceAndBadIdsAreRejected) {
  auto fbt = FrequentlyBoughtTogether::Mine(std::vector<std::vector<int32_t>>{{0, 0, 1}, {0, 1, 1}, {}}, 2,
                                            Counted(2, 0.5));
  ASSERT_TRUE(fbt.ok());
  EXPECT_EQ(fbt->basket_count(), 3);
  EXPECT_EQ(AsMap(fbt->itemsets()), (std::map<std::vector<int32_t>, int64_t>{{{0}, 2}, {{1}, 2}, {{0, 1}, 2}}));
  auto bad = FrequentlyBoughtTogether::Mine(std::vector<std::vector<int32_t>>{{0, 2}}, 2, Counted(1, 0.5));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// FP-growth against brute force over every subset of a small catalogue.
TEST(FbtTest, MatchesBruteForceOnRandomBaskets) {
  constexpr int kItems = 12;
  std::mt19937 rng(7);
  std::vector<std::vector<int32_t>> baskets(300);
  for (auto& b : baskets) {
    for (int i = 0; i < kItems; ++i) {
      if (rng() % 100 < static_cast<unsigned>(10 + 5 * (i % 4))) b.push_back(i);
    }
  }
  for (int max_len : {2, 3, 6}) {
    auto fbt = FrequentlyBoughtTogether::Mine(baskets, kItems, Counted(8, 0.3, max_len));
    ASSERT_TRUE(fbt.ok());
    std::map<std::vector<int32_t>, int64_t> expected;
    for (uint32_t mask = 1; mask < (1u << kItems); ++mask) {
      if (std::popcount(mask) > max_len) continue;
      int64_t count = 0;
      for (const auto& b : baskets) {
        uint32_t have = 0;
        for (int32_t i : b) have |= 1u << i;
        count += (have & mask) == mask;
      }
      if (count < 8) continue;
      std::vector<int32_t> items;
      for (int i = 0; i < kItems; ++i) {
        if (mask >> i & 1) items.push_back(i);
      }
      expected[items] = count;
    }
    EXPECT_EQ(AsMap(fbt->itemsets()), expected) << max_len;
    EXPECT_EQ(fbt->itemsets().size(), expected.size());  // no duplicates
    int64_t rules = 0;
    for (const auto& [items, count] : expected) {
      if (items.size() < 2) continue;
      for (size_t t = 0; t < items.size(); ++t) {
        auto lhs = items;
        lhs.erase(lhs.begin() + t);
        rules += count * 10 >= expected.at(lhs) * 3;  // exact: count / lhs >= 0.3
      }
    }
    EXPECT_EQ(static_cast<int64_t>(fbt->rules().size()), rules) << max_len;
  }
}

TEST(FbtTest, SpecParsing) {
  auto spec = Spec::Parse("fbt:min_support=0.001,min_confidence=0.5,max_len=6");
  ASSERT_TRUE(spec.ok());
  auto o = ParseFbtOptions(*spec);
  ASSERT_TRUE(o.ok());
  EXPECT_DOUBLE_EQ(o->min_support, 0.001);
  EXPECT_EQ(o->max_len, 6);
  EXPECT_EQ(o->min_count, 0);
  for (const char* bad : {"fbt:min_suport=0.1", "fbt:min_confidence=1.5", "fbt:max_len=0", "als"}) {
    auto s = Spec::Parse(bad);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(ParseFbtOptions(*s).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(FbtParameterHelp().find("min_confidence"), std::string::npos);
}

}  // namespace
}  // namespace omni::recommend
