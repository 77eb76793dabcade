#pragma once
// The config of record: validated, revisioned, secrets sealed.
//
// Storage layout on a Store (works on SQLite and SSM Parameter Store alike,
// with no multi-key transaction):
//   <root>/config/blobs/<sha256>/<i>     chunk i of a section's stored JSON
//   <root>/config/revisions/<n:010>      the revision record (create-only)
// A revision exists iff its record exists. Blobs are written first and are
// content-addressed (idempotent); the record is created last with
// must_not_exist, which is both the commit point and the optimistic lock:
// two writers on the same base race for the same record key, one loses (409).
// A crash before the record leaves only unreferenced blobs, never a partial
// revision.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "config/schema.h"
#include "config/secrets.h"
#include "store/store.h"

namespace spectra::config {

struct RevisionMeta {
  std::uint64_t number = 0;
  std::uint64_t base = 0;
  std::string author;
  std::string at;  // RFC 3339 UTC
  std::string message;
  std::vector<std::string> changed;
  bj::object to_json() const;
};

struct ApplyRequest {
  std::uint64_t base = 0;        // the revision the change was made against
  bj::object sections;           // section name -> full new value (may hold "***")
  std::string author;
  std::string message;
  bool dry_run = false;
};

struct ApplyResult {
  RevisionMeta meta;   // the new revision (or the base, on dry run / no change)
  bj::array diff;      // secrets masked
  bool changed = false;
};

class ConfigService {
 public:
  ConfigService(store::Store& store, SecretBox box, std::string root = "/spectra");

  // Finds the head revision. Call once before anything else.
  Status open();

  std::uint64_t head() const;
  // Full plaintext config of revision n (0 = defaults). For internal consumers.
  Result<bj::object> config_at(std::uint64_t n);
  // The head config with secrets masked, for API reads.
  Result<bj::object> masked_head(std::uint64_t* revision);
  Result<RevisionMeta> meta(std::uint64_t n);
  // Newest first; at most `limit`, all below `before` (0 = from head).
  Result<std::vector<RevisionMeta>> list(std::size_t limit, std::uint64_t before);
  Result<bj::array> diff(std::uint64_t from, std::uint64_t to);

  // On validation failure returns kInvalidArgument and fills `errors`;
  // on a stale base, kConflict.
  Result<ApplyResult> apply(const ApplyRequest& req, Errors* errors);
  Result<ApplyResult> rollback(std::uint64_t target, std::uint64_t base, const std::string& author,
                               const std::string& message);

  bj::object mask(const bj::object& config) const;

 private:
  struct BlobRef {
    std::string sha;
    std::size_t chunks = 0;
  };
  struct Record {
    RevisionMeta meta;
    std::map<std::string, BlobRef> sections;
  };
  Result<Record> load_record(std::uint64_t n);
  Result<std::string> load_blob(const BlobRef& ref);
  Result<BlobRef> save_blob(const std::string& data);
  Result<bj::object> load_config(const Record& rec);
  Result<ApplyResult> commit(std::uint64_t base, bj::object next, const std::string& author,
                             const std::string& message, bool dry_run);
  std::string revision_key(std::uint64_t n) const;
  bj::array masked_diff(const bj::object& a, const bj::object& b) const;

  store::Store& store_;
  SecretBox box_;
  std::string root_;
  mutable std::mutex mu_;          // serialises commits in this process
  std::uint64_t head_ = 0;         // guarded by mu_
  bj::object head_config_;         // guarded by mu_; plaintext
  std::map<std::string, BlobRef> head_blobs_;  // guarded by mu_
};

}  // namespace spectra::config
