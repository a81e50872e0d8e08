// Named segments: a marketer's saved expression (segment_expression.h) over
// profile fields, in the `segments` table of the profile module. Expressions
// are stored in canonical form (SegmentExpression::ToString), validated
// against the profile fields when created; membership is not stored — it is
// evaluated against the latest profile build whenever a segment is sized or
// exported, so a segment never goes stale.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/store/sql.h"

namespace omni::profile {

struct SegmentDefinition {
  std::string name;
  std::string expression;   // canonical form
  std::string description;  // optional, free text
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// InvalidArgument unless `name` is 1..64 characters of letters, digits, '_',
// '-' or '.', starting with a letter or digit (names go into file names and
// URLs: /v1/segments/NAME).
Status ValidateSegmentName(std::string_view name);

class SegmentStore {
 public:
  // `sql` must outlive the store; migrates the profile module's tables.
  static StatusOr<SegmentStore> Over(store::Sql& sql);

  // Creates the segment; AlreadyExists when the name is taken, unless
  // `replace` (then the expression is updated, created_at kept).
  Status Save(const SegmentDefinition& segment, bool replace);
  // nullopt when there is no such segment.
  StatusOr<std::optional<SegmentDefinition>> Get(std::string_view name);
  // By name.
  StatusOr<std::vector<SegmentDefinition>> List();
  // NotFound when there is no such segment.
  Status Delete(std::string_view name);

 private:
  explicit SegmentStore(store::Sql& sql) : sql_(&sql) {}
  store::Sql* sql_;
};

}  // namespace omni::profile
