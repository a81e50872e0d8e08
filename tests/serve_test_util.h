// Running the real `omni serve` for end-to-end tests: start it on a free
// port (the server writes the port it bound to a file), talk to it with
// cpp-httplib's client, stop it with SIGTERM or kill it with SIGKILL.
#pragma once

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace omni::testing {

class ServerProcess {
 public:
  // Starts `omni --data DATA serve --listen 127.0.0.1:0 EXTRA...`; stderr goes
  // to DATA/../server-N.log. Waits until /healthz answers (up to 30 s).
  bool Start(const std::filesystem::path& data, const std::vector<std::string>& extra = {}) {
    static int n = 0;
    port_file_ = data.parent_path() / ("port-" + std::to_string(++n));
    log_ = data.parent_path() / ("server-" + std::to_string(n) + ".log");
    std::filesystem::remove(port_file_);
    std::vector<std::string> args = {OMNI_BINARY, "--data", data.string(), "--log-level", "debug", "serve",
                                     "--listen", "127.0.0.1:0", "--port-file", port_file_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      FILE* err = std::freopen(log_.c_str(), "w", stderr);
      (void)err;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(OMNI_BINARY, argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(port_file_)) {
        std::ifstream in(port_file_);
        in >> port_;
        if (port_ > 0) {
          httplib::Client c("127.0.0.1", port_);
          if (auto r = c.Get("/healthz"); r && r->status == 200) return true;
        }
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // SIGTERM (clean stop) or SIGKILL; returns the wait status.
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  bool Alive() const {
    if (pid_ <= 0) return false;
    return kill(pid_, 0) == 0;
  }
  ~ServerProcess() { Stop(SIGKILL); }

  int port() const { return port_; }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5);
    c.set_read_timeout(30);
    c.set_write_timeout(30);
    return c;
  }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path port_file_;
  std::filesystem::path log_;
};

// `omni --data DATA serve keys create --scope SCOPE [--rate R]`: the key.
inline std::string CreateKey(const std::filesystem::path& data, const std::string& scope, double rate = 0) {
  RunResult r = RunOmni("--data " + data.string() + " serve keys create --scope " + scope +
                            (rate > 0 ? " --rate " + std::to_string(rate) : "") + " --name test-" + scope,
                        data.parent_path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string key = r.out;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

inline httplib::Headers Auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

}  // namespace omni::testing
