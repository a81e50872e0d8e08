#include "omni/profile/segments_store.h"

#include <cctype>
#include <chrono>

#include "omni/profile/profile_store.h"

namespace omni::profile {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SegmentDefinition ReadSegment(const store::SqlRow& r) {
  return SegmentDefinition{std::string(r.Text(0)), std::string(r.Text(1)), std::string(r.Text(2)), r.Int(3),
                           r.Int(4)};
}

constexpr const char* kSelect = "SELECT name, expression, description, created_at_ms, updated_at_ms FROM segments";

}  // namespace

Status ValidateSegmentName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  }
  if (!ok) {
    return InvalidArgument("segment name '" + std::string(name) +
                           "': use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit");
  }
  return Status::Ok();
}

StatusOr<SegmentStore> SegmentStore::Over(store::Sql& sql) {
  OMNI_RETURN_IF_ERROR(MigrateProfileTables(sql));
  return SegmentStore(sql);
}

Status SegmentStore::Save(const SegmentDefinition& segment, bool replace) {
  OMNI_RETURN_IF_ERROR(ValidateSegmentName(segment.name));
  const int64_t now = NowMs();
  return sql_->InTransaction([&]() -> Status {
    bool exists = false;
    OMNI_RETURN_IF_ERROR(sql_->Query("SELECT 1 FROM segments WHERE name = ?", {segment.name},
                                     [&](const store::SqlRow&) {
                                       exists = true;
                                       return false;
                                     }));
    if (exists && !replace) {
      return AlreadyExists("segment '" + segment.name + "' exists (use --replace to change it)");
    }
    return sql_
        ->Execute(
            "INSERT INTO segments(name, expression, description, created_at_ms, updated_at_ms) VALUES (?,?,?,?,?) "
            "ON CONFLICT(name) DO UPDATE SET expression = excluded.expression, "
            "description = excluded.description, updated_at_ms = excluded.updated_at_ms",
            {segment.name, segment.expression, segment.description, now, now})
        .status();
  });
}

StatusOr<std::optional<SegmentDefinition>> SegmentStore::Get(std::string_view name) {
  std::optional<SegmentDefinition> out;
  OMNI_RETURN_IF_ERROR(sql_->Query(std::string(kSelect) + " WHERE name = ?", {std::string(name)},
                                   [&](const store::SqlRow& r) {
                                     out = ReadSegment(r);
                                     return false;
                                   }));
  return out;
}

StatusOr<std::vector<SegmentDefinition>> SegmentStore::List() {
  std::vector<SegmentDefinition> out;
  OMNI_RETURN_IF_ERROR(sql_->Query(std::string(kSelect) + " ORDER BY name", {}, [&](const store::SqlRow& r) {
    out.push_back(ReadSegment(r));
    return true;
  }));
  return out;
}

Status SegmentStore::Delete(std::string_view name) {
  OMNI_ASSIGN_OR_RETURN(int64_t n, sql_->Execute("DELETE FROM segments WHERE name = ?", {std::string(name)}));
  if (n == 0) return NotFound("no segment named '" + std::string(name) + "'");
  return Status::Ok();
}

}  // namespace omni::profile
