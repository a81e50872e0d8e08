#include "omni/recommend/artefact_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace omni::recommend {
namespace {

namespace fs = std::filesystem;

// Highest published version in `dir` (0 when none); temporary files do not count.
StatusOr<int64_t> LatestVersion(const fs::path& dir) {
  int64_t latest = 0;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return latest;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 4 && name.ends_with(".bin") && name.find(".tmp") == std::string::npos) {
      latest = std::max<int64_t>(latest, std::strtoll(name.c_str(), nullptr, 10));
    }
  }
  if (ec) return Internal("cannot list " + dir.string() + ": " + ec.message());
  return latest;
}

PublishedModel Describe(const fs::path& dir, int64_t version) {
  const std::string stem = fmt::format("{:06d}", version);
  PublishedModel m;
  m.name = dir.filename().string();
  m.version = version;
  m.bin_path = (dir / (stem + ".bin")).string();
  m.items_path = (dir / (stem + ".items")).string();
  m.meta_path = (dir / (stem + ".json")).string();
  m.customers_path = (dir / (stem + ".customers")).string();
  return m;
}

Status WriteText(const fs::path& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Internal("cannot create " + path.string());
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  return ok ? Status::Ok() : Internal("cannot write " + path.string());
}

}  // namespace

StatusOr<std::optional<PublishedModel>> LatestModel(const std::string& data_dir, std::string_view name,
                                                    const std::vector<std::string>& skip) {
  const fs::path models = fs::path(data_dir) / "models";
  std::optional<PublishedModel> chosen;
  fs::file_time_type newest{};
  std::error_code ec;
  if (!fs::exists(models, ec)) return chosen;
  for (const auto& e : fs::directory_iterator(models, ec)) {
    const std::string dir_name = e.path().filename().string();
    if (!e.is_directory()) continue;
    if (!name.empty() ? dir_name != name : std::find(skip.begin(), skip.end(), dir_name) != skip.end()) continue;
    OMNI_ASSIGN_OR_RETURN(int64_t v, LatestVersion(e.path()));
    if (v == 0) continue;
    PublishedModel m = Describe(e.path(), v);
    auto when = fs::last_write_time(m.bin_path, ec);
    if (!chosen || when > newest) {
      chosen = std::move(m);
      newest = when;
    }
  }
  if (ec) return Internal("cannot list " + models.string() + ": " + ec.message());
  return chosen;
}

StatusOr<PublishedModel> PublishModel(const std::string& data_dir, const std::string& name,
                                      const std::vector<std::string>& item_ids,
                                      const std::function<std::string(int64_t version)>& metadata_json,
                                      const std::function<Status(const std::string& temp_path)>& save,
                                      const std::vector<std::string>& customer_keys) {
  const fs::path dir = fs::path(data_dir) / "models" / name;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir.string() + ": " + ec.message());
  OMNI_ASSIGN_OR_RETURN(int64_t latest, LatestVersion(dir));
  PublishedModel m = Describe(dir, latest + 1);
  std::string items;
  for (const std::string& id : item_ids) items += id + "\n";
  std::vector<std::pair<std::string, std::string>> sidecars = {{m.items_path, items},
                                                              {m.meta_path, metadata_json(m.version)}};
  if (!customer_keys.empty()) {
    std::string customers;
    for (const std::string& key : customer_keys) customers += key + "\n";
    sidecars.emplace_back(m.customers_path, std::move(customers));
  }
  for (const auto& [path, text] : sidecars) {
    OMNI_RETURN_IF_ERROR(WriteText(path + ".tmp", text));
    fs::rename(path + ".tmp", path, ec);
    if (ec) return Internal("cannot publish " + path + ": " + ec.message());
  }
  OMNI_RETURN_IF_ERROR(save(m.bin_path + ".tmp"));
  fs::rename(m.bin_path + ".tmp", m.bin_path, ec);
  if (ec) return Internal("cannot publish " + m.bin_path + ": " + ec.message());
  return m;
}

StatusOr<std::vector<std::string>> ReadItemList(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return NotFound("model item list missing: " + path);
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  std::vector<std::string> items;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    items.push_back(text.substr(start, nl - start));
  }
  return items;
}

}  // namespace omni::recommend
