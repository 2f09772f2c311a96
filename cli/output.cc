#include "cli/output.h"

#include <cstdio>

namespace roster::cli {

int Fail(const std::string& message) {
  std::fprintf(stderr, "roster: %s\n", message.c_str());
  return 1;
}

int Usage(const char* text) {
  std::fprintf(stderr, "%s", text);
  return 2;
}

namespace {

std::string Trimmed(std::string body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body;
}

}  // namespace

int FailResponse(const client::Response& response) {
  return Fail("HTTP " + std::to_string(response.status) + ": " + Trimmed(response.body));
}

Result<nlohmann::json> JsonReply(const Result<client::Response>& response) {
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return Unavailable("HTTP " + std::to_string(response->status) + ": " +
                       Trimmed(response->body));
  }
  nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  if (body.is_discarded()) return Unavailable("the server sent JSON that does not parse");
  return body;
}

}  // namespace roster::cli
