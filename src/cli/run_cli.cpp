#include "cli/run_cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include "cli/api.h"
#include "cli/commands.h"
#include "cli/document.h"
#include "common/file_util.h"

namespace spectra::cli {
namespace {

constexpr std::size_t kMaxInputBytes = 16u << 20;

struct Args {
  std::string url;
  std::string token;
  std::string token_file;
  std::string output;
  std::string section;
  std::string file;
  bool dry_run = false;
  std::string message;
  std::vector<std::int64_t> revisions;
  int limit = 20;
  std::int64_t before = 0;
  std::int64_t target = 0;
  std::string name;
  std::string role = "viewer";
  std::string id;
};

struct Subcommands {
  CLI::App* status;
  CLI::App* get;
  CLI::App* apply;
  CLI::App* diff;
  CLI::App* history;
  CLI::App* rollback;
  CLI::App* token_create;
  CLI::App* token_list;
  CLI::App* token_revoke;
  CLI::App* ai_usage;
  CLI::App* ai_upstreams;
  CLI::App* ai_budgets;
};

Subcommands build(CLI::App& app, Args& a) {
  app.fallthrough();  // global flags may follow the subcommand: `spectra get --url ...`
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "error: " + std::string(e.what()) + "\nRun with --help for more information.\n";
  });
  app.require_subcommand(1);
  app.add_option("--url", a.url,
                 std::string("config API base URL (env SPECTRA_URL; default ") + kDefaultUrl + ")");
  auto* token = app.add_option("--token", a.token, "bearer token (env SPECTRA_TOKEN)");
  auto* token_file = app.add_option(
      "--token-file", a.token_file,
      std::string("file holding the token (default ") + kDefaultTokenFile + " if it exists)");
  token->excludes(token_file);

  auto output = [&a](CLI::App* sub, std::vector<std::string> allowed) {
    std::string help = "output format:";
    for (const auto& f : allowed) help += " " + f;
    help += " (default " + allowed.front() + ")";
    sub->add_option("-o,--output", a.output, help)->check(CLI::IsMember(allowed));
  };

  Subcommands s{};
  s.status = app.add_subcommand("status", "show the daemon's version, revision and components");
  output(s.status, {"table", "json", "yaml"});

  s.get = app.add_subcommand("get",
                             "print the config (or one section) as YAML or JSON; the YAML "
                             "output is a valid input of `apply -f`");
  s.get->add_option("section", a.section, "only this section");
  output(s.get, {"yaml", "json"});

  s.apply = app.add_subcommand(
      "apply", "replace the sections named in FILE, on top of the current head revision");
  s.apply
      ->add_option("-f,--file", a.file,
                   "YAML or JSON file ({section: value, ...} or "
                   "{\"config\": {...}}); - reads stdin")
      ->required();
  s.apply->add_flag("--dry-run", a.dry_run, "validate and show the diff without writing");
  s.apply->add_option("-m,--message", a.message, "revision message");
  output(s.apply, {"table", "json", "yaml"});

  s.diff = app.add_subcommand("diff",
                              "show what `apply -f FILE` would change, or the difference "
                              "between revisions A and B");
  s.diff->add_option("-f,--file", a.file, "compare FILE with the head revision (dry run)");
  s.diff->add_option("revisions", a.revisions, "two revision numbers: A B");
  output(s.diff, {"table", "json", "yaml"});

  s.history = app.add_subcommand("history", "list revisions, newest first");
  s.history->add_option("--limit", a.limit, "how many revisions (default 20)")
      ->check(CLI::Range(1, 1000));
  s.history->add_option("--before", a.before, "only revisions older than this one")
      ->check(CLI::PositiveNumber);
  output(s.history, {"table", "json", "yaml"});

  s.rollback =
      app.add_subcommand("rollback", "write a new revision whose content equals revision N");
  s.rollback->add_option("revision", a.target, "the revision N to go back to")
      ->required()
      ->check(CLI::NonNegativeNumber);
  s.rollback->add_option("-m,--message", a.message, "revision message");
  output(s.rollback, {"table", "json", "yaml"});

