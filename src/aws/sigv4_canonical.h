#pragma once
// The canonicalisation steps of AWS Signature Version 4, exposed on their own
// so tests can check each rule. See sigv4.h for the signer that uses them.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spectra::aws::sigv4 {

// Percent-encodes every byte except the RFC 3986 unreserved set
// (A-Z a-z 0-9 - . _ ~) and, when `keep_slash`, '/'. Hex digits are upper case.
std::string uri_encode(std::string_view s, bool keep_slash);

// Decodes %XX escapes. A '%' not followed by two hex digits stays literal, and
// '+' stays '+' (it is not form encoding: AWS signs a space as %20).
std::string percent_decode(std::string_view s);

// RFC 3986 section 5.2.4 dot-segment removal plus collapsing of empty segments,
// as SigV4 asks for every service but S3: "//a/./b/../c/" -> "/a/c/". The result
// always starts with '/', and ends with '/' if the input did (or ended in a dot segment).
std::string normalize_path(std::string_view path);

// The CanonicalURI line. `path` is the path as sent on the wire (already
// percent-encoded once); with `double_encode` it is encoded once more, which is
// what all services but S3 expect ("/a%3Ab" signs as "/a%253Ab").
std::string canonical_uri(std::string_view path, bool normalize, bool double_encode);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits a raw query string (no leading '?') into decoded name/value pairs, in
// order; empty pieces ("a=1&&b") are dropped and a name without '=' has an empty value.
QueryParams parse_query(std::string_view query);

// The CanonicalQueryString line: each name and value encoded with uri_encode
// (slash encoded too), pairs sorted by name then value, joined with '&'.
std::string canonical_query(const QueryParams& params);

// Trims leading and trailing whitespace and collapses each inner run of
// whitespace (SP, HT, CR, LF, VT, FF) to one space; quoted strings are not special.
std::string trim_header_value(std::string_view value);

std::string lower_ascii(std::string_view s);

// Headers ready for the canonical request: names lower-cased, values trimmed,
// repeated names merged in order with ',', sorted by name.
struct CanonicalHeaders {
  std::vector<std::pair<std::string, std::string>> entries;  // sorted by name

  void add(std::string_view name, std::string_view value);
  bool contains(std::string_view lower_name) const;
  std::string signed_headers() const;  // "host;x-amz-date"
  std::string block() const;           // "host:example.com\nx-amz-date:...\n"
};

}  // namespace spectra::aws::sigv4
