#include "omni/profile/scores_store.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace omni::profile {

bool CustomerScores::Get(std::string_view customer_key, size_t index, double* value) const {
  auto it = values.find(std::string(customer_key));
  if (it == values.end() || std::isnan(it->second[index])) return false;
  *value = it->second[index];
  return true;
}

StatusOr<ScoresStore> ScoresStore::Over(store::Sql& sql) {
  OMNI_RETURN_IF_ERROR(sql.Migrate("customer_scores",
                                   {"CREATE TABLE customer_scores("
                                    "name TEXT NOT NULL, customer_key TEXT NOT NULL, value REAL NOT NULL, "
                                    "model_version TEXT NOT NULL, scored_at_ms INTEGER NOT NULL, "
                                    "PRIMARY KEY(name, customer_key))"}));
  return ScoresStore(sql);
}

Status ScoresStore::Replace(const std::string& name, const std::string& model_version, int64_t scored_at_ms,
                            const std::vector<std::pair<std::string, double>>& scores) {
  return sql_->InTransaction([&]() -> Status {
    OMNI_RETURN_IF_ERROR(sql_->Execute("DELETE FROM customer_scores WHERE name = ?", {name}).status());
    for (const auto& [key, value] : scores) {
      if (!std::isfinite(value)) return InvalidArgument("score of customer " + key + " is not a number");
      OMNI_RETURN_IF_ERROR(sql_->Execute("INSERT INTO customer_scores(name, customer_key, value, model_version, "
                                         "scored_at_ms) VALUES (?,?,?,?,?) ON CONFLICT(name, customer_key) DO "
                                         "UPDATE SET value = excluded.value",
                                         {name, key, value, model_version, scored_at_ms})
                               .status());
    }
    return Status::Ok();
  });
}

StatusOr<std::vector<CustomerScore>> ScoresStore::ScoresOf(std::string_view customer_key) {
  std::vector<CustomerScore> out;
  OMNI_RETURN_IF_ERROR(sql_->Query(
      "SELECT name, value, model_version, scored_at_ms FROM customer_scores WHERE customer_key = ? ORDER BY name",
      {std::string(customer_key)}, [&](const store::SqlRow& r) {
        out.push_back({std::string(r.Text(0)), r.Double(1), std::string(r.Text(2)), r.Int(3)});
        return true;
      }));
  return out;
}

StatusOr<std::vector<std::pair<std::string, int64_t>>> ScoresStore::Names() {
  std::vector<std::pair<std::string, int64_t>> out;
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT name, COUNT(*) FROM customer_scores GROUP BY name ORDER BY name", {},
                                   [&](const store::SqlRow& r) {
                                     out.emplace_back(std::string(r.Text(0)), r.Int(1));
                                     return true;
                                   }));
  return out;
}

StatusOr<std::shared_ptr<const CustomerScores>> ScoresStore::LoadAll() {
  auto scores = std::make_shared<CustomerScores>();
  OMNI_ASSIGN_OR_RETURN(auto names, Names());
  for (const auto& [n, count] : names) scores->names.push_back(n);
  const size_t k = scores->names.size();
  OMNI_RETURN_IF_ERROR(sql_->Query("SELECT customer_key, name, value FROM customer_scores", {},
                                   [&](const store::SqlRow& r) {
                                     auto [it, fresh] = scores->values.try_emplace(
                                         std::string(r.Text(0)), k, std::numeric_limits<double>::quiet_NaN());
                                     const std::string_view name = r.Text(1);
                                     const size_t i = static_cast<size_t>(
                                         std::lower_bound(scores->names.begin(), scores->names.end(), name) -
                                         scores->names.begin());
                                     if (i < k) it->second[i] = r.Double(2);
                                     return true;
                                   }));
  return std::shared_ptr<const CustomerScores>(std::move(scores));
}

}  // namespace omni::profile
