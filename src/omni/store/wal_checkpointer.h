// Moves WAL checkpoints off the writer's thread.
//
// WHY. With SQLite's default autocheckpoint, the COMMIT that pushes the WAL
// past 1,000 pages copies every page back into omni.db and fsyncs both files
// before Write() returns. On an import that is one fsync pair every ~8 MiB,
// and the single writer (the import's bottleneck) sits idle through each of
// them: about a fifth of a 1M-event import's wall time on this machine.
//
// HOW. The writer's connection gets a WAL hook instead of autocheckpoint.
// Past `background_pages` it only wakes this object's thread, which runs a
// PASSIVE checkpoint on its own connection (PASSIVE never blocks the writer or
// readers; it copies what it can). Because the writer keeps appending, the
// WAL may not get back to its start while an import runs; past `hard_pages`
// the writer checkpoints itself (mostly already copied by then, so short),
// which bounds the WAL file. Durability is unchanged: a commit is durable
// once it is in the WAL (synchronous=NORMAL survives a process crash), and a
// checkpoint only ever moves committed pages.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "omni/common/status.h"

namespace omni::store::internal {

struct WalCheckpointOptions {
  int background_pages = 1000;  // wake the checkpoint thread (SQLite's autocheckpoint default)
  int hard_pages = 16384;       // the writer checkpoints itself (128 MiB of 8 KiB pages)
};

class WalCheckpointer {
 public:
  // Opens a second connection to `path` and installs the hook on `writer`
  // (which must outlive this object). On failure the writer keeps SQLite's
  // own autocheckpoint.
  static StatusOr<std::unique_ptr<WalCheckpointer>> Start(sqlite3* writer, const std::string& path,
                                                          const WalCheckpointOptions& options = {});
  // Stops the thread and restores autocheckpoint on the writer.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints the thread has run (tests and diagnostics).
  int64_t background_checkpoints() const;
  // WAL frames the thread's checkpoints have copied into the database (the
  // total "checkpointed" count each reported; frames may be counted again
  // by later checkpoints until the WAL restarts).
  int64_t background_frames() const;
  int64_t writer_checkpoints() const;

 private:
  WalCheckpointer(sqlite3* writer, sqlite3* own, const WalCheckpointOptions& options);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void Run();

  sqlite3* writer_;
  sqlite3* own_;
  WalCheckpointOptions options_;
  mutable std::mutex mu_;
  std::mutex checkpoint_mu_;  // held through each checkpoint, the thread's and the writer's
  std::condition_variable wake_;
  bool pending_ = false;
  bool stop_ = false;
  int64_t background_checkpoints_ = 0;
  int64_t background_frames_ = 0;
  int64_t writer_checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace omni::store::internal
