// Where trained models live: DATA_DIR/models/<name>/<version>.{bin,items,json}
// (and .customers for ranking models: the training rows' customer keys)
// with versions 000001, 000002, ... Every file of a version is written under
// a temporary name and renamed (atomic publish); the sidecars (item list,
// metadata) go first and the .bin last, so a reader that keys on the .bin
// never sees a version without its item list. Readers (the CLI, the serving
// layer) pick the newest version, and a server can poll for a newer one and
// swap without dropping requests (serving.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"

namespace omni::recommend {

struct PublishedModel {
  std::string name;  // directory name: the spec's model name ("ease", "fbt")
  int64_t version = 0;
  std::string bin_path;
  std::string items_path;  // one item_id per line, dense id order
  // One customer key per line in training-row order, so the serving layer
  // can use what a model learnt per customer (ALS factors) for customers
  // whose history has not changed. Absent for rules and older artefacts.
  std::string customers_path;
  std::string meta_path;   // JSON: spec, version, sizes, fit seconds
};

// The newest version of model `name`; with name "" the most recently written
// model of any name except those in `skip` (e.g. {"fbt"}: rules are not a
// ranking model). nullopt when none is published.
StatusOr<std::optional<PublishedModel>> LatestModel(const std::string& data_dir, std::string_view name,
                                                    const std::vector<std::string>& skip = {});

// Publishes the next version of `name`: writes the item list and metadata,
// then calls save(temp_path) for the model itself and renames it into place.
// `customer_keys` (training-row order) is written as the .customers sidecar
// when not empty.
StatusOr<PublishedModel> PublishModel(const std::string& data_dir, const std::string& name,
                                      const std::vector<std::string>& item_ids,
                                      const std::function<std::string(int64_t version)>& metadata_json,
                                      const std::function<Status(const std::string& temp_path)>& save,
                                      const std::vector<std::string>& customer_keys = {});

// The item list (or customer list) of a version (one id per line).
StatusOr<std::vector<std::string>> ReadItemList(const std::string& path);

}  // namespace omni::recommend
