#include "omni/profile/segment_expression.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace omni::profile {
namespace {

FieldCatalog TestCatalog() {
  FieldCatalog c;
  auto add = [&](const char* name, FieldType type) { OMNI_CHECK(c.Add(name, type, "test field").ok()); };
  add("rfm.recency", FieldType::kNumber);
  add("rfm.frequency", FieldType::kNumber);
  add("clv.12m", FieldType::kNumber);
  add("clv.prev_12m", FieldType::kNumber);
  add("consent.sms", FieldType::kBool);
  add("consent.email", FieldType::kBool);
  add("city", FieldType::kString);
  add("home_city", FieldType::kString);
  add("home_channel", FieldType::kString);
  add("channels", FieldType::kStringSet);
  add("categories", FieldType::kStringSet);
  return c;
}

// A row keyed by field name for readable tests; values absent from the maps
// are missing.
class TestRow : public ProfileRow {
 public:
  explicit TestRow(const FieldCatalog& catalog) : catalog_(catalog) {}

  TestRow& Num(const std::string& name, double v) {
    numbers_[Index(name)] = v;
    return *this;
  }
  TestRow& Bool(const std::string& name, bool v) {
    bools_[Index(name)] = v;
    return *this;
  }
  TestRow& Str(const std::string& name, std::string v) {
    strings_[Index(name)] = std::move(v);
    return *this;
  }
  TestRow& Set(const std::string& name, std::set<std::string> v) {
    sets_[Index(name)] = std::move(v);
    return *this;
  }

  bool GetNumber(int field, double* value) const override { return Get(numbers_, field, value); }
  bool GetBool(int field, bool* value) const override { return Get(bools_, field, value); }
  bool GetString(int field, std::string_view* value) const override {
    auto it = strings_.find(field);
    if (it == strings_.end()) return false;
    *value = it->second;
    return true;
  }
  bool SetContains(int field, std::string_view value) const override {
    auto it = sets_.find(field);
    return it != sets_.end() && it->second.count(std::string(value)) > 0;
  }

 private:
  int Index(const std::string& name) const {
    int i = catalog_.Find(name);
    OMNI_CHECK(i >= 0);
    return i;
  }
  template <typename M, typename T>
  static bool Get(const M& m, int field, T* value) {
    auto it = m.find(field);
    if (it == m.end()) return false;
    *value = it->second;
    return true;
  }
  const FieldCatalog& catalog_;
  std::map<int, double> numbers_;
  std::map<int, bool> bools_;
  std::map<int, std::string> strings_;
  std::map<int, std::set<std::string>> sets_;
};

class SegmentExpressionTest : public ::testing::Test {
 protected:
  SegmentExpression Parse(const std::string& text) {
    auto e = SegmentExpression::Parse(text, catalog_);
    EXPECT_TRUE(e.ok()) << text << "\n" << e.status().ToString();
    OMNI_CHECK(e.ok());
    return *e;
  }
  bool Eval(const std::string& text, const TestRow& row) { return Parse(text).Matches(row); }
  std::string Canon(const std::string& text) { return Parse(text).ToString(); }
  // The 1-based column an error reports, or -1 when the text parses.
  int ErrorColumn(const std::string& text) {
    auto e = SegmentExpression::Parse(text, catalog_);
    if (e.ok()) return -1;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    const std::string& m = e.status().message();
    EXPECT_EQ(m.rfind("column ", 0), 0u) << m;
    return std::stoi(m.substr(7));
  }
  std::string ErrorMessage(const std::string& text) {
    auto e = SegmentExpression::Parse(text, catalog_);
    return e.ok() ? "" : e.status().message();
  }
  TestRow Row() { return TestRow(catalog_); }

