#include "omni/ingest/csv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace omni::ingest {
namespace {

std::vector<std::string> Split(std::string_view record, char delimiter = ',') {
  std::vector<std::string_view> fields;
  std::string scratch;
  Status st = SplitCsvRecord(record, delimiter, fields, scratch);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return {fields.begin(), fields.end()};
}

using Fields = std::vector<std::string>;

TEST(SplitCsvRecordTest, PlainFields) {
  EXPECT_EQ(Split("a,b,c"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(Split(""), (Fields{""}));
  EXPECT_EQ(Split(","), (Fields{"", ""}));
  EXPECT_EQ(Split("a,,c,"), (Fields{"a", "", "c", ""}));
  EXPECT_EQ(Split(" a , b "), (Fields{" a ", " b "}));  // spaces are data; formats trim
}

TEST(SplitCsvRecordTest, QuotedFields) {
  EXPECT_EQ(Split(R"("a,b",c)"), (Fields{"a,b", "c"}));
  EXPECT_EQ(Split(R"("",x)"), (Fields{"", "x"}));
  EXPECT_EQ(Split(R"(x,"")"), (Fields{"x", ""}));
  EXPECT_EQ(Split("\"line1\nline2\",z"), (Fields{"line1\nline2", "z"}));
}

TEST(SplitCsvRecordTest, DoubledQuotes) {
  EXPECT_EQ(Split(R"("say ""hi""",2)"), (Fields{R"(say "hi")", "2"}));
  EXPECT_EQ(Split(R"("""")"), (Fields{"\""}));
  EXPECT_EQ(Split(R"("a""b","c""d","e")"), (Fields{"a\"b", "c\"d", "e"}));
}

TEST(SplitCsvRecordTest, QuoteInsideUnquotedFieldIsLiteral) {
  EXPECT_EQ(Split(R"(12" RULER,3)"), (Fields{"12\" RULER", "3"}));
}

TEST(SplitCsvRecordTest, Delimiters) {
  EXPECT_EQ(Split("a;b;\"c;d\"", ';'), (Fields{"a", "b", "c;d"}));
  EXPECT_EQ(Split("a\tb,c\t\"d\te\"", '\t'), (Fields{"a", "b,c", "d\te"}));
}

TEST(SplitCsvRecordTest, CrlfTolerated) {
  EXPECT_EQ(Split("a,b\r"), (Fields{"a", "b"}));
  EXPECT_EQ(Split("a,\"b\"\r"), (Fields{"a", "b"}));
}

TEST(SplitCsvRecordTest, ChineseBytesSurvive) {
  EXPECT_EQ(Split("青花瓷,\"食品, 饮料\""), (Fields{"青花瓷", "食品, 饮料"}));
}

TEST(SplitCsvRecordTest, Errors) {
  std::vector<std::string_view> fields;
  std::string scratch;
  for (std::string_view bad : {R"("abc)", R"(a,"b)", R"("a""b)", R"("a"x,b)", R"(a,"b" ,c)"}) {
    Status st = SplitCsvRecord(bad, ',', fields, scratch);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
  }
  Status st = SplitCsvRecord(R"(a,b,"c)", ',', fields, scratch);
  EXPECT_NE(st.message().find("column 3"), std::string::npos) << st.message();
}

TEST(SplitCsvRecordTest, ViewsIntoScratchStayValidAcrossFields) {
  std::vector<std::string_view> fields;
  std::string scratch;
  std::string record = R"("a""1","b""2","c""3",plain)";
  ASSERT_TRUE(SplitCsvRecord(record, ',', fields, scratch).ok());
  EXPECT_EQ(fields, (std::vector<std::string_view>{"a\"1", "b\"2", "c\"3", "plain"}));
  // Reuse: the second call clears both.
  ASSERT_TRUE(SplitCsvRecord("x", ',', fields, scratch).ok());
  EXPECT_EQ(fields, (std::vector<std::string_view>{"x"}));
}

TEST(CsvRecordCompleteTest, BalancedQuotes) {
  EXPECT_TRUE(CsvRecordComplete("a,b,c"));
  EXPECT_TRUE(CsvRecordComplete(""));
  EXPECT_TRUE(CsvRecordComplete(R"("a,b",c)"));
  EXPECT_TRUE(CsvRecordComplete(R"("say ""hi""",2)"));
  EXPECT_FALSE(CsvRecordComplete(R"(a,"multi)"));
  EXPECT_TRUE(CsvRecordComplete("a,\"multi\nline\",b"));
  EXPECT_FALSE(CsvRecordComplete(R"(a,"x"")"));  // "" is an escaped quote: still open
}

TEST(CsvRecordCompleteTest, QuoteInsideUnquotedFieldDoesNotOpen) {
  EXPECT_TRUE(CsvRecordComplete(R"(12" RULER,3)"));
  EXPECT_TRUE(CsvRecordComplete(R"(a,b"c,d)"));
}

TEST(CsvRecordCompleteTest, OtherDelimiters) {
  EXPECT_FALSE(CsvRecordComplete("a;\"open"));
  EXPECT_FALSE(CsvRecordComplete("a\t\"open"));
  EXPECT_FALSE(CsvRecordComplete("a;\"open", ';'));
  EXPECT_TRUE(CsvRecordComplete("a;\"open", ','));  // with ',' the quote is mid-field
}

TEST(CsvRecordCompleteTest, AgreesWithSplit) {
  std::vector<std::string_view> fields;
  std::string scratch;
  for (std::string_view r : {"a,b", "\"a\nb\",c", "\"a\"\"\",b", "x\"y,z", "\"\"", "a,\"\"\"\""}) {
    ASSERT_TRUE(SplitCsvRecord(r, ',', fields, scratch).ok()) << r;
    EXPECT_TRUE(CsvRecordComplete(r, ',')) << r;
    EXPECT_TRUE(CsvRecordComplete(r)) << r;
  }
}

}  // namespace
}  // namespace omni::ingest
