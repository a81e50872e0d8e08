// A buffered output file published atomically: bytes go to "PATH.tmp" and
// the file is renamed to PATH only by Close(), so an interrupted generation
// never leaves a plausible-looking but truncated demo file behind.
#pragma once

#include <cstdio>
#include <string>

#include "omni/common/status.h"

namespace omni::demo {

class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile() {
    if (f_ != nullptr) {
      std::fclose(f_);
      std::remove(tmp_.c_str());
    }
  }

  Status Open(const std::string& path) {
    path_ = path;
    tmp_ = path + ".tmp";
    f_ = std::fopen(tmp_.c_str(), "wb");
    if (f_ == nullptr) return Internal("cannot create " + tmp_);
    buf_.reserve(kFlushBytes + 4096);
    return Status::Ok();
  }

  // Callers append to buf() and call MaybeFlush() after each record.
  std::string& buf() { return buf_; }
  int64_t bytes() const { return written_ + static_cast<int64_t>(buf_.size()); }
  Status MaybeFlush() { return buf_.size() < kFlushBytes ? Status::Ok() : Flush(); }

  Status Close() {
    OMNI_RETURN_IF_ERROR(Flush());
    const int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) {
      std::remove(tmp_.c_str());
      return Internal("writing " + path_ + " failed");
    }
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      std::remove(tmp_.c_str());
      return Internal("cannot rename " + tmp_ + " to " + path_);
    }
    return Status::Ok();
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;
  Status Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
      return Internal("writing " + path_ + " failed (disk full?)");
    }
    written_ += static_cast<int64_t>(buf_.size());
    buf_.clear();
    return Status::Ok();
  }
  std::string path_, tmp_;
  FILE* f_ = nullptr;
  std::string buf_;
  int64_t written_ = 0;
};

}  // namespace omni::demo
