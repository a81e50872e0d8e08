// DATA_DIR/identity/directory.bin: the customer directory (identity.h,
// LoadDirectory) as the plain arrays it is built from, so a load reads one
// file instead of decoding a million identifier rows from SQLite (half a
// second of every profile build at 10M events).
//
// It is a cache; the identity tables stay the truth:
//  - the header carries identity_state's generation, updated_at_ms,
//    watermark and next_id the arrays were read under (or written with).
//    Every write to the identity tables (resolve, split, forget) bumps the
//    generation and sets updated_at_ms in the same transaction, so a file
//    whose stamp differs from the table's is never used; a restored older
//    omni.db has another updated_at_ms, so the file of the newer one is not
//    used with it either;
//  - the payload is CRC-checked and every size and offset validated against
//    the file length before use: a truncated or damaged file is not used
//    (the tables are read instead), never a crash;
//  - Resolve() writes it after it commits a new state, LoadDirectory after
//    reading the tables under an unchanged stamp; writing never fails a
//    command (a warning), and goes through a temporary file of a unique name
//    renamed into place, so readers and concurrent writers see a whole file;
//  - erasure removes it (and any temporary one) after its transaction: it
//    holds the hashed identifiers of the person forgotten.
// Format (little-endian, fixed-width): a 128-byte header (FileHeader in the
// .cc), then the arrays of DirectoryArrays, 8-byte ones first, in the order
// listed there; their sizes follow from the header's counts. A reader maps
// the file and uses the arrays in place (no copy); 1.3M identifiers are
// ~50 MB, mapped, checked and turned into a directory in a few hundredths
// of a second.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "omni/common/status.h"
#include "omni/identity/tables.h"
#include "omni/store/sql.h"

namespace omni::identity::internal {

// What a directory is made of, as views. Identifiers are those with a
// customer, in id order; customers in key order (dense ids).
struct DirectoryArrays {
  std::span<const int64_t> first_seq;     // per identifier
  std::span<const uint64_t> value_begin;  // per identifier + 1: its value is text[begin[i], begin[i+1])
  std::span<const int64_t> numbers;       // per customer: key number, ascending
  std::span<const uint64_t> alias_begin;  // per alias + 1: its old key is alias_text[...]
  std::span<const int32_t> customer;      // per identifier: dense id
  std::span<const int32_t> alias_customer;  // per alias: the dense id the old key resolves to
  std::span<const uint8_t> type;          // per identifier: IdentityType
  std::string_view text;                  // stored values, concatenated
  std::string_view alias_text;            // old keys, concatenated

  size_t identifiers() const { return type.size(); }
  size_t customers() const { return numbers.size(); }
  size_t aliases() const { return alias_customer.size(); }
};

// The same, owned: what a reader of the tables or a writer fills.
struct DirectoryBuffers {
  std::vector<int64_t> first_seq;
  std::vector<uint64_t> value_begin{0};
  std::vector<int64_t> numbers;
  std::vector<uint64_t> alias_begin{0};
  std::vector<int32_t> customer;
  std::vector<int32_t> alias_customer;
  std::vector<uint8_t> type;
  std::string text;
  std::string alias_text;

  DirectoryArrays View() const;
  // Customers and each identifier's dense id from the identifiers' key
  // numbers (numbers, customer).
  void AssignCustomers(std::span<const int64_t> number_of);
  // Appends an alias when `number` is a customer's key number (else the old
  // key resolves to no live customer and is left out).
  void AddAlias(std::string_view old_key, int64_t number);
};

// The state of the identity tables a file belongs to.
struct DirectoryStamp {
  int64_t generation = 0;
  int64_t updated_at_ms = 0;
  int64_t watermark = 0;
  int64_t next_id = 0;
  bool operator==(const DirectoryStamp&) const = default;
  static DirectoryStamp Of(const IdentityState& state) {
    return {state.generation, state.updated_at_ms, state.watermark, state.next_id};
  }
};

// The data directory of `sql`'s database (SQLite's main file's folder);
// nullopt for an in-memory database or another engine: no file then.
std::optional<std::string> DataDirOf(store::Sql& sql);
std::string DirectoryFilePath(const std::string& data_dir);

// A file mapped and validated; keeps the mapping its arrays view.
class DirectoryFile {
 public:
  // NotFound when there is none, FailedPrecondition when it belongs to
  // another stamp, Internal (saying what is wrong) when it is damaged.
  static StatusOr<DirectoryFile> Read(const std::string& path, const DirectoryStamp& stamp);
  const DirectoryArrays& arrays() const { return arrays_; }

 private:
  std::shared_ptr<void> mapping_;  // unmaps
  DirectoryArrays arrays_;
};

// Writes the file for `stamp` (a temporary file renamed into place). After
// the rename the stamp is read again through `sql`: when the tables moved
// on meanwhile (an erasure may have removed the file just before), the file
// just published is removed again.
Status WriteDirectoryFile(store::Sql& sql, const std::string& data_dir, const DirectoryStamp& stamp,
                          const DirectoryArrays& arrays);

// Removes the file and any temporary one beside it (erasure). Absent is fine.
Status RemoveDirectoryFiles(const std::string& data_dir);

}  // namespace omni::identity::internal
