#include "omni/identity/directory_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>  // crc32: the payload check, as the events snapshot does

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "omni/ingest/event.h"

namespace omni::identity::internal {
namespace {

namespace fs = std::filesystem;

constexpr char kFileMagic[8] = {'O', 'M', 'N', 'I', 'D', 'I', 'R', '\0'};
// Bump when the layout changes: a file of another version is not used.
constexpr uint32_t kVersion = 1;
constexpr const char* kDir = "identity";
constexpr const char* kFile = "directory.bin";
constexpr const char* kTempPrefix = "directory.bin.tmp.";

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;  // sizeof(FileHeader)
  // The stamp (DirectoryStamp).
  int64_t generation;
  int64_t updated_at_ms;
  int64_t watermark;
  int64_t next_id;
  // Counts and byte sizes: the layout follows from them.
  int64_t identifiers;
  int64_t customers;
  int64_t aliases;
  uint64_t text_bytes;
  uint64_t alias_text_bytes;
  uint64_t file_bytes;
  uint32_t payload_crc;  // of every byte after the header
  uint32_t header_crc;   // of the header with this field 0
  uint8_t reserved[24];
};
static_assert(sizeof(FileHeader) == 128);

// Where each array starts; every 8-byte array precedes the 4-byte and byte
// ones, so all are aligned when the file is read to an aligned buffer.
struct Layout {
  uint64_t first_seq, value_begin, numbers, alias_begin, customer, alias_customer, type, text, alias_text, end;
};

// nullopt when the counts are negative or absurd (the sums below then
// cannot overflow).
std::optional<Layout> LayoutOf(const FileHeader& h) {
  constexpr int64_t kMaxCount = INT32_MAX - 1;
  constexpr uint64_t kMaxBytes = uint64_t{1} << 40;
  if (h.identifiers < 0 || h.identifiers > kMaxCount || h.customers < 0 || h.customers > h.identifiers ||
      h.aliases < 0 || h.aliases > kMaxCount || h.text_bytes > kMaxBytes || h.alias_text_bytes > kMaxBytes) {
    return std::nullopt;
  }
  const auto n = static_cast<uint64_t>(h.identifiers);
  const auto c = static_cast<uint64_t>(h.customers);
  const auto a = static_cast<uint64_t>(h.aliases);
  Layout l{};
  uint64_t at = sizeof(FileHeader);
  l.first_seq = at;
  at += 8 * n;
  l.value_begin = at;
  at += 8 * (n + 1);
  l.numbers = at;
  at += 8 * c;
  l.alias_begin = at;
  at += 8 * (a + 1);
  l.customer = at;
  at += 4 * n;
  l.alias_customer = at;
  at += 4 * a;
  l.type = at;
  at += n;
  l.text = at;
  at += h.text_bytes;
  l.alias_text = at;
  at += h.alias_text_bytes;
  l.end = at;
  return l;
}

uint32_t Crc(uint32_t crc, const void* data, size_t bytes) {
  const auto* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {
    const auto chunk = static_cast<uInt>(std::min<size_t>(bytes, 1u << 30));
    crc = static_cast<uint32_t>(crc32(crc, p, chunk));
    p += chunk;
    bytes -= chunk;
  }
  return crc;
}

uint32_t HeaderCrc(FileHeader h) {
  h.header_crc = 0;
  return Crc(static_cast<uint32_t>(crc32(0L, Z_NULL, 0)), &h, sizeof(h));
}

Status Errno(const std::string& what) { return Internal("identity: " + what + ": " + std::strerror(errno)); }

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status ReadAll(int fd, void* data, size_t bytes, uint64_t at, const std::string& path) {
  auto* p = static_cast<unsigned char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, std::min<size_t>(bytes, 1u << 30), static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read " + path);
    if (n == 0) return Internal("identity: " + path + " ends early");
    p += n;
    at += static_cast<uint64_t>(n);
    bytes -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteAll(int fd, const void* data, size_t bytes, const std::string& path) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, std::min<size_t>(bytes, 1u << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write " + path);
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

template <typename T>
std::span<const T> ArrayAt(const unsigned char* base, uint64_t offset, uint64_t count) {
  // The mapping is page-aligned and offset a multiple of alignof(T) (Layout).
  return {reinterpret_cast<const T*>(base + offset), static_cast<size_t>(count)};
}

// Offsets of concatenated strings: from 0, not decreasing, ending at `bytes`.
bool ValidOffsets(std::span<const uint64_t> begin, uint64_t bytes) {
  if (begin.empty() || begin.front() != 0 || begin.back() != bytes) return false;
  for (size_t i = 1; i < begin.size(); ++i) {
    if (begin[i] < begin[i - 1]) return false;
  }
  return true;
}

// Removes "directory.bin.tmp.PID.N" files whose PID is no running process.
void RemoveTemporariesOfTheDead(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) continue;
    const std::string rest = name.substr(std::strlen(kTempPrefix));
    long pid = 0;
    const auto [end_of_pid, error] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
    if (error != std::errc() || end_of_pid == rest.data() || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

}  // namespace

DirectoryArrays DirectoryBuffers::View() const {
  return {first_seq, value_begin, numbers, alias_begin, customer, alias_customer, type, text, alias_text};
}

void DirectoryBuffers::AssignCustomers(std::span<const int64_t> number_of) {
  // Key numbers come from one counter, so they are dense enough to index a
  // table by: customers in key order and each identifier's dense id without
  // sorting or searching a million numbers. Sparse numbers (keys from
  // elsewhere) sort and search instead.
  const size_t n = number_of.size();
  numbers.clear();
  customer.resize(n);
  if (n == 0) return;
  const auto [min_it, max_it] = std::minmax_element(number_of.begin(), number_of.end());
  const int64_t min_number = *min_it, max_number = *max_it;
  if (min_number >= 0 && max_number < 16 * static_cast<int64_t>(n) + 4096) {
    std::vector<int32_t> dense_of(static_cast<size_t>(max_number) + 1, -1);
    for (int64_t number : number_of) dense_of[static_cast<size_t>(number)] = 0;
    for (size_t number = 0; number < dense_of.size(); ++number) {
      if (dense_of[number] < 0) continue;
      dense_of[number] = static_cast<int32_t>(numbers.size());
      numbers.push_back(static_cast<int64_t>(number));
    }
    for (size_t i = 0; i < n; ++i) customer[i] = dense_of[static_cast<size_t>(number_of[i])];
  } else {
    numbers.assign(number_of.begin(), number_of.end());
    std::sort(numbers.begin(), numbers.end());
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    for (size_t i = 0; i < n; ++i) {
      customer[i] = static_cast<int32_t>(std::lower_bound(numbers.begin(), numbers.end(), number_of[i]) -
                                         numbers.begin());
    }
  }
}

void DirectoryBuffers::AddAlias(std::string_view old_key, int64_t number) {
  auto it = std::lower_bound(numbers.begin(), numbers.end(), number);
  if (it == numbers.end() || *it != number) return;
  alias_text.append(old_key);
  alias_begin.push_back(alias_text.size());
  alias_customer.push_back(static_cast<int32_t>(it - numbers.begin()));
}

std::optional<std::string> DataDirOf(store::Sql& sql) {
  std::string db_file;
  Status st = sql.Query("SELECT file FROM pragma_database_list WHERE name = 'main'", {},
                        [&](const store::SqlRow& row) {
                          db_file = std::string(row.Text(0));
                          return false;
                        });
  if (!st.ok() || db_file.empty()) return std::nullopt;
  return fs::path(db_file).parent_path().string();
}

std::string DirectoryFilePath(const std::string& data_dir) { return (fs::path(data_dir) / kDir / kFile).string(); }

StatusOr<DirectoryFile> DirectoryFile::Read(const std::string& path, const DirectoryStamp& stamp) {
  if constexpr (std::endian::native != std::endian::little) {
    return NotFound("identity: the directory file is little-endian only");
  }
  Fd file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) {
    if (errno == ENOENT) return NotFound("identity: no directory file " + path);
    return Errno("open " + path);
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return Errno("stat " + path);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size < sizeof(FileHeader)) return Internal("identity: " + path + " is shorter than its header");
  FileHeader h{};
  OMNI_RETURN_IF_ERROR(ReadAll(file.fd, &h, sizeof(h), 0, path));
  if (std::memcmp(h.magic, kFileMagic, sizeof(kFileMagic)) != 0 || h.header_bytes != sizeof(FileHeader) ||
      h.header_crc != HeaderCrc(h)) {
    return Internal("identity: " + path + " has no valid header");
  }
  if (h.version != kVersion) return FailedPrecondition("identity: " + path + " is of another format version");
  const DirectoryStamp written{h.generation, h.updated_at_ms, h.watermark, h.next_id};
  if (written != stamp) {
    return FailedPrecondition("identity: " + path + " was written at generation " + std::to_string(h.generation) +
                              "; the tables are at " + std::to_string(stamp.generation));
  }
  const std::optional<Layout> layout = LayoutOf(h);
  if (!layout || h.file_bytes != layout->end || size != layout->end) {
    return Internal("identity: " + path + " holds " + std::to_string(size) +
                    " bytes, not what its header describes");
  }

  // Mapped, not read: no copy of tens of megabytes. Safe for as long as the
  // directory lives because the file is never written in place nor cut
  // (writers rename a new file over it; erasure unlinks it): the mapping
  // keeps this version's pages. The size was checked against the layout.
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (mapped == MAP_FAILED) return Errno("map " + path);
  DirectoryFile out;
  out.mapping_ = std::shared_ptr<void>(mapped, [size](void* p) { ::munmap(p, size); });
  const auto* base = static_cast<const unsigned char*>(mapped);
  if (Crc(static_cast<uint32_t>(crc32(0L, Z_NULL, 0)), base + sizeof(h), size - sizeof(h)) != h.payload_crc) {
    return Internal("identity: " + path + " is damaged (checksum)");
  }

  const Layout& l = *layout;
  const auto n = static_cast<uint64_t>(h.identifiers);
  const auto c = static_cast<uint64_t>(h.customers);
  const auto a = static_cast<uint64_t>(h.aliases);
  DirectoryArrays& arrays = out.arrays_;
  arrays.first_seq = ArrayAt<int64_t>(base, l.first_seq, n);
  arrays.value_begin = ArrayAt<uint64_t>(base, l.value_begin, n + 1);
  arrays.numbers = ArrayAt<int64_t>(base, l.numbers, c);
  arrays.alias_begin = ArrayAt<uint64_t>(base, l.alias_begin, a + 1);
  arrays.customer = ArrayAt<int32_t>(base, l.customer, n);
  arrays.alias_customer = ArrayAt<int32_t>(base, l.alias_customer, a);
  arrays.type = ArrayAt<uint8_t>(base, l.type, n);
  arrays.text = std::string_view(reinterpret_cast<const char*>(base + l.text), h.text_bytes);
  arrays.alias_text = std::string_view(reinterpret_cast<const char*>(base + l.alias_text), h.alias_text_bytes);

  // Whatever the checksum says, nothing out of range reaches the directory.
  auto damaged = [&](const char* what) { return Internal("identity: " + path + " is damaged (" + what + ")"); };
  if (!ValidOffsets(arrays.value_begin, h.text_bytes)) return damaged("value offsets");
  if (!ValidOffsets(arrays.alias_begin, h.alias_text_bytes)) return damaged("alias offsets");
  const auto customers = static_cast<int32_t>(c);
  for (size_t i = 0; i < n; ++i) {
    if (arrays.type[i] >= ingest::kIdentityTypeCount) return damaged("identity type");
    if (arrays.customer[i] < 0 || arrays.customer[i] >= customers) return damaged("customer");
  }
  for (size_t k = 0; k < c; ++k) {
    if (arrays.numbers[k] <= 0 || (k > 0 && arrays.numbers[k] <= arrays.numbers[k - 1])) {
      return damaged("key numbers");
    }
  }
  for (int32_t dense : arrays.alias_customer) {
    if (dense < 0 || dense >= customers) return damaged("alias");
  }
  return out;
}

Status WriteDirectoryFile(store::Sql& sql, const std::string& data_dir, const DirectoryStamp& stamp,
                          const DirectoryArrays& arrays) {
  if constexpr (std::endian::native != std::endian::little) return Status::Ok();
  const fs::path dir = fs::path(data_dir) / kDir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Internal("identity: cannot create " + dir.string() + ": " + ec.message());
  static std::atomic<uint64_t> counter{0};
  // Unique per process and call: concurrent writers never share a
  // temporary file; the rename is atomic, so the last one wins whole.
  const std::string tmp =
      (dir / (std::string(kTempPrefix) + std::to_string(::getpid()) + "." + std::to_string(counter++))).string();
  const std::string path = (dir / kFile).string();

  FileHeader h{};
  std::memcpy(h.magic, kFileMagic, sizeof(kFileMagic));
  h.version = kVersion;
  h.header_bytes = sizeof(FileHeader);
  h.generation = stamp.generation;
  h.updated_at_ms = stamp.updated_at_ms;
  h.watermark = stamp.watermark;
  h.next_id = stamp.next_id;
  h.identifiers = static_cast<int64_t>(arrays.identifiers());
  h.customers = static_cast<int64_t>(arrays.customers());
  h.aliases = static_cast<int64_t>(arrays.aliases());
  h.text_bytes = arrays.text.size();
  h.alias_text_bytes = arrays.alias_text.size();
  const std::optional<Layout> layout = LayoutOf(h);
  if (!layout || arrays.first_seq.size() != arrays.identifiers() ||
      arrays.value_begin.size() != arrays.identifiers() + 1 || arrays.customer.size() != arrays.identifiers() ||
      arrays.alias_begin.size() != arrays.aliases() + 1) {
    return Internal("identity: the directory's arrays do not fit the file format");
  }
  h.file_bytes = layout->end;
  // In Layout order.
  const std::pair<const void*, size_t> sections[] = {
      {arrays.first_seq.data(), arrays.first_seq.size_bytes()},
      {arrays.value_begin.data(), arrays.value_begin.size_bytes()},
      {arrays.numbers.data(), arrays.numbers.size_bytes()},
      {arrays.alias_begin.data(), arrays.alias_begin.size_bytes()},
      {arrays.customer.data(), arrays.customer.size_bytes()},
      {arrays.alias_customer.data(), arrays.alias_customer.size_bytes()},
      {arrays.type.data(), arrays.type.size_bytes()},
      {arrays.text.data(), arrays.text.size()},
      {arrays.alias_text.data(), arrays.alias_text.size()},
  };
  auto crc = static_cast<uint32_t>(crc32(0L, Z_NULL, 0));
  for (const auto& [data, bytes] : sections) crc = Crc(crc, data, bytes);
  h.payload_crc = crc;
  h.header_crc = HeaderCrc(h);

  struct stat written {};
  {
    Fd file;
    file.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (file.fd < 0) return Errno("create " + tmp);
    Status st = WriteAll(file.fd, &h, sizeof(h), tmp);
    for (const auto& [data, bytes] : sections) {
      if (st.ok()) st = WriteAll(file.fd, data, bytes, tmp);
    }
    if (st.ok() && ::fstat(file.fd, &written) != 0) st = Errno("stat " + tmp);
    if (st.ok() && ::close(file.fd) != 0) st = Errno("close " + tmp);
    file.fd = -1;
    if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = Errno("rename " + tmp);
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  // Temporary files of writers that died before their rename (they hold
  // identifiers too, and tens of megabytes each).
  RemoveTemporariesOfTheDead(dir);
  // An erasure that committed meanwhile may have removed the file before
  // this rename put one back: it must not stay (it may hold the person).
  // Another writer's newer file at the path is left alone.
  OMNI_ASSIGN_OR_RETURN(IdentityState now, ReadIdentityState(sql));
  if (DirectoryStamp::Of(now) != stamp) {
    struct stat at_path {};
    if (::stat(path.c_str(), &at_path) == 0 && at_path.st_ino == written.st_ino && at_path.st_dev == written.st_dev) {
      ::unlink(path.c_str());
    }
  }
  return Status::Ok();
}

Status RemoveDirectoryFiles(const std::string& data_dir) {
  const fs::path dir = fs::path(data_dir) / kDir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::Ok();
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == kFile || name.rfind(kTempPrefix, 0) == 0) doomed.push_back(it->path());
  }
  if (ec) return Internal("identity: cannot list " + dir.string() + ": " + ec.message());
  for (const fs::path& p : doomed) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Errno("remove " + p.string());
  }
  return Status::Ok();
}

}  // namespace omni::identity::internal
