#include "agent/watch_resume.h"

#include <algorithm>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "base/ascii.h"

namespace roster::agent {

using Json = nlohmann::json;

std::string WatchResumePoint::Take(std::string_view bytes) {
  if (ended_) return "";
  pending_.append(bytes);
  const std::string_view boundary = sse_ ? "\n\n" : "\n";
  const std::size_t last = pending_.rfind(boundary);
  if (last == std::string::npos) return "";
  std::string whole = pending_.substr(0, last + boundary.size());
  pending_.erase(0, whole.size());
  // NDJSON passes on every line; SSE whole events, each ending in a blank line.
  std::size_t passed_to = 0;
  for (std::size_t start = 0; start < whole.size();) {
    const std::size_t end = whole.find('\n', start);  // whole ends in a newline
    const std::string_view line = std::string_view(whole).substr(start, end - start);
    See(line);
    start = end + 1;
    if (!sse_ || line.empty()) passed_to = start;
    if (ended_) {
      // The error line is the last: through the end of its event, then nothing more.
      passed_to = sse_ ? whole.find("\n\n", end) + 2 : start;
      pending_.clear();
      break;
    }
  }
  whole.resize(passed_to);
  return whole;
}

void WatchResumePoint::See(std::string_view line) {
  std::string_view json_text = line;
  if (sse_) {
    if (line.starts_with("id: ")) {
      if (std::optional<std::uint64_t> id = ParseUint64(line.substr(4))) {
        complete_ = std::max(complete_, *id);
      }
      return;
    }
    if (!line.starts_with("data: ")) return;
    json_text = line.substr(6);
  }
  const Json json = Json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("Index") || !json["Index"].is_number_unsigned()) return;
  const std::uint64_t index = json["Index"].get<std::uint64_t>();
  const auto op_field = json.find("Op");
  const std::string op =
      op_field != json.end() && op_field->is_string() ? op_field->get<std::string>() : "";
  if (op == "error") {
    ended_ = true;
  } else if (op == "progress") {
    complete_ = std::max(complete_, index);
  } else if (!sse_ && index > 0) {
    // The other events of this index may not have come yet.
    complete_ = std::max(complete_, index - 1);
  }
}

std::string WatchTargetFrom(const std::string& target, std::uint64_t index) {
  const std::size_t query = target.find('?');
  std::string out = target.substr(0, query);
  std::string params;
  if (query != std::string::npos) {
    std::string_view rest = std::string_view(target).substr(query + 1);
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      if (!pair.empty() && pair.substr(0, pair.find('=')) != "index") {
        params += params.empty() ? "" : "&";
        params += pair;
      }
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  params += params.empty() ? "" : "&";
  params += "index=" + std::to_string(index);
  return out + "?" + params;
}

}  // namespace roster::agent
