#include "aws/sigv4_canonical.h"

#include <algorithm>

namespace spectra::aws::sigv4 {
namespace {

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view seg = path.substr(pos, end - pos);
    const bool last = end == path.size();
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    // The path names a directory if it ends in '/', ".", or "..".
    if (last) trailing_slash = seg.empty() || seg == "." || seg == "..";
    pos = end + 1;
  }
  std::string out = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(segments[i]);
  }
  if (trailing_slash && !segments.empty()) out.push_back('/');
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize, bool double_encode) {
  std::string p = path.empty() ? std::string("/") : std::string(path);
  if (normalize) p = normalize_path(p);
  if (double_encode) p = uri_encode(p, /*keep_slash=*/true);
  return p;
}

QueryParams parse_query(std::string_view query) {
  QueryParams params;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view piece = query.substr(pos, end - pos);
    if (!piece.empty()) {
      const std::size_t eq = piece.find('=');
      if (eq == std::string_view::npos) {
        params.emplace_back(percent_decode(piece), std::string());
      } else {
        params.emplace_back(percent_decode(piece.substr(0, eq)),
                            percent_decode(piece.substr(eq + 1)));
      }
    }
    pos = end + 1;
  }
  return params;
}

std::string canonical_query(const QueryParams& params) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const auto& [name, value] : params) {
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

std::string trim_header_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void CanonicalHeaders::add(std::string_view name, std::string_view value) {
  std::string lname = lower_ascii(name);
  std::string v = trim_header_value(value);
  auto it = std::lower_bound(entries.begin(), entries.end(), lname,
                             [](const auto& e, const std::string& n) { return e.first < n; });
  if (it != entries.end() && it->first == lname) {
    it->second.push_back(',');
    it->second.append(v);
  } else {
    entries.emplace(it, std::move(lname), std::move(v));
  }
}

bool CanonicalHeaders::contains(std::string_view lower_name) const {
  return std::any_of(entries.begin(), entries.end(),
                     [&](const auto& e) { return e.first == lower_name; });
}

std::string CanonicalHeaders::signed_headers() const {
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out.push_back(';');
    out.append(e.first);
  }
  return out;
}

std::string CanonicalHeaders::block() const {
  std::string out;
  for (const auto& [name, value] : entries) out.append(name).append(":").append(value).append("\n");
  return out;
}

}  // namespace spectra::aws::sigv4
