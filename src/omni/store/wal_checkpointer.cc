#include "omni/store/wal_checkpointer.h"

#include <utility>

#include "omni/store/sqlite_util.h"

namespace omni::store::internal {

StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(sqlite3* writer, const std::string& path,
                                                                  const WalCheckpointOptions& options) {
  ConfigureSqliteOnce();
  sqlite3* own = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = SqliteError(own, rc, "open checkpoint connection " + path);
    sqlite3_close(own);
    return status;
  }
  // Its own commits never happen (it only checkpoints), but a connection
  // closing last checkpoints the WAL; that stays the writer's job.
  //
  // The read: a connection only opens the WAL (and learns the file is in WAL
  // mode) when it first reads the database. Until then
  // sqlite3_wal_checkpoint_v2 on it returns SQLITE_OK having done nothing
  // (log and checkpointed frames -1), so every checkpoint fell to the writer
  // (past hard_pages) and to the writer's close.
  Status st = Exec(own, "PRAGMA wal_autocheckpoint=0; SELECT count(*) FROM sqlite_master",
                   "checkpoint connection pragmas");
  if (!st.ok()) {
    sqlite3_close(own);
    return st;
  }
  std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(writer, own, options));
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, c.get());
  c->thread_ = std::thread([p = c.get()] { p->Run(); });
  return c;
}

WalCheckpointer::WalCheckpointer(sqlite3* writer, sqlite3* own, const WalCheckpointOptions& options)
    : writer_(writer), own_(own), options_(options) {}

WalCheckpointer::~WalCheckpointer() {
  // Back to SQLite's autocheckpoint before the thread goes, so no commit after
  // this point calls into a dead object.
  sqlite3_wal_autocheckpoint(writer_, options_.background_pages);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sqlite3_close_v2(own_);
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (wal_pages >= c->options_.hard_pages) {
    // Bound the file: the background thread is behind (or the WAL could not
    // restart because the writer never paused). Errors here are not the
    // commit's: it is already durable in the WAL; the next commit retries.
    // checkpoint_mu_ waits out a checkpoint the thread is running: PASSIVE
    // gives up at once when another connection holds the checkpoint lock, and
    // only a complete checkpoint lets the writer's next transaction restart
    // the WAL from its start.
    std::lock_guard<std::mutex> checkpointing(c->checkpoint_mu_);
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    std::lock_guard<std::mutex> lock(c->mu_);
    ++c->writer_checkpoints_;
    return SQLITE_OK;
  }
  if (wal_pages >= c->options_.background_pages) {
    {
      std::lock_guard<std::mutex> lock(c->mu_);
      c->pending_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return pending_ || stop_; });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    // PASSIVE: copies committed frames without taking the write lock, so the
    // writer's next batch is not held up; SQLITE_BUSY (a reader pinning old
    // frames) just means less was copied this time.
    int copied = 0;
    {
      std::lock_guard<std::mutex> checkpointing(checkpoint_mu_);
      sqlite3_wal_checkpoint_v2(own_, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied);
    }
    lock.lock();
    ++background_checkpoints_;
    if (copied > 0) background_frames_ += copied;
  }
}

int64_t WalCheckpointer::background_checkpoints() const {
  std::lock_guard<std::mutex> lock(mu_);
  return background_checkpoints_;
}

int64_t WalCheckpointer::background_frames() const {
  std::lock_guard<std::mutex> lock(mu_);
  return background_frames_;
}

int64_t WalCheckpointer::writer_checkpoints() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writer_checkpoints_;
}

}  // namespace omni::store::internal
