// roster watch: Consul's `consul watch` for the KV types. A blocking-query loop on a key
// (-type key) or a prefix (-type keyprefix) that runs the handler once at the start and
// again on every change, with the data as JSON on its stdin and the index in
// CONSUL_INDEX / ROSTER_INDEX (reference/consul-api.md §6; docs/cli.md).
//
// Single-threaded: the loop, the handler (run to completion before the next query) and
// the default signal dispositions (Ctrl-C ends the watch).
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cli/child_process.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/recipes.h"
#include "client/http_client.h"

namespace roster::cli {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kUsage =
    "usage: roster watch -type key -key KEY [flags] [HANDLER...]\n"
    "       roster watch -type keyprefix -prefix PREFIX [flags] [HANDLER...]\n"
    "\n"
    "Runs HANDLER (through /bin/sh -c when it is one argument) now and after every change,\n"
    "with the data on stdin: for key, the entry as a JSON object (null when absent); for\n"
    "keyprefix, a JSON list of entries ([] when none). CONSUL_INDEX and ROSTER_INDEX hold\n"
    "the index. Without a HANDLER, prints the data once and exits.\n"
    "\n"
    "  -stale            read from any server (default: the leader)\n"
    "  -wait D           longest wait of each blocking query (default 5m)\n"
    "  -http-addr ADDR   default $ROSTER_HTTP_ADDR, $CONSUL_HTTP_ADDR, 127.0.0.1:8500\n";

// consul watch's error back-off.
constexpr milliseconds kRetryFirst{1000};
constexpr milliseconds kRetryMax{30000};

struct WatchConfig {
  std::string path;  // /v1/kv/<key> or /v1/kv/<prefix>?recurse
  bool single_key = true;
  bool stale = false;
  milliseconds wait{5 * 60 * 1000};
  std::vector<std::string> handler;
  std::string address;
};

Result<WatchConfig> ParseConfig(const std::vector<std::string>& args) {
  Result<Flags> flags =
      Flags::Parse(args, {"type", "key", "prefix", "wait", "http-addr"}, {"stale"});
  if (!flags.ok()) return flags.status();
  WatchConfig config;
  const std::string type = flags->Get("type");
  if (type == "key") {
    if (!flags->Has("key") || flags->Get("key").empty())
      return InvalidArgument("-type key needs -key KEY");
    config.path = "/v1/kv/" + client::HttpClient::EscapePath(flags->Get("key"));
  } else if (type == "keyprefix") {
    if (!flags->Has("prefix")) return InvalidArgument("-type keyprefix needs -prefix PREFIX");
    config.path = "/v1/kv/" + client::HttpClient::EscapePath(flags->Get("prefix")) + "?recurse";
    config.single_key = false;
  } else {
    return InvalidArgument(type.empty() ? "-type is required"
                                        : "-type " + type + " is not supported (key, keyprefix)");
  }
  if (flags->Has("wait")) {
    Result<milliseconds> wait = ParseDurationFlag("wait", flags->Get("wait"));
    if (!wait.ok()) return wait.status();
    config.wait = *wait;
  }
  config.stale = flags->GetBool("stale");
  config.handler = flags->positional();
  config.address = client::HttpClient::DefaultAddress(flags->Get("http-addr"));
  return config;
}

std::string QueryPath(const WatchConfig& config, std::uint64_t index) {
  std::string path = config.path;
  auto add = [&path](const std::string& param) {
    path += (path.find('?') == std::string::npos ? "?" : "&") + param;
  };
  if (config.stale) add("stale");
  if (index > 0) {
    add("index=" + std::to_string(index));
    add("wait=" + GoDuration(config.wait));
  }
  return path;
}

// What the handler gets: the entry object (or null) for a key, the list for a prefix.
Result<json> HandlerData(const WatchConfig& config, const client::Response& response) {
  if (response.status == 404) return config.single_key ? json(nullptr) : json::array();
  if (response.status != 200) {
    return Unavailable("HTTP " + std::to_string(response.status) + ": " + response.body);
  }
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_array()) return Internal("the server sent something other than a list of entries");
  if (!config.single_key) return body;
  return body.empty() ? json(nullptr) : body[0];
}

// Runs the handler to completion with `data` on stdin. Its failure is reported, not fatal.
void RunHandler(const WatchConfig& config, const json& data, std::uint64_t index) {
  const std::string text = data.dump() + "\n";
  if (config.handler.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  Result<ChildProcess> child =
      ChildProcess::Start({.command = config.handler,
                           .environment = {{"CONSUL_INDEX", std::to_string(index)},
                                           {"ROSTER_INDEX", std::to_string(index)}},
                           .stdin_data = text,
                           .die_with_parent = true});
  if (!child.ok()) {
    std::fprintf(stderr, "roster watch: cannot run the handler: %s\n",
                 child.status().message().c_str());
    return;
  }
  if (const int code = child->Wait(); code != 0) {
    std::fprintf(stderr, "roster watch: the handler exited with %d\n", code);
  }
}

}  // namespace

int RunWatch(const std::vector<std::string>& args) {
  Result<WatchConfig> config = ParseConfig(args);
  if (!config.ok()) {
    std::fprintf(stderr, "roster watch: %s\n%s", config.status().message().c_str(), kUsage);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);  // a handler that does not read its stdin
  client::HttpClient http(config->address);
  std::uint64_t index = 0;
  std::optional<json> last_data;
  milliseconds retry = kRetryFirst;
  while (true) {
    Result<client::Response> response = http.Get(QueryPath(*config, index));
    Result<json> data =
        response.ok() ? HandlerData(*config, *response) : Result<json>(response.status());
    if (!data.ok()) {
      std::fprintf(stderr, "roster watch: %s; retrying in %s\n", data.status().message().c_str(),
                   GoDuration(retry).c_str());
      std::this_thread::sleep_for(retry);  // back-off between failed queries
      retry = std::min(retry * 2, kRetryMax);
      continue;
    }
    retry = kRetryFirst;
    const std::uint64_t new_index = response->index;
    // A wait that timed out, or a wake-up that changed nothing we see: no handler run.
    if (last_data.has_value() && new_index == index) continue;
    index = new_index < index ? 0 : std::max<std::uint64_t>(new_index, 1);
    if (last_data.has_value() && *last_data == *data) continue;
    last_data = *data;
    RunHandler(*config, *data, new_index);
    if (config->handler.empty()) return 0;
  }
}

}  // namespace roster::cli