  CLI::App* tokens = app.add_subcommand("token", "manage API tokens");
  tokens->require_subcommand(1);
  s.token_create = tokens->add_subcommand("create", "create a token (its secret is shown once)");
  s.token_create->add_option("name", a.name, "a name for the token")->required();
  s.token_create->add_option("--role", a.role, "admin or viewer (default viewer)")
      ->check(CLI::IsMember({"admin", "viewer"}));
  output(s.token_create, {"table", "json", "yaml"});
  s.token_list = tokens->add_subcommand("list", "list tokens (never their secrets)");
  output(s.token_list, {"table", "json", "yaml"});
  s.token_revoke = tokens->add_subcommand("revoke", "revoke a token");
  s.token_revoke->add_option("id", a.id, "the token's id")->required();

  CLI::App* ai = app.add_subcommand("ai", "the AI gateway: metering, budgets and upstream health");
  ai->require_subcommand(1);
  s.ai_usage = ai->add_subcommand("usage", "tokens, requests, cache hits and cost per key, provider and model");
  output(s.ai_usage, {"table", "json", "yaml"});
  s.ai_upstreams = ai->add_subcommand("upstreams", "upstream endpoints and their health (outlier ejection)");
  output(s.ai_upstreams, {"table", "json", "yaml"});
  s.ai_budgets = ai->add_subcommand("budgets", "virtual keys with a spend budget: spent and left in the current period");
  output(s.ai_budgets, {"table", "json", "yaml"});
  return s;
}

OutputFormat format_of(const std::string& o, OutputFormat fallback) {
  if (o == "json") return OutputFormat::kJson;
  if (o == "yaml") return OutputFormat::kYaml;
  if (o == "table") return OutputFormat::kTable;
  return fallback;
}

int usage_error(std::ostream& err, const std::string& message) {
  err << "error: " << message << "\n";
  return kExitUsage;
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, std::min(s.size(), s.find_first_not_of(ws)));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

Result<std::string> read_stream(std::istream& in) {
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxInputBytes) {
      return invalid_argument("input is larger than " + std::to_string(kMaxInputBytes) + " bytes");
    }
  }
  if (in.bad()) return io_error("read error on stdin");
  return text;
}

// Reads and checks `-f FILE` before anything is sent.
Result<ApplyDocument> load_apply_file(const std::string& path, const CliEnv& env) {
  Result<std::string> text = path == "-"
                                 ? (env.stdin_stream ? read_stream(*env.stdin_stream)
                                                     : Result<std::string>(io_error("no stdin")))
                                 : env.read_file(path);
  const std::string name = path == "-" ? std::string("stdin") : path;
  if (!text.ok()) return invalid_argument("cannot read " + name + ": " + text.status().message());
  auto doc = parse_document(*text, format_for_path(path));
  if (!doc.ok()) return invalid_argument(name + ": " + doc.status().message());
  auto apply = to_apply_document(std::move(doc).value());
  if (!apply.ok()) return invalid_argument(name + ": " + apply.status().message());
  return apply;
}

std::optional<std::string> nonempty_env(const CliEnv& env, const std::string& name) {
  auto v = env.getenv ? env.getenv(name) : std::nullopt;
  if (v && v->empty()) return std::nullopt;
  return v;
}

// --token, then --token-file, then SPECTRA_TOKEN, then the default file.
Status resolve_token(const Args& a, const CliEnv& env, std::ostream& err, SessionOptions& o) {
  auto from_file = [&](const std::string& path, TokenSource source) -> Status {
    auto text = env.read_file(path);
    if (!text.ok())
      return invalid_argument("cannot read token file " + path + ": " + text.status().message());
    std::string token = trim(std::move(text).value());
    if (token.empty()) return invalid_argument("token file " + path + " is empty");
    o.token = std::move(token);
    o.token_source = source;
    o.token_file = path;
    return {};
  };
  if (!a.token.empty()) {
    o.token = a.token;
    o.token_source = TokenSource::kFlag;
    return {};
  }
  if (!a.token_file.empty()) return from_file(a.token_file, TokenSource::kTokenFile);
  if (auto t = nonempty_env(env, "SPECTRA_TOKEN")) {
    o.token = trim(*t);
    o.token_source = TokenSource::kEnv;
    return {};
  }
  if (env.file_exists(kDefaultTokenFile)) {
    // Present but unreadable (another user's 0600 file): go on without a
    // token; a 401 will then explain how to pass one.
    if (Status s = from_file(kDefaultTokenFile, TokenSource::kDefaultFile); !s.ok()) {
      err << "warning: " << s.message() << "; continuing without a token\n";
    }
  }
  return {};
}

}  // namespace

