#pragma once
// The subcommands, one function each. They talk to the config API only
// through ApiSession, print results to `out` and errors to `err`, and return
// the process exit code (see ExitCode). Argument parsing lives in run_cli.cpp.
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "cli/api.h"
#include "cli/document.h"

namespace spectra::cli {

struct CommandContext {
  ApiSession& api;
  std::ostream& out;
  std::ostream& err;
};

// "table" (human), "json" (the raw API answer) or "yaml".
enum class OutputFormat { kTable, kJson, kYaml };

enum class ApplyMode {
  kApply,   // write a new revision
  kDryRun,  // `apply --dry-run`: validate, show what would change
  kDiff,    // `diff -f`: like kDryRun, prints only the diff
};

int cmd_status(CommandContext& c, OutputFormat format);
// Without a section: the whole config as {section: value, ...}; with one:
// {section: value}. Either way the YAML is a valid `apply -f` input.
int cmd_get(CommandContext& c, const std::optional<std::string>& section, OutputFormat format);
// `message` (from -m) overrides a message inside the document. A json/yaml
// `format` prints the raw API answer instead of the human summary.
int cmd_apply(CommandContext& c, const ApplyDocument& doc,
              const std::optional<std::string>& message, ApplyMode mode,
              OutputFormat format = OutputFormat::kTable);
int cmd_diff_revisions(CommandContext& c, std::int64_t from, std::int64_t to, OutputFormat format);
int cmd_history(CommandContext& c, int limit, std::optional<std::int64_t> before,
                OutputFormat format);
int cmd_rollback(CommandContext& c, std::int64_t target, const std::optional<std::string>& message,
                 OutputFormat format = OutputFormat::kTable);
int cmd_token_create(CommandContext& c, const std::string& name, const std::string& role,
                     OutputFormat format);
int cmd_token_list(CommandContext& c, OutputFormat format);
int cmd_token_revoke(CommandContext& c, const std::string& id);
// The AI gateway's token metering (per key, provider and model) and its
// upstream endpoints' health.
int cmd_ai_usage(CommandContext& c, OutputFormat format);
int cmd_ai_upstreams(CommandContext& c, OutputFormat format);
int cmd_ai_budgets(CommandContext& c, OutputFormat format);

// "3d 4h 5m 6s"; leading zero units are left out; "0s" for zero.
std::string format_duration(std::int64_t seconds);

}  // namespace spectra::cli
