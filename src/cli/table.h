#pragma once
// Plain-text tables for terminals: left-aligned columns, two spaces apart,
// no trailing blanks, no box drawing (output stays greppable).
#include <string>
#include <vector>

namespace spectra::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  // A row shorter than the header is padded with empty cells; longer is a bug.
  void add_row(std::vector<std::string> row);
  // Without `with_header` the header row only sizes the columns.
  std::string render(bool with_header = true) const;
  std::size_t rows() const { return rows_.size(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Width in terminal columns, counting each UTF-8 code point as one column.
std::size_t display_width(const std::string& s);

// Newlines and tabs in a cell would break the table: shown as spaces.
std::string one_line(std::string s);

}  // namespace spectra::cli
