#include "cli/table.h"

#include <algorithm>
#include <cassert>

namespace spectra::cli {

void Table::add_row(std::vector<std::string> row) {
  assert(row.size() <= header_.size());
  row.resize(header_.size());
  for (auto& cell : row) cell = one_line(std::move(cell));
  rows_.push_back(std::move(row));
}

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes, skip continuation bytes
  }
  return n;
}

std::string one_line(std::string s) {
  for (auto& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

std::string Table::render(bool with_header) const {
  std::vector<std::size_t> width(header_.size());
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], display_width(row[i]));
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);

  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l;
    for (std::size_t i = 0; i < row.size(); ++i) {
      l += row[i];
      if (i + 1 < row.size()) l.append(width[i] - display_width(row[i]) + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l;
    out.push_back('\n');
  };
  if (with_header) line(header_);
  for (const auto& r : rows_) line(r);
  return out;
}

}  // namespace spectra::cli
