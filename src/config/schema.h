#pragma once
// A declarative schema for the config of record. One description drives:
// validation (every error at once, each with its JSON Pointer path and a plain
// reason), normalisation (defaults filled in), secret handling (fields marked
// secret) and the OpenAPI document. So the API, the docs and the checks
// cannot drift apart.
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spectra::config {

namespace bj = boost::json;

struct ValidationError {
  std::string path;    // JSON Pointer, e.g. /network/port_forwards/0/target_port
  std::string reason;  // plain English, names the rule broken
};
using Errors = std::vector<ValidationError>;

enum class Type { kObject, kArray, kString, kInteger, kNumber, kBoolean };

enum class Format {
  kNone,
  kIpv4,        // 10.0.0.1
  kIpv4Cidr,    // 10.0.0.0/16
  kIpAddress,   // v4 or v6
  kCidr,        // v4 or v6 prefix
  kHostname,    // RFC 1123 host name
  kDomain,      // domain, optionally with a leading "*." or "."
  kUrl,         // http(s)://host[:port][/path]
  kName,        // [a-z0-9][a-z0-9_-]{0,62}: identifiers operators type
  kInterface,   // Linux interface name
  kArn,         // arn:partition:service:region:account:resource
  kPortRange,   // "80" or "1000-2000"
  kParamPath,   // /path/ for SSM parameters
  kDateTime,    // RFC 3339: 2026-12-31T23:59:59Z
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;
// Cross-field rule of an object or array: sees the normalised value.
using Check = std::function<void(const bj::value& v, const std::string& path, Errors& errors)>;

struct Field {
  std::string name;
  NodePtr node;
  bool required = false;
  std::optional<bj::value> default_value;  // absent + not required -> this (or a type default)
};

struct Node {
  Type type = Type::kString;
  std::string description;
  std::string ref;  // OpenAPI component name; empty = inline
  // strings
  Format format = Format::kNone;
  std::vector<std::string> enum_values;
  std::size_t max_length = 256;
  bool secret = false;  // write-only: masked on read, encrypted at rest
  // numbers
  std::optional<double> minimum, maximum;
  // arrays
  NodePtr items;
  std::size_t max_items = 1000;
  std::string unique_field;  // for arrays of objects: field whose value must be unique
  // objects
  std::vector<Field> fields;
  std::vector<Check> checks;

  const Field* field(std::string_view name) const;
};

// Fluent builders: str().format(Format::kCidr).desc("...").
class Builder {
 public:
  explicit Builder(Type t) : n_(std::make_shared<Node>()) { n_->type = t; }
  Builder& desc(std::string d) { n_->description = std::move(d); return *this; }
  Builder& ref(std::string r) { n_->ref = std::move(r); return *this; }
  Builder& format(Format f) { n_->format = f; return *this; }
  Builder& one_of(std::vector<std::string> values) { n_->enum_values = std::move(values); return *this; }
  Builder& max_length(std::size_t n) { n_->max_length = n; return *this; }
  Builder& secret() { n_->secret = true; return *this; }
  Builder& range(double lo, double hi) { n_->minimum = lo; n_->maximum = hi; return *this; }
  Builder& max_items(std::size_t n) { n_->max_items = n; return *this; }
  Builder& items(NodePtr i) { n_->items = std::move(i); return *this; }
  Builder& unique(std::string field) { n_->unique_field = std::move(field); return *this; }
  Builder& check(Check c) { n_->checks.push_back(std::move(c)); return *this; }
  Builder& field(std::string name, NodePtr node) { return add(std::move(name), std::move(node), false, std::nullopt); }
  Builder& required(std::string name, NodePtr node) { return add(std::move(name), std::move(node), true, std::nullopt); }
  Builder& field(std::string name, NodePtr node, bj::value def) { return add(std::move(name), std::move(node), false, std::move(def)); }
  operator NodePtr() const { return n_; }  // NOLINT(google-explicit-constructor)

 private:
  Builder& add(std::string name, NodePtr node, bool req, std::optional<bj::value> def);
  std::shared_ptr<Node> n_;
};

Builder str();
Builder integer(double lo, double hi);
Builder number(double lo, double hi);
Builder boolean();
Builder array(NodePtr items);
Builder object();

// Validates `v` against `node`, appending every problem to `errors`. Also
// fills defaults into `v` (it is normalised in place) so checks see a
// complete value.
void validate_and_normalize(const Node& node, bj::value& v, const std::string& path, Errors& errors);

// Reasons for format checks, reused by semantic checks elsewhere.
bool matches_format(Format f, std::string_view s, std::string* why);
const char* format_name(Format f);

// Calls fn(value, path) for every present secret string under `v`.
void for_each_secret(const Node& node, bj::value& v, const std::string& path,
                     const std::function<void(bj::value&, const std::string&)>& fn);

// JSON Schema (OpenAPI 3.0 dialect) for `node`; components with a ref are
// written once into `components` and referenced.
bj::value to_json_schema(const Node& node, bj::object& components);

}  // namespace spectra::config
