// Segment expressions: the language a marketer uses to say who is in a segment.
//
//   rfm.recency >= 4 and "store" in channels and clv.12m > 500 and consent.sms
//
// A segment is one condition over the fields of a customer's profile; every
// customer for whom it is true is in the segment. The fields that exist, and
// their types, come from a FieldCatalog (the profile builder publishes one;
// `FieldCatalog::Help()` prints it).
//
// VALUES
//   number      clv.12m > 500         rfm.recency >= 4       age < 30.5
//   bool        consent.sms           consent.email == false
//   string      city == "上海"        tier != "gold"         (UTF-8; any language)
//   string set  "store" in channels   "母婴" in categories
//
// LITERALS
//   numbers     500  -3  0.25  1e6    (decimal; a leading '-' for negatives)
//   strings     "上海"  "Bob's \"best\" shop"   (double quotes; the only
//               escapes are \" and \\ — anything else after '\' is an error)
//   bools       true  false
//
// FIELDS are dotted paths, exactly as the catalog spells them (case matters):
// each part is letters, digits and '_', and every part after the first may
// start with a digit (clv.12m, rfm.r_score, orders.30d). A misspelt field is
// reported with the closest known names.
//
// CONDITIONS
//   a == b   a != b   a < b   a <= b   a > b   a >= b
//       between a field and a literal, in either order (4 <= rfm.recency), or
//       between two fields (clv.12m > clv.prev_12m). `=` is accepted for `==`
//       and `<>` for `!=`. Both sides must have the same type: numbers compare
//       numerically; strings compare byte-wise, which is code-point order for
//       UTF-8 (right for ISO dates such as "2026-03-01", meaningless for
//       names); bools take only == and !=; string sets take no comparison.
//   "store" in channels
//       the set field `channels` contains "store" (the left side may also be
//       a string field: `home_channel in channels`).
//   city in ("上海", "北京", "深圳")      rfm.recency in (4, 5)
//       the field's value is one of the listed literals (strings for a string
//       field, numbers for a number field).
//   x not in (...)   "web" not in channels
//       shorthand for `not (x in ...)`.
//   consent.sms
//       a bool field on its own: the customer has it and it is true.
//   true   false
//       everyone / no one.
//
// COMBINING, loosest first:  or  <  and  <  not  <  a condition.
//   So `a or b and not c` means `a or (b and (not c))`; use parentheses to
//   say otherwise: `(a or b) and not c`. Keywords (and, or, not, in, true,
//   false) are case-insensitive: AND, And and and are the same.
//
// MISSING VALUES. A customer may have no value for a field (no CLV fitted
// yet, an unknown city). Any condition that reads a missing field is false:
// `clv.12m > 500`, `clv.12m <= 500`, `city != "上海"` and `"web" in channels`
// are all false for a customer without that field, and so is a bare bool
// field. A number that is NaN counts as missing. `not` simply inverts, so
// `not clv.12m > 500` is TRUE for a customer without a CLV — write
// `clv.12m <= 500` to mean "has a CLV of at most 500". (SQL's NULL logic
// would make both false; ours is simpler to explain and to evaluate.)
//
// ERRORS name the 1-based column (in characters, so a Chinese character is one
// column) of the offending token, and show the expression with a caret under
// it (the caret is aligned for terminals, where CJK characters are two cells):
//   column 22: unknown field 'rfm.recncy' (did you mean rfm.recency?)
//     rfm.recency >= 4 and rfm.recncy
//                          ^
// A multi-line expression reports "line L, column C" and shows that line.
//
// CANONICAL FORM. `ToString()` prints the expression in one canonical
// spelling — lower-case keywords, single spaces, `==`/`!=`, the field on the
// left of a field-versus-literal comparison (`4 <= x` becomes `x >= 4`),
// `x not in ...` as `not (x in ...)`, only the parentheses that are needed —
// and parsing that text gives the same canonical text back. Named segments
// are stored in this form.
//
// EVALUATION. Parsing type-checks against the catalog and compiles to a
// small program over field indices; `Matches(row)` runs it with no name
// look-ups and no allocation, short-circuiting `and`/`or`. The caller provides
// values through ProfileRow, indexed by the catalog's field indices.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "omni/common/status.h"

namespace omni::profile {

enum class FieldType : uint8_t { kNumber, kBool, kString, kStringSet };

// "number", "bool", "string", "string set".
std::string_view FieldTypeName(FieldType type);

struct FieldInfo {
  std::string name;  // dotted path, e.g. "clv.12m"
  FieldType type;
  std::string description;  // one line, shown by Help()
};

// The fields an expression may use. A field's index (its position in the
// order of Add calls) is what ProfileRow receives.
class FieldCatalog {
 public:
  // Returns the new field's index. InvalidArgument when the name is not a
  // valid dotted path, is a keyword (`in`, `and`, ...), or is already present.
  StatusOr<int> Add(std::string name, FieldType type, std::string description);

  // The field's index, or -1 when unknown.
  int Find(std::string_view name) const;
  const FieldInfo& field(int index) const { return fields_[static_cast<size_t>(index)]; }
  int size() const { return static_cast<int>(fields_.size()); }

  // Up to `max` known names closest to `name` by edit distance (close enough
  // to be a plausible typo), plus fields whose last part equals `name`
  // ("recency" → rfm.recency); best first.
  std::vector<std::string> Suggest(std::string_view name, size_t max = 3) const;

  // One line per field: "name  type  description", names aligned.
  std::string Help() const;

 private:
  std::vector<FieldInfo> fields_;
  std::unordered_map<std::string, int> index_;
};

// One customer's values, read by field index (see FieldCatalog). Every getter
// returns false when the customer has no value for the field, and then leaves
// *value alone. The expression only calls the getter matching the field's
// catalog type. Implementations over columnar arrays are a few loads each.
class ProfileRow {
 public:
  virtual ~ProfileRow() = default;
  virtual bool GetNumber(int field, double* value) const = 0;
  virtual bool GetBool(int field, bool* value) const = 0;
  // The view must stay valid while the row does (rows normally point into
  // their column storage): a field-to-field comparison holds two at once.
  virtual bool GetString(int field, std::string_view* value) const = 0;
  // True when the string-set field holds `value`; false when it does not or
  // when the customer has no value for the field.
  virtual bool SetContains(int field, std::string_view value) const = 0;
};

// A parsed, type-checked, compiled expression. Copyable, immutable, and safe
// to evaluate from many threads at once. It keeps the field names it uses, so
// it does not refer to the catalog after Parse; but the field indices it
// passes to ProfileRow are the catalog's, so rows must follow that catalog.
class SegmentExpression {
 public:
  // InvalidArgument with a column and caret line (see the manual above) for
  // a syntax error, an unknown field or a type mismatch.
  static StatusOr<SegmentExpression> Parse(std::string_view text, const FieldCatalog& catalog);

  bool Matches(const ProfileRow& row) const;

  // The canonical form (see above).
  std::string ToString() const;

  // Indices of the fields the expression reads, ascending, without
  // duplicates: a caller can load just these columns.
  const std::vector<int>& fields() const;

  struct Compiled;  // the tree (for ToString) and the program (for Matches)

 private:
  explicit SegmentExpression(std::shared_ptr<const Compiled> compiled) : c_(std::move(compiled)) {}
  std::shared_ptr<const Compiled> c_;  // never null; immutable, so copies share it
};

}  // namespace omni::profile