  FieldCatalog catalog_ = TestCatalog();
};

TEST_F(SegmentExpressionTest, IssueExampleEvaluates) {
  auto e = Parse(R"(rfm.recency >= 4 and "store" in channels and clv.12m > 500 and consent.sms)");
  TestRow yes = Row();
  yes.Num("rfm.recency", 5).Set("channels", {"store", "web"}).Num("clv.12m", 800).Bool("consent.sms", true);
  EXPECT_TRUE(e.Matches(yes));
  TestRow no_consent = yes;
  no_consent.Bool("consent.sms", false);
  EXPECT_FALSE(e.Matches(no_consent));
  TestRow online_only = yes;
  online_only.Set("channels", {"web"});
  EXPECT_FALSE(e.Matches(online_only));
  TestRow low_clv = yes;
  low_clv.Num("clv.12m", 500);
  EXPECT_FALSE(e.Matches(low_clv));
  EXPECT_EQ(e.fields(), (std::vector<int>{catalog_.Find("rfm.recency"), catalog_.Find("clv.12m"),
                                          catalog_.Find("consent.sms"), catalog_.Find("channels")}));
}

TEST_F(SegmentExpressionTest, AndBindsTighterThanOrAndNotTighterThanAnd) {
  // a or b and c  ==  a or (b and c)
  EXPECT_EQ(Canon("consent.sms or consent.email and rfm.recency > 3"),
            "consent.sms or (consent.email and rfm.recency > 3)");
  TestRow a_only = Row();
  a_only.Bool("consent.sms", true).Bool("consent.email", false).Num("rfm.recency", 1);
  EXPECT_TRUE(Eval("consent.sms or consent.email and rfm.recency > 3", a_only));
  EXPECT_FALSE(Eval("(consent.sms or consent.email) and rfm.recency > 3", a_only));
  // not a and b  ==  (not a) and b
  TestRow r = Row();
  r.Bool("consent.sms", false).Bool("consent.email", false);
  EXPECT_FALSE(Eval("not consent.sms and consent.email", r));
  EXPECT_TRUE(Eval("not (consent.sms and consent.email)", r));
  EXPECT_EQ(Canon("not consent.sms and consent.email"), "not consent.sms and consent.email");
  // not binds looser than a comparison: not x > 3 == not (x > 3)
  EXPECT_EQ(Canon("not rfm.recency > 3"), "not (rfm.recency > 3)");
  EXPECT_EQ(Canon("not not consent.sms"), "not not consent.sms");
}

TEST_F(SegmentExpressionTest, ParenthesesNestAndFlatten) {
  EXPECT_EQ(Canon("((consent.sms))"), "consent.sms");
  EXPECT_EQ(Canon("(consent.sms and consent.email) and (rfm.recency > 1 and city == \"x\")"),
            "consent.sms and consent.email and rfm.recency > 1 and city == \"x\"");
  EXPECT_EQ(Canon("(consent.sms or consent.email) and (rfm.recency > 1 or rfm.recency < 0)"),
            "(consent.sms or consent.email) and (rfm.recency > 1 or rfm.recency < 0)");
  TestRow r = Row();
  r.Bool("consent.sms", true).Num("rfm.recency", 2);
  EXPECT_TRUE(Eval("(consent.sms or consent.email) and (rfm.recency > 1 or rfm.recency < 0)", r));
  EXPECT_FALSE(Eval("consent.sms and (consent.email or rfm.recency > 5)", r));
}

TEST_F(SegmentExpressionTest, EveryNumberOperator) {
  TestRow r = Row();
  r.Num("rfm.recency", 4).Num("clv.12m", 500.5).Num("clv.prev_12m", 600);
  struct Case {
    const char* text;
    bool want;
  };
  for (const Case& c : std::vector<Case>{
           {"rfm.recency == 4", true},
           {"rfm.recency = 4", true},
           {"rfm.recency != 4", false},
           {"rfm.recency <> 3", true},
           {"rfm.recency < 4", false},
           {"rfm.recency <= 4", true},
           {"rfm.recency > 4", false},
           {"rfm.recency >= 4", true},
           {"4 <= rfm.recency", true},
           {"5 > rfm.recency", true},
           {"clv.12m > 500.25", true},
           {"clv.12m == 500.5", true},
           {"clv.12m > -1", true},
           {"clv.12m < 1e3", true},
           {"clv.12m >= .5", true},
           {"clv.12m < clv.prev_12m", true},
           {"clv.prev_12m <= clv.12m", false},
       }) {
    EXPECT_EQ(Eval(c.text, r), c.want) << c.text;
  }
  EXPECT_EQ(Canon("4 <= rfm.recency"), "rfm.recency >= 4");
  EXPECT_EQ(Canon("-2.50 > clv.12m"), "clv.12m < -2.5");
  EXPECT_EQ(Canon("rfm.recency <> 3"), "rfm.recency != 3");
  EXPECT_EQ(Canon("clv.12m = 1e6"), "clv.12m == 1000000");
}

TEST_F(SegmentExpressionTest, StringAndBoolOperators) {
  TestRow r = Row();
  r.Str("city", "上海").Str("home_city", "北京").Bool("consent.sms", true).Bool("consent.email", false);
  EXPECT_TRUE(Eval("city == \"上海\"", r));
  EXPECT_TRUE(Eval("\"上海\" == city", r));
  EXPECT_TRUE(Eval("city != home_city", r));
  EXPECT_FALSE(Eval("city == home_city", r));
  // Byte order is code-point order: 上 (U+4E0A) < 北 (U+5317).
  EXPECT_TRUE(Eval("city < home_city", r));
  EXPECT_TRUE(Eval("consent.sms == true", r));
  EXPECT_TRUE(Eval("consent.email == false", r));
  EXPECT_TRUE(Eval("consent.sms != consent.email", r));
  EXPECT_TRUE(Eval("TRUE", r));
  EXPECT_FALSE(Eval("false", r));
  EXPECT_EQ(Canon("\"上海\" == city"), "city == \"上海\"");
  EXPECT_EQ(Canon("true == consent.sms"), "consent.sms == true");
}

TEST_F(SegmentExpressionTest, MembershipBothWays) {
  TestRow r = Row();
  r.Set("channels", {"store", "app"}).Set("categories", {"母婴", "美妆"}).Str("home_channel", "app");
  r.Str("city", "深圳").Num("rfm.recency", 5);
  EXPECT_TRUE(Eval("\"store\" in channels", r));
  EXPECT_FALSE(Eval("\"web\" in channels", r));
  EXPECT_TRUE(Eval("\"web\" not in channels", r));
  EXPECT_TRUE(Eval("\"母婴\" in categories", r));
  EXPECT_TRUE(Eval("home_channel in channels", r));
  EXPECT_TRUE(Eval("city in (\"上海\", \"北京\", \"深圳\")", r));
  EXPECT_FALSE(Eval("city in (\"上海\", \"北京\")", r));
  EXPECT_TRUE(Eval("city not in (\"上海\", \"北京\")", r));
  EXPECT_TRUE(Eval("rfm.recency in (4, 5)", r));
  EXPECT_FALSE(Eval("rfm.recency in (1, 2, 3, 2)", r));
  EXPECT_EQ(Canon("\"web\" NOT IN channels"), "not (\"web\" in channels)");
  EXPECT_EQ(Canon("city in (\"北京\",\"上海\")"), "city in (\"北京\", \"上海\")");
}

TEST_F(SegmentExpressionTest, KeywordsAreCaseInsensitive) {
  TestRow r = Row();
  r.Bool("consent.sms", true).Set("channels", {"web"});
  EXPECT_TRUE(Eval("consent.sms AND \"web\" In channels Or NOT consent.email", r));
  EXPECT_EQ(Canon("consent.sms AND \"web\" In channels Or NOT consent.email"),
            "(consent.sms and \"web\" in channels) or not consent.email");
  EXPECT_EQ(Canon("consent.sms == True"), "consent.sms == true");
}

TEST_F(SegmentExpressionTest, MissingFieldsMakeConditionsFalse) {
  TestRow empty = Row();
  for (const char* text :
       {"clv.12m > 500", "clv.12m <= 500", "clv.12m != 500", "city != \"上海\"", "city == \"上海\"",
        "\"web\" in channels", "consent.sms", "consent.sms == false", "city in (\"上海\")",
        "rfm.recency in (1)", "clv.12m > clv.prev_12m", "home_channel in channels"}) {
    EXPECT_FALSE(Eval(text, empty)) << text;
  }
  // `not` simply inverts: documented in the header.
  EXPECT_TRUE(Eval("not clv.12m > 500", empty));
  // NaN counts as missing.
  TestRow nan = Row();
  nan.Num("clv.12m", std::nan(""));
  EXPECT_FALSE(Eval("clv.12m != 1", nan));
  EXPECT_FALSE(Eval("clv.12m in (1, 2)", nan));
}

TEST_F(SegmentExpressionTest, StringEscapes) {
  TestRow r = Row();
  r.Str("city", "a \"quoted\" \\ city");
  EXPECT_TRUE(Eval(R"(city == "a \"quoted\" \\ city")", r));
  EXPECT_EQ(Canon(R"(city == "a \"quoted\" \\ city")"), R"(city == "a \"quoted\" \\ city")");
}

TEST_F(SegmentExpressionTest, ErrorNamesColumnAndDrawsCaret) {
  EXPECT_EQ(ErrorMessage("rfm.recency >= 4 and rfm.recncy"),
            "column 22: unknown field 'rfm.recncy' (did you mean rfm.recency?)\n"
            "  rfm.recency >= 4 and rfm.recncy\n"
            "                       ^");
  // Columns count characters; the caret counts terminal cells (CJK = 2).
  EXPECT_EQ(ErrorMessage("city == \"上海\" and cty == \"x\""),
            "column 18: unknown field 'cty' (did you mean city?)\n"
            "  city == \"上海\" and cty == \"x\"\n"
            "                     ^");
  EXPECT_EQ(ErrorMessage("consent.sms and\n  clv.12m > \"x\""),
            "line 2, column 13: type mismatch: 'clv.12m' is a number but \"x\" is a string\n"
            "    clv.12m > \"x\"\n"
            "              ^");
}

TEST_F(SegmentExpressionTest, ErrorColumns) {
  // unknown field
  EXPECT_EQ(ErrorColumn("rfm.recency >= 4 and rfm.recncy > 1"), 22);
  EXPECT_NE(ErrorMessage("recency > 1").find("did you mean rfm.recency?"), std::string::npos);
  EXPECT_NE(ErrorMessage("zzzzzz > 1").find("unknown field 'zzzzzz'"), std::string::npos);
  // bad literals
  EXPECT_EQ(ErrorColumn("clv.12m > 5x0"), 11);
  EXPECT_EQ(ErrorColumn("clv.12m > 1.2.3"), 11);
  EXPECT_EQ(ErrorColumn("clv.12m > 1e999"), 11);
  EXPECT_EQ(ErrorColumn("clv.12m > 12m.x"), 11);
  EXPECT_EQ(ErrorColumn("city == '上海'"), 9);
  EXPECT_EQ(ErrorColumn("city == 上海"), 9);
  EXPECT_EQ(ErrorColumn("city == \"a\\nb\""), 11);  // unknown escape, at the backslash
  EXPECT_EQ(ErrorColumn("rfm. > 1"), 4);
  // unclosed parenthesis: points at the '(' left open
  EXPECT_EQ(ErrorColumn("consent.sms and (rfm.recency > 1 or consent.email"), 17);
  EXPECT_EQ(ErrorColumn("city in (\"a\", \"b\""), 9);
  EXPECT_EQ(ErrorColumn("(consent.sms consent.email)"), 14);
  // unterminated string: points at its opening quote
  EXPECT_EQ(ErrorColumn("consent.sms and city == \"上海 and x"), 25);
  // trailing garbage
  EXPECT_EQ(ErrorColumn("rfm.recency >= 4 extra"), 18);
  EXPECT_EQ(ErrorColumn("consent.sms)"), 12);
  EXPECT_EQ(ErrorColumn("consent.sms and"), 16);  // end of input
  // type mismatches
  EXPECT_EQ(ErrorColumn("channels > 3"), 1);
  EXPECT_EQ(ErrorColumn("3 < channels"), 5);
  EXPECT_EQ(ErrorColumn("clv.12m > \"abc\""), 11);
  EXPECT_EQ(ErrorColumn("city == 3"), 9);
  EXPECT_EQ(ErrorColumn("clv.12m == city"), 12);
  EXPECT_EQ(ErrorColumn("consent.sms > true"), 13);
  EXPECT_EQ(ErrorColumn("clv.12m and consent.sms"), 1);
  EXPECT_EQ(ErrorColumn("\"store\" in city"), 12);
  EXPECT_EQ(ErrorColumn("3 in channels"), 1);
  EXPECT_EQ(ErrorColumn("channels in (\"web\")"), 1);
  EXPECT_EQ(ErrorColumn("city in (\"a\", 3)"), 15);
  EXPECT_EQ(ErrorColumn("city in ()"), 10);
  EXPECT_EQ(ErrorColumn("3 > 2"), 1);
  EXPECT_EQ(ErrorColumn("\"x\""), 1);
  // the rest
  EXPECT_EQ(ErrorColumn(""), 1);
  EXPECT_EQ(ErrorColumn("   "), 1);
  EXPECT_EQ(ErrorColumn("consent.sms and and"), 17);
  EXPECT_EQ(ErrorColumn("! consent.sms"), 1);
  EXPECT_EQ(ErrorColumn("clv.12m >"), 10);
}

TEST_F(SegmentExpressionTest, RejectsInvalidUtf8AndDeepNesting) {
  EXPECT_EQ(ErrorColumn("city == \"\xff\""), 10);
  std::string deep(100000, '(');
  EXPECT_GT(ErrorColumn(deep + "consent.sms"), 0);
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_GT(ErrorColumn(nots + "consent.sms"), 0);
  EXPECT_EQ(Canon(std::string(100, '(') + "consent.sms" + std::string(100, ')')), "consent.sms");
}

TEST_F(SegmentExpressionTest, CanonicalFormRoundTrips) {
  std::vector<std::string> texts = {
      R"(rfm.recency >= 4 and "store" in channels and clv.12m > 500 and consent.sms)",
      R"(rfm.recency>=4 AND("store" IN channels OR "app" in channels)and NOT consent.email)",
      R"(not (consent.sms or consent.email) or city in ("上海", "北京") and 0.5 < clv.12m)",
      R"(city not in ("a\"b", "c\\d") and home_channel in channels)",
      R"(true or false and not true)",
      R"(clv.12m >= -0.001 and clv.12m < 1e21 and rfm.frequency in (1, 2.5, -3))",
  };
  TestRow r1 = Row();
  r1.Num("rfm.recency", 4).Set("channels", {"app"}).Str("city", "北京").Num("clv.12m", 1);
  TestRow r2 = Row();
  r2.Bool("consent.sms", true).Str("home_channel", "web").Set("channels", {"web"}).Str("city", "c\\d");
  for (const std::string& text : texts) {
    SegmentExpression e = Parse(text);
    std::string canon = e.ToString();
    SegmentExpression again = Parse(canon);
    EXPECT_EQ(again.ToString(), canon) << text;
    EXPECT_EQ(again.Matches(r1), e.Matches(r1)) << text;
    EXPECT_EQ(again.Matches(r2), e.Matches(r2)) << text;
    EXPECT_EQ(again.fields(), e.fields()) << text;
  }
  EXPECT_EQ(Canon(texts[1]),
            "rfm.recency >= 4 and (\"store\" in channels or \"app\" in channels) and not consent.email");
  EXPECT_EQ(Canon(texts[5]), "clv.12m >= -0.001 and clv.12m < 1e+21 and rfm.frequency in (1, 2.5, -3)");
}

TEST_F(SegmentExpressionTest, ExpressionIsIndependentOfTheCatalogAfterParse) {
  std::optional<SegmentExpression> e;
  {
    FieldCatalog temporary = TestCatalog();
    auto parsed = SegmentExpression::Parse("city == \"上海\" and consent.sms", temporary);
    ASSERT_TRUE(parsed.ok());
    e = *parsed;
  }
  TestRow r = Row();
  r.Str("city", "上海").Bool("consent.sms", true);
  EXPECT_TRUE(e->Matches(r));
  EXPECT_EQ(e->ToString(), "city == \"上海\" and consent.sms");
}

// Random well-typed expressions with a directly computed expected value (the
// documented semantics, written independently of the compiler), in random
// spellings: keyword case, operand order, `=`/`<>`, spacing, extra parentheses.
class RandomExpression {
 public:
  struct Expr {
    std::string text;
    std::function<bool(const ProfileRow&)> eval;
  };
  RandomExpression(const FieldCatalog& c, uint64_t seed) : c_(c), rng_(seed) {}

