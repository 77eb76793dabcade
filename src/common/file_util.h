#pragma once
// File helpers with the durability contract spelled out (LevelDB's
// SetCurrentFile): write temp, fsync, rename, fsync the directory.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spectra::fs {

Result<std::string> read_file(const std::string& path, std::size_t max_bytes = 64 << 20);

// Replaces `path` atomically with `data`, created with `mode`. Readers see the
// old content or the new one, never a mix; after return the data is durable.
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0644);

// Creates `path` and its parents if missing, with `mode` for new folders.
Status make_dirs(const std::string& path, unsigned mode = 0755);

bool exists(const std::string& path);

// Raises this process's soft limit on open files to its hard limit and
// returns the new soft limit. A gateway holds two sockets per proxied
// request in flight plus its idle upstream connections, and systemd starts
// services with a soft limit of 1024.
Result<std::uint64_t> raise_open_file_limit();

}  // namespace spectra::fs
