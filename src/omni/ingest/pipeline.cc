#include "omni/ingest/pipeline.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>
#include <ctime>

#include "omni/ingest/csv.h"

namespace omni::ingest {
namespace {

// Reads whole records from a (possibly gzip-compressed) stream. Lines end in
// '\n' (a trailing '\r' is dropped); with CSV framing a record continues over
// newlines while a quoted field is open. A record longer than `max_bytes` is
// cut to max_bytes + 1 bytes — enough for the format to see it is oversized
// and reject it — while the rest is skipped, so one bad line cannot exhaust
// memory.
class RecordReader {
 public:
  RecordReader(gzFile file, RecordFraming framing, size_t max_bytes)
      : file_(file), framing_(framing), max_bytes_(max_bytes), buf_(1 << 22) {}

  // False at end of input. `line_no` is the first physical line of the record.
  StatusOr<bool> Next(std::string_view& record, int64_t& line_no) {
    record_.clear();
    bool truncated = false;
    line_no = next_line_ + 1;
    for (bool first_line = true;; first_line = false) {
      std::string_view line;
      bool got = false;
      OMNI_RETURN_IF_ERROR(NextLine(line, got));
      if (!got) {
        if (record_.empty() && !pending_) return false;
        break;  // unterminated quote at end of file: hand over what we have
      }
      ++next_line_;
      if (first_line && line.size() <= max_bytes_ &&
          (framing_ == RecordFraming::kLines || CsvRecordComplete(line))) {
        // The usual record, one whole line: a view of the read buffer, not
        // a copy (valid until the next call, like record_).
        if (first_ && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.remove_prefix(3);
        first_ = false;
        record = line;
        return true;
      }
      if (record_.size() + line.size() <= max_bytes_) {
        record_.append(line);
      } else if (!truncated) {
        record_.append(line.substr(0, max_bytes_ + 1 - std::min(record_.size(), max_bytes_ + 1)));
        truncated = true;
      }
      if (framing_ == RecordFraming::kLines || truncated || CsvRecordComplete(record_)) break;
      record_.push_back('\n');
      pending_ = true;
    }
    pending_ = false;
    if (first_ && record_.size() >= 3 && record_.compare(0, 3, "\xEF\xBB\xBF") == 0) {
      record_.erase(0, 3);  // UTF-8 byte-order mark written by spreadsheet exports
    }
    first_ = false;
    record = record_;
    return true;
  }

  int64_t compressed_offset() const { return static_cast<int64_t>(gzoffset(file_)); }

  // The raw (compressed, for .gz) bytes behind the records handed out so far:
  // compressed_offset() less what still waits in this reader's buffer, scaled
  // by the compression ratio so far (zlib's own read-ahead is not counted).
  int64_t consumed_offset() const {
    const auto raw = static_cast<double>(gzoffset(file_));
    const auto delivered = static_cast<double>(gztell(file_));
    if (delivered <= 0) return static_cast<int64_t>(raw);
    const double waiting = static_cast<double>(end_ - pos_);
    return static_cast<int64_t>(raw * std::max(0.0, 1.0 - waiting / delivered));
  }

 private:
  // One physical line without its terminator; the view is valid until the next call.
  Status NextLine(std::string_view& line, bool& got) {
    for (;;) {
      const char* start = buf_.data() + pos_;
      const char* nl = static_cast<const char*>(memchr(start, '\n', end_ - pos_));
      if (nl) {
        size_t len = nl - start;
        pos_ += len + 1;
        line = std::string_view(start, len);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        got = true;
        return Status::Ok();
      }
      if (eof_) {
        if (pos_ == end_) {
          got = false;
          return Status::Ok();
        }
        line = std::string_view(start, end_ - pos_);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos_ = end_;
        got = true;
        return Status::Ok();
      }
      // Move the partial line to the front; grow when one line fills the buffer.
      size_t rest = end_ - pos_;
      if (pos_ > 0) {
        memmove(buf_.data(), buf_.data() + pos_, rest);
      } else if (rest == buf_.size()) {
        buf_.resize(buf_.size() * 2);
      }
      pos_ = 0;
      end_ = rest;
      int n = gzread(file_, buf_.data() + end_, static_cast<unsigned>(buf_.size() - end_));
      if (n < 0) {
        int err = 0;
        const char* msg = gzerror(file_, &err);
        return Internal(std::string("read failed: ") + (msg ? msg : "unknown error"));
      }
      if (n == 0) eof_ = true;
      end_ += static_cast<size_t>(n);
    }
  }

  gzFile file_;
  RecordFraming framing_;
  size_t max_bytes_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  bool first_ = true;
  bool pending_ = false;
  int64_t next_line_ = 0;
  std::string record_;
};

// Single-producer single-consumer hand-off of batches to the writer thread.
// Depth 2: one batch being written while the next is parsed.
class BatchQueue {
 public:
  // False when the consumer failed and the producer should stop. Written
  // batches come back in `retired`.
  bool Push(Batch batch, std::vector<Batch>& retired) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < 2 || failed_; });
    if (failed_) return false;
    queue_.push_back(std::move(batch));
    retired.swap(retired_);
    cv_.notify_all();
    return true;
  }
  // The consumer hands written batches back instead of destroying them:
  // freeing ~10^4 events' strings is a few percent of the single writer's
  // time, and the parsing thread has the slack to do it.
  void Retire(Batch batch) {
    std::lock_guard lock(mu_);
    retired_.push_back(std::move(batch));
  }
  std::optional<Batch> Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return std::nullopt;
    Batch b = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return b;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  void Fail() {
    std::lock_guard lock(mu_);
    failed_ = true;
    queue_.clear();
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  std::vector<Batch> retired_;
  bool closed_ = false;
  bool failed_ = false;
};

// Batch sizes: the first batch is parsed while the writer waits, and the
// last one written while the reader has nothing left to do, so both ends of
// the file go in small batches: from kEdgeBatch records doubling up to
// ImportOptions::batch_records, and, once the rest of the file (estimated
// from the bytes per record so far) is within two full batches, half of what
// is left each time. A 50k-record batch at either end cost ~10% of an
// Online Retail import's wall time on two cores; the few extra commits cost
// well under 1%.
constexpr int64_t kEdgeBatch = 4096;

int64_t NextBatchLimit(int64_t limit, int64_t full, int64_t total_bytes, int64_t bytes_read,
                       int64_t records) {
  const int64_t grown = std::min(full, limit * 2);
  if (total_bytes <= 0 || bytes_read <= 0 || records <= 0) return grown;
  const double bytes_per_record = static_cast<double>(bytes_read) / static_cast<double>(records);
  const auto left = static_cast<int64_t>(static_cast<double>(std::max<int64_t>(total_bytes - bytes_read, 0)) /
                                         bytes_per_record);
  if (left >= 2 * grown) return grown;
  return std::min(grown, std::max(std::min(kEdgeBatch, full), left / 2));
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

int64_t SourceSize(const std::string& path) {
  if (path == "-") return 0;
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<int64_t>(st.st_size);
}

StatusOr<ImportSummary> ImportFile(const std::string& path, std::string_view source, Format& format,
                                   EventSink& sink, const ImportOptions& options) {
  auto start = std::chrono::steady_clock::now();
  gzFile file = path == "-" ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path.c_str(), "rb");
  if (!file) return NotFound("cannot open '" + path + "'");
  gzbuffer(file, 1 << 20);
  struct Closer {
    gzFile f;
    ~Closer() { gzclose(f); }
  } closer{file};

  // Formats do their own size check; the reader only needs a bound that is
  // never below it. 64 MiB is the hard ceiling for anything kept in memory.
  RecordReader reader(file, format.framing(), 64u << 20);
  ImportSummary summary;
  std::string_view record;
  int64_t line_no = 0;

  if (format.has_header()) {
    OMNI_ASSIGN_OR_RETURN(bool got, reader.Next(record, line_no));
    if (!got) return InvalidArgument("'" + path + "' is empty: expected a header line");
    Status st = format.Header(record);
    if (!st.ok()) return InvalidArgument("'" + path + "' line " + std::to_string(line_no) + ": " + st.message());
  }

  BatchQueue queue;
  Status writer_status;
  std::string source_name(source);
  const double parse_cpu_start = ThreadCpuSeconds();
  // The writer's CPU time and events so far, for the reader's choice of
  // which thread prepares a batch (below).
  std::atomic<int64_t> writer_cpu_ns{0}, written_events{0};
  std::thread writer([&] {
    struct Timer {
      double& out;
      double start = ThreadCpuSeconds();
      ~Timer() { out = ThreadCpuSeconds() - start; }
    } timer{summary.write_cpu_seconds};
    while (auto batch = queue.Pop()) {
      for (const auto& r : batch->rejected) {
        ++summary.rejected_by_reason[static_cast<size_t>(r.reason)];
      }
      summary.rejected += static_cast<int64_t>(batch->rejected.size());
      StatusOr<BatchResult> result = sink.Write(source_name, *batch);
      if (!result.ok()) {
        writer_status = result.status();
        queue.Fail();
        return;
      }
      summary.accepted += result->accepted;
      summary.duplicates += result->duplicates;
      summary.erased += result->erased;
      summary.items += result->items;
      summary.availability += result->availability;
      written_events.fetch_add(static_cast<int64_t>(batch->events.size()), std::memory_order_relaxed);
      writer_cpu_ns.store(static_cast<int64_t>((ThreadCpuSeconds() - timer.start) * 1e9), std::memory_order_relaxed);
      queue.Retire(std::move(*batch));
    }
  });

  Batch batch;
  BatchPreparer preparer;
  std::vector<Batch> retired;
  int64_t in_batch = 0;
  const int64_t full_batch = std::max<int64_t>(options.batch_records, 1);
  const int64_t total_bytes = SourceSize(path);
  int64_t batch_limit = std::min(full_batch, kEdgeBatch);
  // Preparing a batch for the store (keys, identities text, snapshot
  // columns) is ~15% of either thread's work. It is done here, record by
  // record, unless this thread has been the busier one per event so far;
  // then the writer prepares the batch at once (Batch::PrepareForStore).
  // JSONL parsing costs more than its inserts, Online Retail's less, so
  // each format ends up balanced on two cores. Same result either way.
  bool prepare_here = true;
  Status read_status;
  for (;;) {
    StatusOr<bool> got = reader.Next(record, line_no);
    if (!got.ok()) {
      read_status = got.status();
      break;
    }
    if (!*got) break;
    // Blank lines (a trailing newline, an editor's empty last line) are no
    // records: neither accepted nor rejected, so they are not counted.
    if (record.empty()) continue;
    if (in_batch == 0) {
      batch.first_line = line_no;
      batch.events.reserve(static_cast<size_t>(batch_limit));
      const int64_t written = written_events.load(std::memory_order_relaxed);
      const double writer_cpu = static_cast<double>(writer_cpu_ns.load(std::memory_order_relaxed)) * 1e-9;
      const double reader_cpu = ThreadCpuSeconds() - parse_cpu_start;
      prepare_here = written == 0 || reader_cpu / static_cast<double>(std::max<int64_t>(summary.records, 1)) <=
                                         writer_cpu / static_cast<double>(written);
    }
    batch.last_line = line_no;
    format.Parse(record, line_no, batch);
    // Per record, while the new event is in the CPU caches.
    if (prepare_here) preparer.Update(batch);
    ++summary.records;
    if (++in_batch >= batch_limit) {
      batch.bytes = static_cast<uint64_t>(reader.compressed_offset());
      batch_limit = NextBatchLimit(batch_limit, full_batch, total_bytes, reader.consumed_offset(),
                                   summary.records);
      if (!queue.Push(std::move(batch), retired)) break;
      batch = Batch();
      retired.clear();  // the written batches are freed here, on this thread
      in_batch = 0;
      if (options.progress) options.progress(reader.compressed_offset(), summary.records);
    }
  }
  if (read_status.ok() && writer_status.ok() && in_batch > 0) {
    batch.bytes = static_cast<uint64_t>(reader.compressed_offset());
    queue.Push(std::move(batch), retired);
  }
  queue.Close();
  summary.parse_cpu_seconds = ThreadCpuSeconds() - parse_cpu_start;
  writer.join();
  OMNI_RETURN_IF_ERROR(writer_status);
  OMNI_RETURN_IF_ERROR(read_status);
  summary.bytes = reader.compressed_offset();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace omni::ingest
