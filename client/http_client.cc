#include "client/http_client.h"

#include <httplib.h>

#include <cstdlib>

namespace roster::client {

class HttpClient::Impl {
 public:
  Impl(const std::string& address, std::chrono::milliseconds read_timeout)
      : client_(address.rfind("http", 0) == 0 ? address : "http://" + address) {
    client_.set_connection_timeout(std::chrono::seconds(5));
    client_.set_read_timeout(read_timeout);
  }

  Result<Response> Convert(const httplib::Result& result) {
    if (!result) {
      return Unavailable("cannot reach Roster's HTTP API: " + httplib::to_string(result.error()));
    }
    Response response;
    response.status = result->status;
    response.body = result->body;
    if (result->has_header("X-Consul-Index")) {
      response.index =
          std::strtoull(result->get_header_value("X-Consul-Index").c_str(), nullptr, 10);
    }
    return response;
  }

  httplib::Client client_;
};

Result<Response> HttpClient::Send(const Request& request) {
  httplib::Request out;
  out.method = request.method;
  out.path = request.path_and_query;
  out.body = request.body;
  for (const auto& [name, value] : request.headers) out.headers.emplace(name, value);
  // httplib fills Content-Length itself; a body without a type would go untyped.
  if (!out.body.empty() && !out.has_header("Content-Type")) {
    out.headers.emplace("Content-Type", "application/octet-stream");
  }
  httplib::Result result = impl_->client_.send(out);
  Result<Response> response = impl_->Convert(result);
  if (!response.ok()) return response;
  for (const auto& [name, value] : result->headers) response->headers.emplace_back(name, value);
  return response;
}

HttpClient::HttpClient(std::string address, std::chrono::milliseconds read_timeout)
    : impl_(std::make_unique<Impl>(address, read_timeout)) {}
HttpClient::~HttpClient() = default;

Result<Response> HttpClient::Get(const std::string& path) {
  return impl_->Convert(impl_->client_.Get(path));
}

Result<Response> HttpClient::Put(const std::string& path, const std::string& body) {
  return impl_->Convert(impl_->client_.Put(path, body, "application/octet-stream"));
}

Result<Response> HttpClient::Delete(const std::string& path) {
  return impl_->Convert(impl_->client_.Delete(path));
}

void HttpClient::EnableKeepAlive() { impl_->client_.set_keep_alive(true); }

void HttpClient::SetReadTimeout(std::chrono::milliseconds read_timeout) {
  impl_->client_.set_read_timeout(read_timeout);
}

void HttpClient::Abort() { impl_->client_.stop(); }

std::string HttpClient::DefaultAddress(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  for (const char* name : {"ROSTER_HTTP_ADDR", "CONSUL_HTTP_ADDR"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "127.0.0.1:8500";
}

std::string HttpClient::EscapePath(const std::string& key) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace roster::client
