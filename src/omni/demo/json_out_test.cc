#include "omni/demo/json_out.h"

#include <gtest/gtest.h>

namespace omni::demo {
namespace {

std::string Json(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

TEST(AppendJsonString, EscapesWhatJsonRequires) {
  EXPECT_EQ(Json("plain"), "\"plain\"");
  EXPECT_EQ(Json("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Json("tab\there\nnl\r\b\f"), "\"tab\\there\\nnl\\r\\b\\f\"");
  EXPECT_EQ(Json(std::string_view("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(Json(std::string_view("nul\0x", 5)), "\"nul\\u0000x\"");
  EXPECT_EQ(Json("/"), "\"/\"");  // solidus need not be escaped
}

TEST(AppendJsonString, CopiesUtf8Unchanged) {
  EXPECT_EQ(Json("服饰 > 女装 > 连衣裙"), "\"服饰 > 女装 > 连衣裙\"");
  EXPECT_EQ(Json("L'Oréal"), "\"L'Oréal\"");
}

TEST(AppendCents, ShortestDecimal) {
  auto cents = [](int64_t c) {
    std::string s;
    AppendCents(s, c);
    return s;
  };
  EXPECT_EQ(cents(5990), "59.9");
  EXPECT_EQ(cents(5900), "59");
  EXPECT_EQ(cents(5999), "59.99");
  EXPECT_EQ(cents(5), "0.05");
  EXPECT_EQ(cents(0), "0");
  EXPECT_EQ(cents(-150), "-1.5");
}

TEST(AppendCsvField, QuotesOnlyWhenNeeded) {
  auto csv = [](std::string_view s) {
    std::string out;
    AppendCsvField(out, s);
    return out;
  };
  EXPECT_EQ(csv("森马 Semir"), "森马 Semir");
  EXPECT_EQ(csv("买2件, 享9折"), "\"买2件, 享9折\"");
  EXPECT_EQ(csv("\"Prime\"系列"), "\"\"\"Prime\"\"系列\"");
  EXPECT_EQ(csv("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv(""), "");
}

TEST(IsValidUtf8, AcceptsUtf8RejectsTheRest) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("ascii"));
  EXPECT_TRUE(IsValidUtf8("上海 南京西路店"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x9B\x92"));              // U+1F6D2 shopping cart
  EXPECT_FALSE(IsValidUtf8("\xC1\xAC\xD2\xC2"));             // GBK "连衣"
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));                     // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));                 // overlong, 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));                 // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));             // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE4\xB8"));                     // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));                         // lone continuation
}

}  // namespace
}  // namespace omni::demo
