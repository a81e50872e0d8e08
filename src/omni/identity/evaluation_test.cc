#include "omni/identity/evaluation.h"

#include <fstream>

#include "gtest/gtest.h"
#include "omni/identity/identifier.h"
#include "omni/identity/test_util.h"
#include "omni/ingest/config_file.h"

namespace omni::identity {
namespace {

using namespace omni::identity::testing;  // NOLINT: test helpers

// Identifiers a..e; persons {a,b,c} and {d,e}; predicted {a,b}, {c,d}, {e}.
// Together in both: (a,b) = 1. Predicted pairs: (a,b), (c,d) = 2.
// True pairs: (a,b), (a,c), (b,c), (d,e) = 4. Precision 1/2, recall 1/4.
TEST(EvaluationTest, PairCountsByHand) {
  PairScores s = ScorePairs({{1, 10}, {1, 10}, {2, 10}, {2, 20}, {3, 20}});
  EXPECT_EQ(s.items, 5);
  EXPECT_EQ(s.together_both, 1);
  EXPECT_EQ(s.predicted_together, 2);
  EXPECT_EQ(s.truly_together, 4);
  EXPECT_DOUBLE_EQ(s.precision, 0.5);
  EXPECT_DOUBLE_EQ(s.recall, 0.25);
}

TEST(EvaluationTest, PerfectAndEmptyClusterings) {
  PairScores perfect = ScorePairs({{7, 1}, {7, 1}, {7, 1}, {8, 2}});
  EXPECT_DOUBLE_EQ(perfect.precision, 1.0);
  EXPECT_DOUBLE_EQ(perfect.recall, 1.0);
  EXPECT_EQ(perfect.together_both, 3);
  PairScores singletons = ScorePairs({{1, 1}, {2, 1}});
  EXPECT_DOUBLE_EQ(singletons.precision, 1.0);  // nothing predicted together
  EXPECT_DOUBLE_EQ(singletons.recall, 0.0);
  PairScores lumped = ScorePairs({{1, 1}, {1, 2}, {1, 3}});
  EXPECT_DOUBLE_EQ(lumped.precision, 0.0);
  EXPECT_DOUBLE_EQ(lumped.recall, 1.0);
}

// A resolution against a small truth file: the household tablet is left out
// of both scores and reported as flagged; the guest phone counts only for
// precision; phones in the truth are E.164 and hashed like ingest does.
TEST(EvaluationTest, AgainstATruthFile) {
  DataDir d("evaluation");
  auto config = ingest::LoadIngestConfig(d.path());
  ASSERT_TRUE(config.ok());
  ingest::Pseudonymiser pseudonymiser(*config);
  const ingest::Identity wei_phone = *ParseIdentifier("phone:+8613800138000", pseudonymiser);
  const ingest::Identity guest = *ParseIdentifier("phone:+8613900000009", pseudonymiser);
  d.Write({{"1", {Cid("C1"), wei_phone}},
           {"2", {Device("tablet"), Cid("C1")}},
           {"3", {Device("tablet"), Cid("C2")}},
           {"4", {Cid("C2"), Cookie("k2")}},
           {"5", {Cookie("k3")}},  // P2's cookie, never linked: a recall miss
           {"6", {guest}}});
  d.Resolve();
  const std::string truth = d.path() + "/truth.csv";
  {
    std::ofstream out(truth);
    out << "person_id,identity_type,identity_value,shared\n"
        << "P1,customer_id,C1,\n"
        << "P1,phone,+8613800138000,\n"
        << "P1,device_id,tablet,household\n"
        << "P1,phone,+8613900000009,guest\n"
        << "P2,customer_id,C2,\n"
        << "P2,cookie_id,k2,\n"
        << "P2,cookie_id,k3,\n"
        << "P2,device_id,tablet,household\n";
  }
  auto ev = EvaluateResolution(d.sql(), truth, pseudonymiser);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_EQ(ev->truth_rows, 8);
  EXPECT_EQ(ev->identifiers, 6);  // households out
  EXPECT_EQ(ev->guest_identifiers, 1);
  EXPECT_EQ(ev->household_identifiers, 1);
  EXPECT_EQ(ev->household_multi_person, 1);
  EXPECT_EQ(ev->household_flagged, 1);
  // Predicted together: (C1, phone), (C2, k2) — both right.
  EXPECT_DOUBLE_EQ(ev->precision, 1.0);
  // Truly together without the guest: (C1,phone), (C2,k2), (C2,k3), (k2,k3): 2 of 4 found.
  EXPECT_DOUBLE_EQ(ev->recall, 0.5);
  EXPECT_NEAR(ev->f1, 2 * 1.0 * 0.5 / 1.5, 1e-12);
  EXPECT_EQ(ev->persons, 2);
  EXPECT_EQ(ev->customers, 4);  // {C1,phone}, {guest}, {C2,k2}, {k3}

  std::ofstream(d.path() + "/not-truth.csv") << "a,b\n1,2\n";
  EXPECT_EQ(EvaluateResolution(d.sql(), d.path() + "/not-truth.csv", pseudonymiser).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(EvaluateResolution(d.sql(), d.path() + "/missing.csv", pseudonymiser).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace omni::identity
