// Helpers for end-to-end tests: temp data directories, running the omni
// binary, reading the SQLite store directly.
#pragma once

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace omni::testing {

inline std::filesystem::path TempDir(const std::string& name) {
  const char* base = std::getenv("OMNI_TEST_TMP");
  std::filesystem::path root = base ? base : std::filesystem::temp_directory_path();
  std::filesystem::path dir =
      root / (name + "-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `omni ARGS` through the shell, capturing stdout and stderr.
inline RunResult RunOmni(const std::string& args, const std::filesystem::path& dir) {
  std::string out_file = (dir / "stdout.txt").string();
  std::string err_file = (dir / "stderr.txt").string();
  std::string cmd = std::string(OMNI_BINARY) + " " + args + " >" + out_file + " 2>" + err_file;
  int rc = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  auto slurp = [](const std::string& path) {
    std::string s;
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
      char buf[65536];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
      std::fclose(f);
    }
    return s;
  };
  r.out = slurp(out_file);
  r.err = slurp(err_file);
  return r;
}

// Runs one integer-valued query against DATA_DIR/omni.db.
inline int64_t QueryInt(const std::filesystem::path& data_dir, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string path = (data_dir / "omni.db").string();
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return -1;
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* stmt = nullptr;
  int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    value = sqlite3_column_int64(stmt, 0);
  } else {
    ADD_FAILURE() << "query failed: " << sql << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

}  // namespace omni::testing
