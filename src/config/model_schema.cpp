#include "config/model_schema.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cassert>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "common/json_util.h"
#include "common/redis_url.h"

namespace spectra::config {
namespace {

// --- shared pieces -------------------------------------------------------

NodePtr name_node() { return str().format(Format::kName).max_length(63).desc("Identifier: lower-case letters, digits, '-' and '_'"); }
NodePtr port_node() { return integer(1, 65535).desc("TCP/UDP port"); }
NodePtr cidr_list(std::string d) { return array(str().format(Format::kCidr)).max_items(256).desc(std::move(d)); }
NodePtr protocol_node() { return str().one_of({"tcp", "udp"}).desc("Transport protocol"); }

// --- network --------------------------------------------------------------

NodePtr snat_node() {
  return object()
      .ref("SourceNat")
      .desc("Source NAT for private subnets leaving through the egress interface")
      .field("enabled", boolean(), false)
      .field("mode", str().one_of({"masquerade", "snat"}).desc("masquerade uses the interface address; snat uses to_address"), "masquerade")
      .field("to_address", str().format(Format::kIpv4).desc("Source address for mode snat"))
      .field("source_cidrs", cidr_list("Private CIDRs whose traffic is translated"))
      .check([](const bj::value& v, const std::string& path, Errors& e) {
        const auto& o = v.get_object();
        if (o.at("mode").get_string() == "snat" && o.at("to_address").get_string().empty()) {
          e.push_back({json::pointer_join(path, "to_address"), "is required when mode is snat"});
        }
        if (o.at("enabled").get_bool() && o.at("source_cidrs").get_array().empty()) {
          e.push_back({json::pointer_join(path, "source_cidrs"), "must list at least one CIDR when source NAT is enabled"});
        }
      });
}

NodePtr port_forward_node() {
  return object()
      .ref("PortForward")
      .desc("Inbound destination NAT from a public port to a private target")
      .required("name", name_node())
      .field("protocol", protocol_node(), "tcp")
      .required("listen_port", port_node())
      .required("target_address", str().format(Format::kIpv4).desc("Private target address"))
      .required("target_port", port_node())
      .field("allow_cidrs", cidr_list("Sources allowed to use this forward; empty allows all"));
}

// A health check's timeout must end before its next check is due.
void timeout_below_interval(const bj::value& v, const std::string& path, Errors& e) {
  const auto& o = v.get_object();
  if (o.at("timeout_ms").as_int64() >= o.at("interval_ms").as_int64()) {
    e.push_back({json::pointer_join(path, "timeout_ms"), "must be less than interval_ms"});
  }
}

NodePtr health_check_node() {
  return object()
      .ref("HealthCheck")
      .desc("Active TCP health check of each backend")
      .field("enabled", boolean(), true)
      .field("interval_ms", integer(100, 300000), 2000)
      .field("timeout_ms", integer(50, 60000), 1000)
      .field("healthy_threshold", integer(1, 10), 2)
      .field("unhealthy_threshold", integer(1, 10), 2)
      .field("port", integer(0, 65535).desc("Port to probe; 0 means the backend's port"), 0)
      .check(timeout_below_interval);
}

NodePtr load_balancer_node() {
  NodePtr backend = object()
                        .ref("Backend")
                        .required("address", str().format(Format::kIpv4))
                        .required("port", port_node())
                        .field("weight", integer(1, 1000), 1);
  return object()
      .ref("LoadBalancer")
      .desc("L4 load balancer: a virtual address:port spread over backends")
      .required("name", name_node())
      .field("protocol", protocol_node(), "tcp")
      .required("listen_address", str().format(Format::kIpv4))
      .required("listen_port", port_node())
      .field("scheduler", str().one_of({"round_robin", "weighted", "source_hash", "random"}), "round_robin")
      .field("backend_source", str().one_of({"static", "nlb_target_group"}), "static")
      .field("target_group_arn", str().format(Format::kArn).desc("For backend_source nlb_target_group"))
      .field("backends", array(backend).max_items(1024))
      .field("health_check", health_check_node())
      .check([](const bj::value& v, const std::string& path, Errors& e) {
        const auto& o = v.get_object();
        bool tg = o.at("backend_source").get_string() == "nlb_target_group";
        if (tg && o.at("target_group_arn").get_string().empty()) {
          e.push_back({json::pointer_join(path, "target_group_arn"), "is required when backend_source is nlb_target_group"});
        }
        if (!tg && o.at("backends").get_array().empty()) {
          e.push_back({json::pointer_join(path, "backends"), "must list at least one backend when backend_source is static"});
        }
      });
}

NodePtr firewall_node() {
  NodePtr rule = object()
                     .ref("FirewallRule")
                     .required("name", name_node())
                     .field("direction", str().one_of({"input", "forward", "output"}), "forward")
                     .required("action", str().one_of({"allow", "deny"}))
                     .field("protocol", str().one_of({"any", "tcp", "udp", "icmp"}), "any")
                     .field("source_cidrs", cidr_list("Empty matches any source"))
                     .field("destination_cidrs", cidr_list("Empty matches any destination"))
                     .field("ports", array(str().format(Format::kPortRange)).max_items(64).desc("Destination ports or ranges; tcp/udp only"))
                     .check([](const bj::value& v, const std::string& path, Errors& e) {
                       const auto& o = v.get_object();
                       auto proto = o.at("protocol").get_string();
                       if (!o.at("ports").get_array().empty() && proto != "tcp" && proto != "udp") {
                         e.push_back({json::pointer_join(path, "ports"), "ports need protocol tcp or udp"});
                       }
                     });
  return object()
      .ref("Firewall")
      .desc("Ordered allow/deny rules; first match wins, then the default policy")
      .field("enabled", boolean(), false)
      .field("default_input", str().one_of({"accept", "drop"}), "accept")
      .field("default_forward", str().one_of({"accept", "drop"}), "accept")
      .field("rules", array(rule).max_items(20000).unique("name"));
}

NodePtr network_node() {
  return object()
      .ref("NetworkSection")
      .desc("Network Gateway tier: NAT, port forwarding, firewall and L4 load balancing")
      .field("egress_interface", str().format(Format::kInterface), "eth0")
      .field("l4_backend", str().one_of({"auto", "ipvs", "nftables"}).desc("auto picks IPVS when the kernel has it"), "auto")
      .field("conntrack_max", integer(0, 16777216).desc("0 keeps the kernel default"), 0)
      .field("snat", snat_node())
      .field("port_forwards", array(port_forward_node()).max_items(10000).unique("name"))
      .field("load_balancers", array(load_balancer_node()).max_items(1000).unique("name"))
      .field("firewall", firewall_node())
      .check([](const bj::value& v, const std::string& path, Errors& e) {
        // Two forwards (or a forward and a balancer) on one protocol/port collide.
        std::map<std::string, std::string> used;
        auto claim = [&](const bj::object& o, const std::string& where) {
          std::string k = std::string(o.at("protocol").get_string()) + "/" +
                          std::to_string(o.at("listen_port").as_int64());
          if (auto [it, fresh] = used.emplace(k, where); !fresh) {
            e.push_back({json::pointer_join(where, "listen_port"), "collides with " + it->second + " on " + k});
          }
        };
        const auto& o = v.get_object();
        const auto& pf = o.at("port_forwards").get_array();
        for (std::size_t i = 0; i < pf.size(); ++i) {
          claim(pf[i].get_object(), json::pointer_join(json::pointer_join(path, "port_forwards"), i));
        }
        const auto& lb = o.at("load_balancers").get_array();
        for (std::size_t i = 0; i < lb.size(); ++i) {
          claim(lb[i].get_object(), json::pointer_join(json::pointer_join(path, "load_balancers"), i));
        }
      });
}

// --- proxy, ips, tls --------------------------------------------------------

NodePtr proxy_node() {
  NodePtr fwd = object()
                    .ref("ForwardProxy")
                    .field("enabled", boolean(), false)
                    .field("listen_port", port_node(), 3128)
                    .field("allowed_client_cidrs", cidr_list("Clients allowed to use the proxy"))
                    .field("cache_memory_mb", integer(0, 65536), 256)
                    .field("cache_disk_mb", integer(0, 1048576), 1024);
  NodePtr filter = object()
                       .ref("UrlFiltering")
                       .field("mode", str().one_of({"off", "allowlist", "denylist"}), "off")
                       .field("domains", array(str().format(Format::kDomain)).max_items(100000))
                       .field("url_patterns", array(str().max_length(2048)).max_items(10000).desc("Regular expressions matched against the URL"));
  return object()
      .ref("ProxySection")
      .desc("Caching forward proxy (Squid) and domain/URL filtering")
      .field("forward_proxy", fwd)
      .field("filtering", filter);
}

NodePtr ips_node() {
  return object()
      .ref("IpsSection")
      .desc("Inline Suricata IDS/IPS over NFQUEUE")
      .field("enabled", boolean(), false)
      .field("mode", str().one_of({"ids", "ips"}).desc("ids alerts only; ips drops matching traffic"), "ids")
      .field("queue_num", integer(0, 65535), 0)
      .field("fail_open", boolean().desc("Let traffic pass when Suricata is down"), true)
      .field("home_net", cidr_list("HOME_NET for the rules"))
      .field("rule_files", array(str().max_length(512)).max_items(256));
}

NodePtr tls_node() {
  NodePtr dash = object()
                     .ref("DashboardTls")
                     .field("enabled", boolean(), true)
                     .field("listen_port", port_node(), 443)
                     .field("redirect_http", boolean().desc("Redirect port 80 to HTTPS"), true)
                     .field("certificate_source", str().one_of({"self_signed", "acm", "file"}), "self_signed")
                     .field("acm_certificate_arn", str().format(Format::kArn))
                     .field("certificate_file", str().max_length(1024))
                     .field("key_file", str().max_length(1024))
                     .field("client_cidrs", cidr_list("Who may reach the dashboard; empty allows all"));
  NodePtr term = object()
                     .ref("TlsTermination")
                     .required("name", name_node())
                     .required("listen_port", port_node())
                     .field("mode", str().one_of({"http", "tcp"}), "http")
                     .field("certificate_source", str().one_of({"acm", "file"}), "acm")
                     .field("acm_certificate_arn", str().format(Format::kArn))
                     .field("certificate_file", str().max_length(1024))
                     .field("key_file", str().max_length(1024))
                     .field("backends", array(str().format(Format::kHostname).max_length(300)).max_items(256).desc("host or host:port is not allowed here; use backend_port"))
                     .required("backend_port", port_node());
  return object()
      .ref("TlsSection")
      .desc("TLS termination with HAProxy: the dashboard and customer services")
      .field("dashboard", dash)
      .field("terminations", array(term).max_items(256).unique("name"));
}

// --- ai --------------------------------------------------------------------

NodePtr ai_node() {
  NodePtr health_check =
      object()
          .ref("AiHealthCheck")
          .desc("vllm: active health checks of each endpoint; an ejected endpoint returns only when a check passes")
          .field("path", str().max_length(1024).desc("GET on each endpoint's origin, e.g. /health (vLLM); empty: no active checks"), "")
          .field("interval_ms", integer(100, 3600000), 5000)
          .field("timeout_ms", integer(50, 60000).desc("Connect, TLS and the whole answer"), 1000)
          .check(timeout_below_interval);
  NodePtr base_model =
      object()
          .ref("AiBaseModel")
          .desc("A model id that names no model, and the model it runs")
          .required("model", str().max_length(256).desc("The id routes use, e.g. a Bedrock application inference profile's ARN"))
          .required("base_model", str().max_length(256).desc("The model it runs, e.g. anthropic.claude-opus-4-7 (Bedrock) or claude-opus-4-7"));
  NodePtr betas =
      object()
          .ref("AiAnthropicBetas")
          .desc("bedrock: the anthropic-beta flags of Messages clients (Claude Code) that go to a Claude model as additionalModelRequestFields.anthropic_beta; other flags are not sent")
          .required("model", str().max_length(256).desc("A model id routes use, or the base model of base_models entries (then it covers them)"))
          .required("betas", array(str().format(Format::kName)).max_items(64).desc("Flags this model takes on Bedrock, e.g. interleaved-thinking-2025-05-14, context-1m-2025-08-07 (Bedrock refuses the whole request over a flag the model does not take)"));
  NodePtr thinking_kwarg =
      object()
          .ref("AiThinkingKwarg")
          .desc("vllm: a model whose chat template turns thinking on and off with a boolean keyword")
          .required("model", str().max_length(256).desc("A model id routes use, or the base model of base_models entries (then it covers them)"))
          .required("kwarg", str().format(Format::kName).desc("The chat_template_kwargs keyword, e.g. enable_thinking (Qwen3) or thinking (DeepSeek V3.1, Granite)"));
  NodePtr quota =
      object()
          .ref("AiQuota")
          .desc("The provider account's own limit for a model (its service quota): a request over it goes to the route's next target instead of drawing a 429 from the provider, or is refused with 429 and Retry-After when no target is left")
          .required("model", str().max_length(256).desc("A model id routes use, or the base model of base_models entries (then they count against one quota)"))
          .field("rpm", integer(0, 1000000000).desc("Requests a minute; 0: no limit"), 0)
          .field("tpm", integer(0, 1000000000000).desc("Tokens a minute, prompt and completion, counted as answers report them; 0: no limit"), 0);
  NodePtr guardrail_price =
      object()
          .ref("AiGuardrailPrice")
          .required("policy", str().one_of({"contentPolicy", "topicPolicy", "wordPolicy", "sensitiveInformationPolicy",
                                             "contextualGroundingPolicy", "automatedReasoningPolicy", "contentPolicyImage"})
                                  .desc("A policy as the guardrail trace's usage names its units (contentPolicyUnits: contentPolicy)"))
          .required("per_1k_units_usd", number(0, 1e6).desc("USD per 1,000 text units of the policy (for contentPolicyImage: per 1,000 images)"));
  NodePtr guardrail =
      object()
          .ref("AiGuardrail")
          .desc("bedrock: an Amazon Bedrock guardrail every chat call goes through (clients cannot turn it off)")
          .field("id", str().max_length(2048).desc("The guardrail's id (lower-case letters and digits) or ARN; empty: none"), "")
          .field("version", str().max_length(8).desc("DRAFT or a version number"), "")
          .field("stream_mode", str().one_of({"sync", "async"}).desc("Streams: sync holds each chunk until the guardrail has seen it; async sends it at once and checks it alongside"), "sync")
          .field("prices", array(guardrail_price).max_items(16).unique("policy").desc("What the guardrail's text units cost, by policy, added to each call's cost (audit cost_usd, metering, budgets); policies not listed cost nothing"));
  NodePtr provider = object()
                         .ref("AiProvider")
                         .required("name", name_node())
                         .required("kind", str().one_of({"openai", "anthropic", "bedrock", "vllm"}))
                         .field("base_url", str().format(Format::kUrl).max_length(2048))
                         .field("api_key", str().secret().max_length(4096).desc("Write-only; reads return ***"))
                         .field("region", str().max_length(32).desc("AWS region for bedrock"))
                         .field("endpoints", array(str().format(Format::kUrl).max_length(2048)).max_items(64).desc("vllm: OpenAI-compatible endpoints, load-balanced"))
                         .field("max_concurrency", integer(0, 100000).desc("vllm: requests in flight per model; 0 = unlimited"), 0)
                         .field("timeout_ms", integer(100, 3600000).desc("Until the upstream's response header (a stream's first byte)"), 120000)
                         .field("connect_timeout_ms", integer(50, 60000).desc("TCP connect and TLS handshake; an in-account endpoint that does not answer a SYN costs each request this long before failing over"), 5000)
                         .field("ca_file", str().max_length(1024).desc("https upstreams: a PEM file of the CAs to trust instead of the system store (an endpoint behind a private CA)"))
                         .field("base_models", array(base_model).max_items(1024).unique("model").desc("Models served under an id that names no model (a Bedrock application inference profile, a deployment's own name): what each runs decides Claude's thinking and prompt caching, Nova 2's reasoning, Bedrock's CountTokens, and the price when the id has none"))
                         .field("anthropic_betas", array(betas).max_items(1024).unique("model").desc("bedrock: per Claude model, the anthropic-beta flags a Messages client's request carries there; none listed: none carried"))
                         .field("thinking_kwargs", array(thinking_kwarg).max_items(1024).unique("model").desc("vllm: per model, the chat-template keyword a request's thinking (on, off) is sent as; unlisted models get only reasoning_effort"))
                         .field("guardrail", guardrail)
                         .field("quotas", array(quota).max_items(1024).unique("model").desc("The account's limits per model (requests and tokens a minute, across the fleet with the Redis backend): targets at theirs are passed over"))
                         .field("health_check", health_check)
                         .field("replica_affinity", str().one_of({"none", "conversation"}).desc("vllm with several endpoints: none spreads calls round-robin; conversation sends every turn of a chat conversation (same end user, system prompt and first user message) to the same replica, so vLLM's prefix cache holds its earlier turns (another replica only when that one is down)"), "none");
  NodePtr overflow = object()
                         .ref("OverflowPolicy")
                         .field("policy", str().one_of({"queue", "spill", "reject"}), "reject")
                         .field("max_queue", integer(0, 100000), 64)
                         .field("max_wait_ms", integer(0, 600000), 30000)
                         .field("spill_to", str().max_length(256).desc("provider/model used by spill"));
  NodePtr share = object()
                      .ref("AiRouteShare")
                      .desc("A target sharing the route's load")
                      .required("target", str().max_length(256).desc("provider/model"))
                      .field("weight", integer(1, 1000).desc("Its share of the requests, against the others' weights"), 1);
  NodePtr route = object()
                      .ref("AiRoute")
                      .required("alias", str().max_length(256).desc("Model name clients send"))
                      .required("target", str().max_length(256).desc("provider/model"))
                      .field("weight", integer(1, 1000).desc("With balance: target's share of the requests"), 1)
                      .field("balance", array(share).max_items(8).unique("target").desc("Targets sharing the load with target by weight (smooth weighted round-robin); a request that fails before its first token tries the others, then the fallbacks. Targets naming the same model share cache entries"))
                      .field("fallbacks", array(str().max_length(256)).max_items(8))
                      .field("overflow", overflow);
  NodePtr vkey = object()
                     .ref("VirtualKey")
                     .required("name", name_node())
                     .field("key", str().secret().max_length(256).desc("Write-only; reads return ***"))
                     .field("allowed_models", array(str().max_length(256)).max_items(256).desc("Model names (aliases, provider/model) the key may use; an entry ending in * allows every name starting with the rest, e.g. aws/anthropic.*. Empty allows all"))
                     .field("rpm", integer(0, 10000000).desc("Requests per minute; 0 = unlimited"), 0)
                     .field("tpm", integer(0, 1000000000).desc("Tokens per minute; 0 = unlimited"), 0)
                     .field("end_user_rpm", integer(0, 10000000).desc("Requests per minute for each end user the key's requests name (safety_identifier, user, metadata.user_id), across the fleet with the Redis cache backend; requests naming none are not held to it; 0 = unlimited"), 0)
                     .field("end_user_tpm", integer(0, 1000000000).desc("Tokens per minute for each end user, as end_user_rpm; 0 = unlimited"), 0)
                     .field("budget_usd", number(0, 1e9).desc("Spend budget; 0 = unlimited"), 0.0)
                     .field("budget_period", str().one_of({"total", "daily", "weekly", "monthly"}).desc("What budget_usd covers: the key's life, or each UTC calendar day, week (from Monday) or month"), "total")
                     .field("cache_namespace", str().format(Format::kName))
                     .field("expires_at", str().format(Format::kDateTime).desc("RFC 3339; after it the key no longer authenticates (401). Empty: never"))
                     .field("local_only", boolean().desc("The key's prompts stay in the account: only in-account (vllm) models, no spill or fallback to a remote model, no remote embedder"), false)
                     .check([](const bj::value& v, const std::string& path, Errors& e) {
                       const auto& models = v.at("allowed_models").get_array();
                       for (std::size_t i = 0; i < models.size(); ++i) {
                         const std::string_view m = models[i].get_string();
                         const auto star = m.find('*');
                         if (m.empty() || (star != std::string_view::npos && star + 1 != m.size())) {
                           e.push_back({json::pointer_join(json::pointer_join(path, "allowed_models"), i),
                                        "must be a model name, or a prefix of one followed by * (e.g. aws/anthropic.*)"});
                         }
                       }
                     });
  NodePtr cache = object()
                      .ref("AiCache")
                      .field("exact_enabled", boolean(), true)
                      .field("semantic_enabled", boolean(), false)
                      .field("ttl_seconds", integer(1, 31536000), 3600)
                      .field("max_bytes", integer(0, 1LL << 40), 256LL << 20)
                      .field("semantic_threshold", number(0.5, 1.0).desc("Cosine similarity for a semantic hit; 0.998 from docs/semantic-cache-threshold.md"), 0.998)
                      .field("embedder", str().max_length(256).desc("builtin (in the gateway: prompts stay in the account) or provider/model of a configured provider's embeddings model (the last user turn is sent to it)"), "builtin")
                      .field("backend", str().one_of({"memory", "redis"}).desc("memory: this instance; redis: shared by a fleet"), "memory")
                      .field("redis_url", str().max_length(1024).desc("redis://host[:port][/db] or rediss:// (TLS); no credentials here"))
                      .field("redis_username", str().max_length(256).desc("Redis ACL user; empty: AUTH with the password only"))
                      .field("redis_password", str().secret().max_length(1024).desc("Write-only; reads return ***"))
                      .field("redis_timeout_ms", integer(1, 60000).desc("Bound on each cache operation; a slower Redis reads as a miss"), 50)
                      .field("redis_fleet_limits", boolean().desc("With backend redis: virtual keys' RPM, TPM and budget count across every gateway sharing it"), true);
  NodePtr audit = object()
                      .ref("AiAudit")
                      .field("enabled", boolean(), true)
                      .field("path", str().max_length(1024), "audit/ai-audit.jsonl")
                      .field("max_file_bytes", integer(1 << 16, 1LL << 40), 100LL << 20)
                      .field("keep_files", integer(1, 10000), 10)
                      .field("log_bodies", boolean(), false);
  NodePtr health = object()
                       .ref("AiUpstreamHealth")
                       .desc("Outlier ejection: an upstream endpoint that fails max_failures times in a row is skipped for a cool-down while other targets remain")
                       .field("max_failures", integer(0, 1000).desc("Failures in a row (no connection, timeout, 5xx, 429) that eject; 0 turns ejection off"), 3)
                       .field("ejection_ms", integer(100, 3600000).desc("First cool-down; doubles with each ejection in a row"), 5000)
                       .field("max_ejection_ms", integer(100, 86400000).desc("Longest cool-down"), 60000);
  NodePtr responses = object()
                          .ref("AiResponses")
                          .desc("Responses API answers the gateway keeps itself: those made in translation (Anthropic, Bedrock models) with store")
                          .field("kept_max_bytes", integer(0, 1LL << 40).desc("Memory for them on each gateway (least recently used go first; journaled in the state directory). With the Redis backend they are kept in Redis too"), 64LL << 20);
  NodePtr price = object()
                      .ref("ModelPrice")
                      .required("model", str().max_length(256))
                      .field("input_per_mtok_usd", number(0, 1e6), 0.0)
                      .field("output_per_mtok_usd", number(0, 1e6), 0.0)
                      .field("cached_input_per_mtok_usd",
                             number(0, 1e6).desc("Prompt tokens read from the provider's prompt cache (default: the input price)"))
                      .field("cache_write_per_mtok_usd",
                             number(0, 1e6).desc("Prompt tokens written to the provider's prompt cache (default: the input price)"));
  return object()
      .ref("AiSection")
      .desc("AI Gateway: OpenAI-compatible proxy, caches, keys, metering and audit")
      .field("enabled", boolean(), false)
      .field("listen_port", port_node(), 8090)
      .field("providers", array(provider).max_items(64).unique("name"))
      .field("routes", array(route).max_items(1024).unique("alias"))
      .field("virtual_keys", array(vkey).max_items(10000).unique("name"))
      .field("cache", cache)
      .field("audit", audit)
      .field("upstream_health", health)
      .field("responses", responses)
      .field("prices", array(price).max_items(1024).unique("model"))
      .check([](const bj::value& v, const std::string& path, Errors& e) {
        const auto& o = v.get_object();
        std::set<std::string> providers;
        for (const auto& p : o.at("providers").get_array()) {
          providers.insert(std::string(p.at("name").get_string()));
        }
        auto check_target = [&](std::string_view t, const std::string& where) {
          auto slash = t.find('/');
          if (slash == std::string_view::npos || slash == 0 || slash + 1 == t.size()) {
            e.push_back({where, "must be provider/model"});
          } else if (!providers.count(std::string(t.substr(0, slash)))) {
            e.push_back({where, "names provider '" + std::string(t.substr(0, slash)) + "', which is not configured"});
          }
        };
        const auto& routes = o.at("routes").get_array();
        for (std::size_t i = 0; i < routes.size(); ++i) {
          std::string rp = json::pointer_join(json::pointer_join(path, "routes"), i);
          check_target(routes[i].at("target").get_string(), json::pointer_join(rp, "target"));
          const auto& shares = routes[i].at("balance").get_array();
          for (std::size_t j = 0; j < shares.size(); ++j) {
            const std::string where = json::pointer_join(json::pointer_join(json::pointer_join(rp, "balance"), j), "target");
            check_target(shares[j].at("target").get_string(), where);
            if (shares[j].at("target") == routes[i].at("target")) e.push_back({where, "is the route's target already"});
          }
          const auto& fb = routes[i].at("fallbacks").get_array();
          for (std::size_t j = 0; j < fb.size(); ++j) {
            check_target(fb[j].get_string(), json::pointer_join(json::pointer_join(rp, "fallbacks"), j));
          }
          const auto& ov = routes[i].at("overflow").get_object();
          if (ov.at("policy").get_string() == "spill") {
            std::string sp = json::pointer_join(json::pointer_join(rp, "overflow"), "spill_to");
            if (ov.at("spill_to").get_string().empty()) e.push_back({sp, "is required when policy is spill"});
            else check_target(ov.at("spill_to").get_string(), sp);
          }
        }
        const auto& provs = o.at("providers").get_array();
        for (std::size_t i = 0; i < provs.size(); ++i) {
          const auto& p = provs[i].get_object();
          std::string pp = json::pointer_join(json::pointer_join(path, "providers"), i);
          auto kind = p.at("kind").get_string();
          if (kind == "vllm" && p.at("endpoints").get_array().empty()) {
            e.push_back({json::pointer_join(pp, "endpoints"), "must list at least one endpoint for kind vllm"});
          }
          if (kind == "bedrock" && p.at("region").get_string().empty()) {
            e.push_back({json::pointer_join(pp, "region"), "is required for kind bedrock"});
          }
          if (const auto& path = p.at("health_check").at("path").get_string(); !path.empty()) {
            const std::string where = json::pointer_join(json::pointer_join(pp, "health_check"), "path");
            if (path.front() != '/') e.push_back({where, "must start with /"});
            if (kind != "vllm") {
              e.push_back({where, "active health checks are for kind vllm (in-account endpoints), not " +
                                      std::string(kind)});
            }
          }
          // Anthropic takes every flag of its own API as sent; OpenAI-compatible
          // upstreams take none.
          const auto* betas = p.if_contains("anthropic_betas");
          if (kind != "bedrock" && betas && betas->is_array() && !betas->get_array().empty()) {
            e.push_back({json::pointer_join(pp, "anthropic_betas"),
                         "lists flags for Claude on Bedrock (kind bedrock), not " + std::string(kind)});
          }
          if (const auto& guard = p.at("guardrail").get_object(); !guard.at("id").get_string().empty()) {
            const std::string where = json::pointer_join(pp, "guardrail");
            const std::string_view id = guard.at("id").get_string(), version = guard.at("version").get_string();
            const bool plain_id = std::all_of(id.begin(), id.end(), [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); });
            if (!plain_id && !(id.starts_with("arn:") && id.find(":guardrail/") != std::string_view::npos)) {
              e.push_back({json::pointer_join(where, "id"), "must be a guardrail id (lower-case letters and digits) or a guardrail's ARN"});
            }
            const bool number = !version.empty() && version.front() != '0' &&
                                std::all_of(version.begin(), version.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
            if (version != "DRAFT" && !number) e.push_back({json::pointer_join(where, "version"), "must be DRAFT or a version number"});
            if (kind != "bedrock") e.push_back({where, "is an Amazon Bedrock guardrail (kind bedrock), not " + std::string(kind)});
          }
          for (std::size_t q = 0; q < p.at("quotas").get_array().size(); ++q) {
            const auto& quota = p.at("quotas").get_array()[q].get_object();
            if (quota.at("rpm").to_number<std::int64_t>() == 0 && quota.at("tpm").to_number<std::int64_t>() == 0) {
              e.push_back({json::pointer_join(json::pointer_join(pp, "quotas"), std::to_string(q)), "sets neither rpm nor tpm"});
            }
          }
          if (kind != "vllm" && p.at("replica_affinity").get_string() != "none") {
            e.push_back({json::pointer_join(pp, "replica_affinity"), "chooses among vLLM replicas (kind vllm), not " + std::string(kind)});
          }
          const auto* kwargs = p.if_contains("thinking_kwargs");
          if (kind != "vllm" && kwargs && kwargs->is_array() && !kwargs->get_array().empty()) {
            e.push_back({json::pointer_join(pp, "thinking_kwargs"),
                         "names chat-template keywords of vLLM models (kind vllm), not " + std::string(kind)});
          }
          // A private CA only makes sense for https, and the daemon's working
          // directory is no place to resolve a relative path against.
          const auto* ca = p.if_contains("ca_file");
          if (ca && ca->is_string() && !ca->get_string().empty()) {
            const std::string where = json::pointer_join(pp, "ca_file");
            if (ca->get_string().front() != '/') e.push_back({where, "must be an absolute path"});
            std::vector<std::string_view> urls;
            if (!p.at("base_url").get_string().empty()) urls.push_back(p.at("base_url").get_string());
            for (const auto& ep : p.at("endpoints").get_array()) urls.push_back(ep.get_string());
            for (auto u : urls) {
              if (u.rfind("https://", 0) != 0) {
                e.push_back({where, "applies to https:// upstreams; " + std::string(u) + " is not one"});
                break;
              }
            }
          }
        }
        const auto& cache = o.at("cache").get_object();
        std::string cp = json::pointer_join(path, "cache");
        if (cache.at("backend").get_string() == "redis") {
          auto url = cache.at("redis_url").get_string();
          if (url.empty()) {
            e.push_back({json::pointer_join(cp, "redis_url"), "is required when backend is redis"});
          } else if (auto ep = parse_redis_url(url); !ep.ok()) {
            e.push_back({json::pointer_join(cp, "redis_url"), ep.status().message()});
          }
          if (!cache.at("redis_username").get_string().empty() && cache.at("redis_password").get_string().empty()) {
            e.push_back({json::pointer_join(cp, "redis_password"), "is required with redis_username"});
          }
        }
        if (auto emb = cache.at("embedder").get_string(); emb != "builtin") {
          check_target(emb, json::pointer_join(cp, "embedder"));
        }
      });
}

// --- aws -------------------------------------------------------------------

NodePtr aws_node() {
  NodePtr tg = object()
                   .ref("TargetGroupSync")
                   .required("load_balancer", name_node())
                   .required("target_group_arn", str().format(Format::kArn));
  NodePtr gwlb = object()
                     .ref("Gwlb")
                     .field("enabled", boolean(), false)
                     .field("geneve_port", port_node(), 6081)
                     .field("health_check_port", port_node(), 8081);
  return object()
      .ref("AwsSection")
      .desc("AWS integration: region, SSM parameter path, Elastic IP, target groups, GWLB")
      .field("region", str().max_length(32))
      .field("parameter_path", str().format(Format::kParamPath), "/cloudspectra/")
      .field("eip_allocation_id", str().max_length(64))
      .field("target_groups", array(tg).max_items(256))
      .field("gwlb", gwlb);
}

struct Schema {
  std::vector<std::string> names;
  NodePtr root;
};

const Schema& schema() {
  static const Schema s = [] {
    Schema out;
    std::vector<std::pair<std::string, NodePtr>> sections = {
        {"network", network_node()}, {"proxy", proxy_node()}, {"ips", ips_node()},
        {"tls", tls_node()},         {"ai", ai_node()},       {"aws", aws_node()}};
    Builder root = object();
    root.ref("Config").desc("The whole config of record");
    for (auto& [name, node] : sections) {
      out.names.push_back(name);
      root.field(name, node);
    }
    out.root = root;
    return out;
  }();
  return s;
}

}  // namespace

const std::vector<std::string>& section_names() { return schema().names; }

bool is_section(std::string_view name) {
  for (const auto& n : section_names()) {
    if (n == name) return true;
  }
  return false;
}

const Node& config_schema() { return *schema().root; }

const Node& section_schema(std::string_view name) {
  const Field* f = config_schema().field(name);
  assert(f && "not a section");
  return *f->node;
}

bj::object default_config() {
  bj::value v = bj::object();
  Errors errors;
  validate_and_normalize(config_schema(), v, "", errors);
  assert(errors.empty() && "defaults must validate");
  return v.get_object();
}

}  // namespace spectra::config