  Expr Make(int depth) {
    int pick = Pick(depth > 0 ? 10 : 7);
    if (pick < 7) return MaybeParens(Leaf());
    Expr a = Make(depth - 1);
    if (pick == 7)
      return {Keyword("not") + " (" + a.text + ")", [a](const ProfileRow& r) { return !a.eval(r); }};
    Expr b = Make(depth - 1);
    bool is_and = pick == 8;
    std::string text =
        "(" + a.text + ")" + Space() + Keyword(is_and ? "and" : "or") + Space() + "(" + b.text + ")";
    if (is_and) return {text, [a, b](const ProfileRow& r) { return a.eval(r) && b.eval(r); }};
    return {text, [a, b](const ProfileRow& r) { return a.eval(r) || b.eval(r); }};
  }

  TestRow Row() {
    TestRow r(c_);
    auto present = [&] { return Pick(5) != 0; };
    if (present()) r.Num("rfm.recency", Pick(6));
    if (present()) r.Num("clv.12m", std::vector<double>{-1, 0, 2.5, 3, 500}[static_cast<size_t>(Pick(5))]);
    if (present()) r.Bool("consent.sms", Pick(2) == 1);
    if (present()) r.Str("city", kCities[Pick(4)]);
    if (present()) r.Str("home_channel", kChannels[Pick(3)]);
    if (present()) {
      std::set<std::string> s;
      for (const char* ch : kChannels) {
        if (Pick(2)) s.insert(ch);
      }
      r.Set("channels", s);
    }
    return r;
  }

