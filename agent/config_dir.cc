#include "agent/config_dir.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/agent_params.h"
#include "http/json_decode.h"
#include "http/params.h"

namespace roster::agent {
namespace {

constexpr std::size_t kDepthMax = 32;

// The items of a "service"/"services" (or check) key: one object, or a list of them.
std::vector<http::Json> Items(const http::Json& root, const char* one, const char* many) {
  std::vector<http::Json> items;
  if (const http::Json* single = http::FindField(root, one); single && !single->is_null()) {
    items.push_back(*single);
  }
  if (const http::Json* list = http::FindField(root, many); list && list->is_array()) {
    for (const http::Json& item : *list) items.push_back(item);
  }
  return items;
}

}  // namespace

Status ParseConfigFile(const std::string& name, const std::string& text, ConfigDefinitions* out) {
  auto fail = [&name](const Status& why) { return InvalidArgument(name + ": " + why.message()); };
  Result<http::Json> root = http::ParseJsonBody(text, kDepthMax);
  if (!root.ok()) return fail(root.status());
  if (!root->is_object()) return InvalidArgument(name + ": not a JSON object");
  for (const http::Json& service : Items(*root, "service", "services")) {
    Result<http::AgentServiceRegistration> parsed =
        http::ParseAgentServiceRegister(service.dump(), http::Query());
    if (!parsed.ok()) return fail(parsed.status());
    out->services.push_back(std::move(*parsed));
  }
  for (const http::Json& check : Items(*root, "check", "checks")) {
    Result<http::AgentCheck> parsed = http::ParseAgentCheckRegister(check.dump());
    if (!parsed.ok()) return fail(parsed.status());
    out->checks.push_back(std::move(*parsed));
  }
  return Status::Ok();
}

Result<ConfigDefinitions> LoadConfigDir(const std::string& dir) {
  std::error_code error;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  if (error) return IoError("cannot read -config-dir " + dir + ": " + error.message());
  std::sort(files.begin(), files.end());
  ConfigDefinitions definitions;
  for (const std::filesystem::path& path : files) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return IoError("cannot read " + path.string());
    RETURN_IF_ERROR(ParseConfigFile(path.string(), text.str(), &definitions));
  }
  return definitions;
}

}  // namespace roster::agent
