#include "omni/ingest/format.h"

#include <gtest/gtest.h>

#include <string>

namespace omni::ingest {
namespace {

TEST(MakeFormatTest, BuildsEveryFormatByName) {
  IngestConfig config;
  struct Case {
    std::string spec;
    std::string name;
    bool header;
  };
  for (const Case& c : std::vector<Case>{
           {"jsonl", "jsonl", false},
           {"csv:ts=t,channel=const:web,type=const:view,cookie_id=c", "csv", true},
           {"online-retail", "online-retail", true},
           {"retailrocket", "retailrocket", true},
           {"movielens", "movielens", false},
           {"taobao", "taobao", false},
           {"catalogue", "catalogue", true},
           {"catalogue:delimiter=tab", "catalogue", true},
           {"availability", "availability", true},
           {" online-retail ", "online-retail", true},
       }) {
    auto f = MakeFormat(c.spec, config);
    ASSERT_TRUE(f.ok()) << c.spec << ": " << f.status().ToString();
    EXPECT_EQ((*f)->name(), c.name);
    EXPECT_EQ((*f)->has_header(), c.header) << c.spec;
  }
}

TEST(MakeFormatTest, UnknownNameListsTheKnownOnes) {
  auto f = MakeFormat("parquet", IngestConfig{});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  for (std::string_view n : {"parquet", "jsonl", "csv", "online-retail", "retailrocket", "movielens", "taobao",
                             "catalogue", "availability"}) {
    EXPECT_NE(f.status().message().find(n), std::string::npos) << n;
  }
}

TEST(MakeFormatTest, FixedFormatsTakeNoParameters) {
  for (std::string_view spec : {"jsonl:x=1", "online-retail:tz=+01:00", "retailrocket:a=b", "movielens:a=b",
                                "taobao:a=b", "availability:a=b"}) {
    auto f = MakeFormat(spec, IngestConfig{});
    ASSERT_FALSE(f.ok()) << spec;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << spec;
  }
}

TEST(MakeFormatTest, BadSpecSyntax) {
  EXPECT_FALSE(MakeFormat("", IngestConfig{}).ok());
  EXPECT_FALSE(MakeFormat("csv:ts", IngestConfig{}).ok());
}

}  // namespace
}  // namespace omni::ingest