 private:
  static constexpr const char* kCities[] = {"上海", "北京", "a\"b", "深圳"};
  static constexpr const char* kChannels[] = {"store", "web", "app"};

  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  std::string Space() { return Pick(4) == 0 ? "  " : " "; }
  std::string Keyword(const std::string& k) {
    int style = Pick(3);
    if (style == 0) return k;
    std::string out = k;
    for (size_t i = 0; i < out.size(); ++i) {
      if (style == 1 || i == 0) out[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[i])));
    }
    return out;
  }
  Expr MaybeParens(Expr e) {
    if (Pick(4) == 0) e.text = "(" + e.text + ")";
    return e;
  }
  static std::string Quote(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    return out + "\"";
  }
  int F(const char* name) const { return c_.Find(name); }

  Expr Leaf() {
    static const char* kOps[] = {"==", "!=", "<", "<=", ">", ">=", "=", "<>"};
    auto apply = [](int op, double a, double b) {
      switch (op) {
        case 0:
        case 6:
          return a == b;
        case 1:
        case 7:
          return a != b;
        case 2:
          return a < b;
        case 3:
          return a <= b;
        case 4:
          return a > b;
        default:
          return a >= b;
      }
    };
    switch (Pick(8)) {
      case 0: {  // number field vs literal, either order
        int field = Pick(2) ? F("rfm.recency") : F("clv.12m");
        std::string name = c_.field(field).name;
        double lit = std::vector<double>{-1, 0, 2.5, 3, 4, 500}[static_cast<size_t>(Pick(6))];
        int op = Pick(8);
        std::ostringstream lit_text;
        lit_text << lit;
        bool swapped = Pick(2);
        std::string text = swapped ? lit_text.str() + " " + kOps[op] + " " + name
                                   : name + " " + kOps[op] + " " + lit_text.str();
        return {text, [=](const ProfileRow& r) {
                  double v;
                  if (!r.GetNumber(field, &v)) return false;
                  return swapped ? apply(op, lit, v) : apply(op, v, lit);
                }};
      }
      case 1: {  // number field vs number field
        int op = Pick(8);
        int a = F("rfm.recency"), b = F("clv.12m");
        return {std::string("rfm.recency ") + kOps[op] + " clv.12m", [=](const ProfileRow& r) {
                  double x, y;
                  return r.GetNumber(a, &x) && r.GetNumber(b, &y) && apply(op, x, y);
                }};
      }
      case 2: {  // string equality, either order
        std::string lit = kCities[Pick(4)];
        bool eq = Pick(2);
        bool swapped = Pick(2);
        std::string op = eq ? "==" : "!=";
        int field = F("city");
        std::string text = swapped ? Quote(lit) + " " + op + " city" : "city " + op + " " + Quote(lit);
        return {text, [=](const ProfileRow& r) {
                  std::string_view v;
                  return r.GetString(field, &v) && ((v == lit) == eq);
                }};
      }
      case 3: {  // bare bool or bool literal comparison
        int field = F("consent.sms");
        if (Pick(2)) {
          return {"consent.sms", [=](const ProfileRow& r) {
                    bool v;
                    return r.GetBool(field, &v) && v;
                  }};
        }
        bool lit = Pick(2);
        return {std::string("consent.sms == ") + Keyword(lit ? "true" : "false"), [=](const ProfileRow& r) {
                  bool v;
                  return r.GetBool(field, &v) && v == lit;
                }};
      }
      case 4: {  // literal in set, or not in
        std::string lit = kChannels[Pick(3)];
        bool negated = Pick(2);
        int field = F("channels");
        return {Quote(lit) + (negated ? " " + Keyword("not") : "") + " " + Keyword("in") + " channels",
                [=](const ProfileRow& r) { return r.SetContains(field, lit) != negated; }};
      }
      case 5: {  // string field in set
        int set = F("channels"), s = F("home_channel");
        return {"home_channel in channels", [=](const ProfileRow& r) {
                  std::string_view v;
                  return r.GetString(s, &v) && r.SetContains(set, v);
                }};
      }
      case 6: {  // field in literal list, or not in
        bool negated = Pick(2);
        std::string kw = (negated ? Keyword("not") + " " : "") + Keyword("in");
        if (Pick(2)) {
          std::vector<std::string> items = {kCities[Pick(4)], kCities[Pick(4)]};
          int field = F("city");
          return {"city " + kw + " (" + Quote(items[0]) + "," + Quote(items[1]) + ")",
                  [=](const ProfileRow& r) {
                    std::string_view v;
                    bool in = r.GetString(field, &v) && (v == items[0] || v == items[1]);
                    return in != negated;
                  }};
        }
        double a = Pick(6), b = Pick(6);
        int field = F("rfm.recency");
        std::ostringstream t;
        t << "rfm.recency " << kw << " (" << a << ", " << b << ", " << a << ")";
        return {t.str(), [=](const ProfileRow& r) {
                  double v;
                  bool in = r.GetNumber(field, &v) && (v == a || v == b);
                  return in != negated;
                }};
      }
      default: {
        bool lit = Pick(2);
        return {Keyword(lit ? "true" : "false"), [=](const ProfileRow&) { return lit; }};
      }
    }
  }

  const FieldCatalog& c_;
  std::mt19937_64 rng_;
};

