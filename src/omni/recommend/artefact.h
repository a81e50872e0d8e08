// The versioned binary artefact every recommender saves: a fixed magic, a
// format version, the model name and its canonical spec, then named arrays.
// Little-endian host layout (x86-64 and arm64 alike); a reader refuses a
// different magic, a newer version, another model's file or a truncated one,
// so a stale or foreign file is an error, never garbage scores.
//
//   ArtefactWriter w("ease", spec());  w.Int("items", n);  w.Floats("b", b);
//   OMNI_RETURN_IF_ERROR(w.WriteTo(path));
//   OMNI_ASSIGN_OR_RETURN(ArtefactReader r, ArtefactReader::Open(path, "ease"));
//   OMNI_ASSIGN_OR_RETURN(int64_t n, r.Int("items"));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"

namespace omni::recommend {

inline constexpr char kArtefactMagic[8] = {'O', 'M', 'N', 'I', 'R', 'E', 'C', '\n'};
inline constexpr uint32_t kArtefactVersion = 1;

class ArtefactWriter {
 public:
  ArtefactWriter(std::string_view model, std::string_view spec);
  void Int(std::string_view name, int64_t value);
  void Double(std::string_view name, double value);
  void Floats(std::string_view name, std::span<const float> values);
  void Int32s(std::string_view name, std::span<const int32_t> values);
  void Int64s(std::string_view name, std::span<const int64_t> values);
  // Writes the file at `path` directly; publishing atomically (temp + rename)
  // is the caller's job.
  Status WriteTo(const std::string& path) const;

 private:
  void Field(std::string_view name, char kind, const void* data, uint64_t bytes);
  std::string buf_;
};

class ArtefactReader {
 public:
  // Reads the whole file; fails unless it is a version <= kArtefactVersion
  // artefact of `model`.
  static StatusOr<ArtefactReader> Open(const std::string& path, std::string_view model);
  const std::string& spec() const { return spec_; }
  // Fields must be read in the order they were written.
  StatusOr<int64_t> Int(std::string_view name);
  StatusOr<double> Double(std::string_view name);
  StatusOr<std::vector<float>> Floats(std::string_view name);
  StatusOr<std::vector<int32_t>> Int32s(std::string_view name);
  StatusOr<std::vector<int64_t>> Int64s(std::string_view name);

 private:
  StatusOr<std::string_view> Field(std::string_view name, char kind, size_t elem);
  std::string path_;
  std::string data_;
  size_t pos_ = 0;
  std::string spec_;
};

}  // namespace omni::recommend
