// MakeFormat: every source format by name, from one spec string (the CLI's
// --as/--map, the config file and the HTTP API all build it the same way).
#include "omni/ingest/format.h"

#include <array>
#include <string>

#include "omni/common/spec.h"
#include "omni/ingest/csv_formats.h"
#include "omni/ingest/jsonl_format.h"

namespace omni::ingest {
namespace {

constexpr std::array<std::string_view, 8> kFormatNames = {
    "jsonl", "csv", "online-retail", "retailrocket", "movielens", "taobao", "catalogue", "availability"};

// Formats whose layout is fixed take no parameters; a stray one is a typo.
Status NoParams(const Spec& spec) {
  if (spec.params().empty()) return Status::Ok();
  return InvalidArgument("format '" + spec.name() + "' takes no parameters, got '" + spec.params().front().first +
                         "'");
}

}  // namespace

StatusOr<std::unique_ptr<Format>> MakeFormat(std::string_view spec_text, const IngestConfig& config) {
  OMNI_ASSIGN_OR_RETURN(Spec spec, Spec::Parse(spec_text));
  const std::string& name = spec.name();
  if (name == "jsonl") {
    OMNI_RETURN_IF_ERROR(NoParams(spec));
    return MakeJsonlFormat(config);
  }
  if (name == "csv") return MakeGenericCsvFormat(spec, config);
  if (name == "catalogue") return MakeCatalogueFormat(spec, config);
  if (name == "availability") return MakeAvailabilityFormat(spec, config);
  if (name == "online-retail") {
    OMNI_RETURN_IF_ERROR(NoParams(spec));
    return MakeOnlineRetailFormat(config);
  }
  if (name == "retailrocket") {
    OMNI_RETURN_IF_ERROR(NoParams(spec));
    return MakeRetailRocketFormat(config);
  }
  if (name == "movielens") {
    OMNI_RETURN_IF_ERROR(NoParams(spec));
    return MakeMovieLensFormat(config);
  }
  if (name == "taobao") {
    OMNI_RETURN_IF_ERROR(NoParams(spec));
    return MakeTaobaoFormat(config);
  }
  std::string known;
  for (std::string_view n : kFormatNames) {
    if (!known.empty()) known += ", ";
    known += n;
  }
  return InvalidArgument("unknown format '" + name + "' (known: " + known + ")");
}

}  // namespace omni::ingest