TEST_F(SegmentExpressionTest, RandomExpressionsEvaluateAsSpecifiedAndRoundTrip) {
  RandomExpression gen(catalog_, 2026);
  std::vector<TestRow> rows;
  for (int i = 0; i < 40; ++i) rows.push_back(gen.Row());
  int64_t checks = 0, matches = 0;
  for (int i = 0; i < 3000; ++i) {
    RandomExpression::Expr x = gen.Make(i % 5);
    auto parsed = SegmentExpression::Parse(x.text, catalog_);
    ASSERT_TRUE(parsed.ok()) << x.text << "\n" << parsed.status().ToString();
    std::string canon = parsed->ToString();
    auto reparsed = SegmentExpression::Parse(canon, catalog_);
    ASSERT_TRUE(reparsed.ok()) << canon << "\n" << reparsed.status().ToString();
    ASSERT_EQ(reparsed->ToString(), canon) << x.text;
    for (const TestRow& row : rows) {
      bool want = x.eval(row);
      ASSERT_EQ(parsed->Matches(row), want) << x.text;
      ASSERT_EQ(reparsed->Matches(row), want) << canon;
      ++checks;
      matches += want;
    }
  }
  // Both outcomes are well represented, so the check means something.
  EXPECT_GT(matches, checks / 5);
  EXPECT_LT(matches, checks * 4 / 5);
}

