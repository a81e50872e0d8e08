// Loading the ingest configuration of a data directory.
//
//   OMNI_ASSIGN_OR_RETURN(IngestConfig config, LoadIngestConfig(data_dir));
//
// DATA_DIR/config.json is optional; when present it is one JSON object whose
// keys override IngestConfig's defaults (config.h):
//   {"channels": ["web", "store", ...],          // replaces the list
//    "event_types": ["view", "purchase", ...],   // replaces the list
//    "custom_type_prefix": "custom:",            // "" turns custom types off
//    "max_record_bytes": 65536,                  // 1 .. 64 MiB
//    "hashed_identity_types": ["phone", "email"],// identity type names
//    "default_phone_region": "CN"}               // ISO 3166 alpha-2
// Keys it does not know are ignored: the same file carries other modules'
// settings. A malformed file, or a known key with a bad value, fails with
// InvalidArgument naming the file and the key; nothing falls back silently.
//
// The PII key is then loaded or created with LoadOrCreatePiiKey (pii.h),
// which creates DATA_DIR when it does not exist yet.
#pragma once

#include <string>
#include <string_view>

#include "omni/common/status.h"
#include "omni/ingest/config.h"

namespace omni::ingest {

StatusOr<IngestConfig> LoadIngestConfig(const std::string& data_dir);

// The same, from JSON text already in memory (no PII key is loaded; tests
// and the HTTP server's config endpoint use it). `origin` names the text in
// error messages ("omni-data/config.json").
StatusOr<IngestConfig> ParseIngestConfig(std::string_view json, std::string_view origin);

}  // namespace omni::ingest
