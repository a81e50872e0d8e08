// Schema of omni.db and how it evolves: an ordered list of migrations, each
// applied in its own transaction that also bumps schema_version, so a crash
// mid-upgrade leaves the database at the last complete version. A database
// whose version is newer than this build's list is refused rather than
// guessed at (FailedPrecondition): older code must not write a newer schema.
#pragma once

#include <sqlite3.h>

#include <span>
#include <string_view>

#include "omni/common/status.h"

namespace omni::store {

struct Migration {
  int version;                   // 1, 2, 3, ... in order, no gaps
  std::string_view description;  // for logs and the test report
  std::string_view sql;          // one or more statements
};

// The schema of this build, oldest step first.
std::span<const Migration> Migrations();
int LatestSchemaVersion();
// The oldest version a read-only open of this build reads as it is (the
// steps after it change nothing readers use; a read-write open migrates).
int OldestReadableSchemaVersion();

// Reads schema_version; 0 when the table does not exist yet (a new file).
StatusOr<int> ReadSchemaVersion(sqlite3* db);

// Brings `db` to the last version of `migrations` (a parameter so tests can
// feed their own lists). Each step runs under BEGIN IMMEDIATE and re-reads the
// version under the lock, so two processes opening a new directory at once
// apply each step exactly once.
Status ApplyMigrations(sqlite3* db, std::span<const Migration> migrations);

}  // namespace omni::store