CliEnv CliEnv::system() {
  CliEnv env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  env.file_exists = [](const std::string& path) { return fs::exists(path); };
  env.read_file = [](const std::string& path) { return fs::read_file(path, kMaxInputBytes); };
  env.stdin_stream = &std::cin;
  env.make_transport = make_http_transport;
  return env;
}

int run_cli(std::vector<std::string> args, std::ostream& out, std::ostream& err) {
  return run_cli(std::move(args), out, err, CliEnv::system());
}

int run_cli(std::vector<std::string> args, std::ostream& out, std::ostream& err,
            const CliEnv& env) {
  CLI::App app{
      "Operator CLI for the Cloud Spectra Gateway config API (spectrad).\n"
      "Exit codes: 0 ok, 1 refused by the server, 2 usage, 3 cannot connect, 4 auth.",
      "spectra"};
  Args a;
  Subcommands s = build(app, a);
  std::reverse(args.begin(), args.end());  // CLI11 consumes a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
  }

  // Everything that can be checked locally is checked before connecting.
  for (const char* name : {"--url", "--token", "--token-file"}) {
    const CLI::Option* o = app.get_option(name);
    if (o->count() > 0 && o->as<std::string>().empty()) {
      return usage_error(err, std::string(name) + " is empty");
    }
  }
  std::optional<ApplyDocument> doc;
  if (s.diff->parsed()) {
    const bool by_file = !a.file.empty();
    if (by_file == !a.revisions.empty() || (!by_file && a.revisions.size() != 2)) {
      return usage_error(err, "diff takes either -f FILE or two revisions A B");
    }
  }
  if (s.apply->parsed() || (s.diff->parsed() && !a.file.empty())) {
    auto loaded = load_apply_file(a.file, env);
    if (!loaded.ok()) return usage_error(err, loaded.status().message());
    doc = std::move(loaded).value();
  }

  SessionOptions opts;
  if (!a.url.empty()) {
    opts.url = a.url;
  } else {
    opts.url = nonempty_env(env, "SPECTRA_URL").value_or(kDefaultUrl);
  }
  if (Status st = resolve_token(a, env, err, opts); !st.ok()) return usage_error(err, st.message());
  auto transport = env.make_transport(opts.url);
  if (!transport.ok()) {
    return usage_error(err,
                       "bad config API URL '" + opts.url + "': " + transport.status().message());
  }
  ApiSession session(**transport, opts);
  CommandContext c{session, out, err};
  std::optional<std::string> message;
  if (!a.message.empty()) message = a.message;
  const OutputFormat table_default = format_of(a.output, OutputFormat::kTable);

  if (s.status->parsed()) return cmd_status(c, table_default);
  if (s.get->parsed()) {
    std::optional<std::string> section;
    if (!a.section.empty()) section = a.section;
    return cmd_get(c, section, format_of(a.output, OutputFormat::kYaml));
  }
  if (s.apply->parsed()) {
    return cmd_apply(c, *doc, message, a.dry_run ? ApplyMode::kDryRun : ApplyMode::kApply,
                     table_default);
  }
  if (s.diff->parsed()) {
    if (doc) return cmd_apply(c, *doc, std::nullopt, ApplyMode::kDiff, table_default);
    return cmd_diff_revisions(c, a.revisions[0], a.revisions[1], table_default);
  }
  if (s.history->parsed()) {
    std::optional<std::int64_t> before;
    if (a.before > 0) before = a.before;
    return cmd_history(c, a.limit, before, table_default);
  }
  if (s.rollback->parsed()) return cmd_rollback(c, a.target, message, table_default);
  if (s.token_create->parsed()) return cmd_token_create(c, a.name, a.role, table_default);
  if (s.token_list->parsed()) return cmd_token_list(c, table_default);
  if (s.token_revoke->parsed()) return cmd_token_revoke(c, a.id);
  if (s.ai_usage->parsed()) return cmd_ai_usage(c, table_default);
  if (s.ai_upstreams->parsed()) return cmd_ai_upstreams(c, table_default);
  if (s.ai_budgets->parsed()) return cmd_ai_budgets(c, table_default);
  assert(false && "CLI11 accepted a subcommand that has no handler");
  return kExitUsage;
}

}  // namespace spectra::cli
