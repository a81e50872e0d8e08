#include "omni/recommend/artefact.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace omni::recommend {
namespace {

void PutU64(std::string& buf, uint64_t v) { buf.append(reinterpret_cast<const char*>(&v), sizeof v); }
void PutString(std::string& buf, std::string_view s) {
  PutU64(buf, s.size());
  buf.append(s);
}

}  // namespace

ArtefactWriter::ArtefactWriter(std::string_view model, std::string_view spec) {
  buf_.append(kArtefactMagic, sizeof kArtefactMagic);
  uint32_t version = kArtefactVersion;
  buf_.append(reinterpret_cast<const char*>(&version), sizeof version);
  PutString(buf_, model);
  PutString(buf_, spec);
}

void ArtefactWriter::Field(std::string_view name, char kind, const void* data, uint64_t bytes) {
  PutString(buf_, name);
  buf_.push_back(kind);
  PutU64(buf_, bytes);
  buf_.append(static_cast<const char*>(data), bytes);
}

void ArtefactWriter::Int(std::string_view name, int64_t value) { Field(name, 'i', &value, sizeof value); }
void ArtefactWriter::Double(std::string_view name, double value) { Field(name, 'd', &value, sizeof value); }
void ArtefactWriter::Floats(std::string_view name, std::span<const float> v) {
  Field(name, 'f', v.data(), v.size_bytes());
}
void ArtefactWriter::Int32s(std::string_view name, std::span<const int32_t> v) {
  Field(name, 'I', v.data(), v.size_bytes());
}
void ArtefactWriter::Int64s(std::string_view name, std::span<const int64_t> v) {
  Field(name, 'L', v.data(), v.size_bytes());
}

Status ArtefactWriter::WriteTo(const std::string& path) const {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Internal("cannot create " + path + ": " + std::strerror(errno));
  bool ok = std::fwrite(buf_.data(), 1, buf_.size(), f) == buf_.size();
  ok = (std::fflush(f) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return Internal("cannot write " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

StatusOr<ArtefactReader> ArtefactReader::Open(const std::string& path, std::string_view model) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("no model artefact at " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  ArtefactReader r;
  r.path_ = path;
  r.data_ = std::move(ss).str();
  const std::string& d = r.data_;
  auto bad = [&](std::string why) { return InvalidArgument(path + " is not a usable artefact: " + why); };
  if (d.size() < sizeof kArtefactMagic + 4 || std::memcmp(d.data(), kArtefactMagic, sizeof kArtefactMagic) != 0) {
    return bad("wrong magic");
  }
  uint32_t version = 0;
  std::memcpy(&version, d.data() + sizeof kArtefactMagic, sizeof version);
  if (version == 0 || version > kArtefactVersion) {
    return bad("format version " + std::to_string(version) + " (this build reads up to " +
               std::to_string(kArtefactVersion) + ")");
  }
  r.pos_ = sizeof kArtefactMagic + sizeof version;
  auto get_string = [&](std::string& out) -> bool {
    uint64_t n = 0;
    if (r.pos_ + 8 > d.size()) return false;
    std::memcpy(&n, d.data() + r.pos_, 8);
    r.pos_ += 8;
    if (n > d.size() - r.pos_) return false;
    out.assign(d.data() + r.pos_, n);
    r.pos_ += n;
    return true;
  };
  std::string stored_model;
  if (!get_string(stored_model) || !get_string(r.spec_)) return bad("truncated header");
  if (stored_model != model) return bad("it holds a '" + stored_model + "' model, not '" + std::string(model) + "'");
  return r;
}

StatusOr<std::string_view> ArtefactReader::Field(std::string_view name, char kind, size_t elem) {
  auto bad = [&](std::string why) {
    return InvalidArgument(path_ + ": field '" + std::string(name) + "': " + why);
  };
  uint64_t n = 0;
  if (pos_ + 8 > data_.size()) return bad("truncated");
  std::memcpy(&n, data_.data() + pos_, 8);
  pos_ += 8;
  if (n > data_.size() - pos_ || std::string_view(data_.data() + pos_, n) != name) return bad("not found in order");
  pos_ += n;
  if (pos_ + 9 > data_.size() || data_[pos_] != kind) return bad("wrong kind");
  ++pos_;
  uint64_t bytes = 0;
  std::memcpy(&bytes, data_.data() + pos_, 8);
  pos_ += 8;
  if (bytes > data_.size() - pos_ || bytes % elem != 0) return bad("truncated");
  std::string_view out(data_.data() + pos_, bytes);
  pos_ += bytes;
  return out;
}

StatusOr<int64_t> ArtefactReader::Int(std::string_view name) {
  OMNI_ASSIGN_OR_RETURN(std::string_view b, Field(name, 'i', 8));
  if (b.size() != 8) return InvalidArgument(path_ + ": field '" + std::string(name) + "' has the wrong size");
  int64_t v;
  std::memcpy(&v, b.data(), 8);
  return v;
}

StatusOr<double> ArtefactReader::Double(std::string_view name) {
  OMNI_ASSIGN_OR_RETURN(std::string_view b, Field(name, 'd', 8));
  if (b.size() != 8) return InvalidArgument(path_ + ": field '" + std::string(name) + "' has the wrong size");
  double v;
  std::memcpy(&v, b.data(), 8);
  return v;
}

namespace {
template <typename T>
std::vector<T> CopyArray(std::string_view b) {
  std::vector<T> v(b.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), b.data(), b.size());
  return v;
}
}  // namespace

StatusOr<std::vector<float>> ArtefactReader::Floats(std::string_view name) {
  OMNI_ASSIGN_OR_RETURN(std::string_view b, Field(name, 'f', sizeof(float)));
  return CopyArray<float>(b);
}
StatusOr<std::vector<int32_t>> ArtefactReader::Int32s(std::string_view name) {
  OMNI_ASSIGN_OR_RETURN(std::string_view b, Field(name, 'I', sizeof(int32_t)));
  return CopyArray<int32_t>(b);
}
StatusOr<std::vector<int64_t>> ArtefactReader::Int64s(std::string_view name) {
  OMNI_ASSIGN_OR_RETURN(std::string_view b, Field(name, 'L', sizeof(int64_t)));
  return CopyArray<int64_t>(b);
}

}  // namespace omni::recommend
