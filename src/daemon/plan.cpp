#include "daemon/plan.h"

#include "common/file_util.h"
#include "common/json_util.h"
#include "config/model_schema.h"
#include "config/service.h"
#include "net/network_runtime.h"
#include "store/sqlite_store.h"

namespace spectra::daemon {

Result<std::string> plan_network_change(const Options& o) {
  boost::json::value section;
  if (!o.plan_file.empty()) {
    auto text = fs::read_file(o.plan_file);
    if (!text.ok()) return text.status();
    auto v = json::parse(*text);
    if (!v.ok()) return v.status();
    section = std::move(*v);
    config::Errors errs;
    config::validate_and_normalize(config::section_schema("network"), section, "/network", errs);
    if (!errs.empty()) {
      std::string msg = "the network section is not valid:";
      for (const auto& e : errs) msg += "\n  " + e.path + ": " + e.reason;
      return invalid_argument(msg);
    }
  } else {
    auto st = store::SqliteStore::open(o.state_dir + "/config.db");
    if (!st.ok()) return st.status();
    auto box = config::SecretBox::load_or_create(o.state_dir + "/secrets.key");
    if (!box.ok()) return box.status();
    config::ConfigService svc(**st, std::move(*box));
    if (Status s = svc.open(); !s.ok()) return s;
    auto cfg = svc.config_at(svc.head());
    if (!cfg.ok()) return cfg.status();
    section = cfg->at("network");
  }
  return net::plan_network(section.as_object());
}

}  // namespace spectra::daemon
