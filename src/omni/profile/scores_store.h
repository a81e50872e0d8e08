// Scores that later stages (propensity models, ...) write back about each
// customer, so segments can use them: `propensity.purchase_90d > 0.4`.
// Generic on purpose — a name, a number, which model version produced it and
// when — so the profile module (before the models in the data flow) needs
// to know nothing about the models themselves.
//
// Table `customer_scores(customer_key, name, value, model_version,
// scored_at_ms)`, primary key (name, customer_key), in the store's database
// through store::Sql (its own migration module "customer_scores").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "omni/common/status.h"
#include "omni/store/sql.h"

namespace omni::profile {

struct CustomerScore {
  std::string name;  // "purchase_90d"
  double value = 0;
  std::string model_version;  // "xgboost:...@000003"
  int64_t scored_at_ms = 0;
};

// Every customer's scores, by name: what segment evaluation reads.
struct CustomerScores {
  std::vector<std::string> names;  // sorted
  // customer key -> one value per name (NaN = no score of that name)
  std::unordered_map<std::string, std::vector<double>> values;
  // The value of names[index] for a customer, or false.
  bool Get(std::string_view customer_key, size_t index, double* value) const;
};

class ScoresStore {
 public:
  // `sql` must outlive the store; creates / upgrades the table.
  static StatusOr<ScoresStore> Over(store::Sql& sql);

  // Replaces every score called `name` with `scores` (customer key, value) in
  // one transaction: customers not scored this time lose their old score.
  Status Replace(const std::string& name, const std::string& model_version, int64_t scored_at_ms,
                 const std::vector<std::pair<std::string, double>>& scores);
  // One customer's scores, by name.
  StatusOr<std::vector<CustomerScore>> ScoresOf(std::string_view customer_key);
  // Everything, for segment evaluation.
  StatusOr<std::shared_ptr<const CustomerScores>> LoadAll();
  // (name, customers scored), by name.
  StatusOr<std::vector<std::pair<std::string, int64_t>>> Names();

 private:
  explicit ScoresStore(store::Sql& sql) : sql_(&sql) {}
  store::Sql* sql_;
};

}  // namespace omni::profile