TEST_F(SegmentExpressionTest, GarbageNeverCrashes) {
  // Token soup: every parse either succeeds or fails with InvalidArgument.
  std::vector<std::string> vocabulary = {
      "rfm.recency", "channels", "consent.sms", "city", "clv.12m", "\"上海\"", "4",  "-2.5", "true",
      "not",         "and",      "OR",          "in",   "(",       ")",        ",",  "==",   "<=",
      "<>",          "=",        "\"",          "\\",   "上",      ".",        "1e", "-",    "!"};
  std::mt19937_64 rng(7);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    int n = static_cast<int>(rng() % 10);
    for (int j = 0; j < n; ++j) text += vocabulary[rng() % vocabulary.size()] + (rng() % 3 ? " " : "");
    auto e = SegmentExpression::Parse(text, catalog_);
    if (e.ok()) {
      EXPECT_EQ(SegmentExpression::Parse(e->ToString(), catalog_)->ToString(), e->ToString()) << text;
      (void)e->Matches(Row());
      ++parsed;
    } else {
      EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << text;
    }
  }
  EXPECT_GT(parsed, 100);
}

TEST(FieldCatalogTest, ValidatesNamesAndPrintsHelp) {
  FieldCatalog c;
  EXPECT_TRUE(c.Add("clv.12m", FieldType::kNumber, "expected spend over the next 12 months").ok());
  EXPECT_TRUE(c.Add("channels", FieldType::kStringSet, "channels the customer bought in").ok());
  EXPECT_FALSE(c.Add("clv.12m", FieldType::kNumber, "again").ok());
  EXPECT_FALSE(c.Add("12m", FieldType::kNumber, "").ok());
  EXPECT_FALSE(c.Add("a..b", FieldType::kNumber, "").ok());
  EXPECT_FALSE(c.Add("a.", FieldType::kNumber, "").ok());
  EXPECT_FALSE(c.Add("城市", FieldType::kString, "").ok());
  EXPECT_FALSE(c.Add("IN", FieldType::kBool, "").ok());
  EXPECT_FALSE(c.Add("", FieldType::kBool, "").ok());
  EXPECT_EQ(c.size(), 2);
  EXPECT_EQ(c.Help(),
            "clv.12m   number      expected spend over the next 12 months\n"
            "channels  string set  channels the customer bought in\n");
}

}  // namespace
}  // namespace omni::profile
