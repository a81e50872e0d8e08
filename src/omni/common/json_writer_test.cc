#include "omni/common/json_writer.h"

#include <cmath>

#include <gtest/gtest.h>

namespace omni {
namespace {

TEST(JsonWriterTest, WritesNestedObjectsWithCommas) {
  JsonWriter w;
  w.BeginObject().Key("accepted").Int(3).Key("by_reason").BeginObject().Key("bad_timestamp").Int(1);
  w.EndObject().Key("list").BeginArray().Int(1).String("a").Bool(true).Null().EndArray().EndObject();
  EXPECT_EQ(w.str(),
            R"({"accepted":3,"by_reason":{"bad_timestamp":1},"list":[1,"a",true,null]})");
}

TEST(JsonWriterTest, EscapesControlCharactersAndKeepsUtf8) {
  JsonWriter w;
  w.BeginArray().String("上海 \"南京西路\"店\n\t\x01\\").EndArray();
  EXPECT_EQ(w.str(), "[\"上海 \\\"南京西路\\\"店\\n\\t\\u0001\\\\\"]");
}

TEST(JsonWriterTest, NonFiniteDoublesBecomeNullAndFiniteRoundTrip) {
  JsonWriter w;
  w.BeginArray().Double(NAN).Double(INFINITY).Double(0.1).Double(1e-7).EndArray();
  EXPECT_EQ(w.str(), "[null,null,0.1,1e-07]");
}

}  // namespace
}  // namespace omni
