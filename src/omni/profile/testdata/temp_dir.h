// A fresh directory under $OMNI_TEST_TMP (or the system temp dir) per test,
// removed when the object goes out of scope.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

namespace omni::profile::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    const char* base = std::getenv("OMNI_TEST_TMP");
    std::filesystem::path root = base ? base : std::filesystem::temp_directory_path();
    path_ = root / (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace omni::profile::testing
