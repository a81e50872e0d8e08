// Sql on SQLite: its own connection to DATA_DIR/omni.db (WAL lets it read
// while the event writer appends), a prepared-statement cache keyed by SQL
// text, and per-module schema versions in `module_versions`.
#pragma once

#include <memory>
#include <string>

#include "omni/store/sql.h"
#include "omni/store/store.h"

namespace omni::store {

// Opens (creating DATA_DIR if missing) a connection for a stage's own tables.
// The events schema is created by Store::OpenSqlite; this does not need it.
StatusOr<std::unique_ptr<Sql>> OpenSqliteSql(const std::string& data_dir, const StoreOptions& options = {});

}  // namespace omni::store
