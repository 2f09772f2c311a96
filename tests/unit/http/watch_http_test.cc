// GET /v1/watch end to end (Roster's streaming watch; DESIGN.md, "Streaming watch";
// docs/api.md): the events equal the applied changes, in order, after the index
// asked for; resume; 410 once the history has moved on; SSE framing; progress lines;
// and the ends of a stream: a client that hangs up, one that stops reading, a server
// that stops.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/http/api_test_util.h"
#include "tests/unit/http/raw_http.h"

namespace roster::http::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// A streaming GET on a plain socket: the response head, then the chunked body decoded
// as it arrives, message by message (an NDJSON line, or an SSE event). A test can also
// stop reading altogether, or hang up.
class StreamClient {
 public:
  // receive_buffer_bytes > 0 shrinks the socket's receive buffer, so that a client
  // that does not read fills up quickly.
  StreamClient(int port, const std::string& target, const std::string& headers = "",
               int receive_buffer_bytes = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    if (receive_buffer_bytes > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof(receive_buffer_bytes));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(SendAll(fd_, "GET " + target + " HTTP/1.1\r\nHost: roster\r\n" + headers + "\r\n"));
  }
  ~StreamClient() { Close(); }

  // Waits for the status line and headers.
  bool ReadHead(milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = steady_clock::now() + timeout;
    while (raw_.find("\r\n\r\n") == std::string::npos) {
      if (!Receive(deadline)) return false;
    }
    const std::size_t end = raw_.find("\r\n\r\n");
    head_ = raw_.substr(0, end + 2);
    raw_.erase(0, end + 4);
    chunked_ = head_.find("Transfer-Encoding: chunked") != std::string::npos;
    Decode();
    return true;
  }

  int status() const { return std::stoi(head_.substr(9, 3)); }
  // A header's value ("" when absent); names as the server writes them.
  std::string Header(const std::string& name) const {
    const std::size_t at = head_.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const std::size_t begin = at + name.size() + 4;
    return head_.substr(begin, head_.find("\r\n", begin) - begin);
  }

  // The next message, without its terminator ("\n" for NDJSON, "\n\n" for SSE);
  // nullopt on timeout or at the end of the body.
  std::optional<std::string> Next(const std::string& terminator = "\n",
                                  milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = steady_clock::now() + timeout;
    while (body_.find(terminator) == std::string::npos) {
      if (!Receive(deadline)) return std::nullopt;
    }
    const std::size_t end = body_.find(terminator);
    std::string message = body_.substr(0, end);
    body_.erase(0, end + terminator.size());
    return message;
  }
  std::optional<json> NextJson(milliseconds timeout = std::chrono::seconds(10)) {
    std::optional<std::string> line = Next("\n", timeout);
    if (!line.has_value()) return std::nullopt;
    return json::parse(*line);
  }

  // Reads (and drops) everything until the server closes the connection.
  bool WaitClosed(milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = steady_clock::now() + timeout;
    while (!eof_) {
      if (!Receive(deadline) && !eof_) return false;
      body_.clear();
    }
    return true;
  }
  // Reads until the body's last chunk or the end of the connection; true for the former.
  bool WaitEnd(milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = steady_clock::now() + timeout;
    while (!last_chunk_ && Receive(deadline)) {
    }
    return last_chunk_;
  }
  // Whether the body ended with its last (zero-length) chunk, not a dropped connection.
  bool ended_cleanly() const { return last_chunk_; }
  const std::string& body() const { return body_; }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  // Reads what arrives before the deadline; false on timeout or end of stream.
  bool Receive(steady_clock::time_point deadline) {
    if (eof_) return false;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    raw_.append(buffer, static_cast<std::size_t>(n));
    if (!head_.empty()) Decode();
    return true;
  }

  // Moves the body bytes that have arrived from raw_ to body_, undoing the chunking.
  void Decode() {
    if (!chunked_) {
      body_ += raw_;
      raw_.clear();
      return;
    }
    while (true) {
      const std::size_t line_end = raw_.find("\r\n");
      if (line_end == std::string::npos) return;
      const std::size_t size = std::stoul(raw_.substr(0, line_end), nullptr, 16);
      if (raw_.size() < line_end + 2 + size + 2) return;
      if (size == 0) last_chunk_ = true;
      body_ += raw_.substr(line_end + 2, size);
      raw_.erase(0, line_end + 2 + size + 2);
    }
  }

  int fd_ = -1;
  std::string raw_;   // received, not yet decoded
  std::string head_;  // status line and headers
  std::string body_;  // decoded, not yet taken
  bool chunked_ = false;
  bool last_chunk_ = false;
  bool eof_ = false;
};

httplib::Result Put(httplib::Client& client, const std::string& target, const std::string& value) {
  return client.Put(target.c_str(), value, "text/plain");
}

HttpOptions FastProgress() {
  HttpOptions options = TestOptions();
  options.watch_progress_interval_ms = milliseconds(50);
  return options;
}

// The changes the first tests stream, at indexes 2 to 7.
void WriteHistory(httplib::Client& client) {
  REQUIRE(Put(client, "/v1/kv/w/a", "1")->body == "true");          // 2
  REQUIRE(Put(client, "/v1/kv/w/b?flags=5", "2")->body == "true");  // 3
  REQUIRE(Put(client, "/v1/kv/other/x", "x")->body == "true");      // 4
  REQUIRE(client.Delete("/v1/kv/w/a")->body == "true");             // 5
  REQUIRE(client
              .Put("/v1/txn",  // 6
                   R"([{"KV":{"Verb":"set","Key":"w/c","Value":"Mw=="}},)"
                   R"({"KV":{"Verb":"set","Key":"w/d"}}])",
                   "application/json")
              ->status == 200);
  REQUIRE(client.Delete("/v1/kv/w/?recurse")->body == "true");  // 7
}

const std::vector<std::string> kHistoryLines = {
    R"({"Index":2,"Op":"set","Key":"w/a","Value":"MQ==","Flags":0,"CreateIndex":2,"ModifyIndex":2,"LockIndex":0})",
    R"({"Index":3,"Op":"set","Key":"w/b","Value":"Mg==","Flags":5,"CreateIndex":3,"ModifyIndex":3,"LockIndex":0})",
    R"({"Index":5,"Op":"delete","Key":"w/a"})",
    R"({"Index":6,"Op":"set","Key":"w/c","Value":"Mw==","Flags":0,"CreateIndex":6,"ModifyIndex":6,"LockIndex":0})",
    R"({"Index":6,"Op":"set","Key":"w/d","Value":null,"Flags":0,"CreateIndex":6,"ModifyIndex":6,"LockIndex":0})",
    R"({"Index":7,"Op":"delete","Key":"w/b"})",
    R"({"Index":7,"Op":"delete","Key":"w/c"})",
    R"({"Index":7,"Op":"delete","Key":"w/d"})",
    R"({"Index":7,"Op":"progress"})",
};

TEST_CASE("the stream after an index is exactly the changes under the prefix, in order") {
  TestServer server;
  auto client = server.Client();
  WriteHistory(client);
  StreamClient stream(server.port(), "/v1/watch?prefix=w/&index=1");
  REQUIRE(stream.ReadHead());
  CHECK(stream.status() == 200);
  CHECK(stream.Header("Content-Type") == "application/x-ndjson");
  CHECK(stream.Header("X-Consul-Index") == "7");
  CHECK(stream.Header("X-Consul-KnownLeader") == "true");
  for (const std::string& expected : kHistoryLines) CHECK(stream.Next() == expected);

  // Then live: each new change as it is applied; others are not sent.
  REQUIRE(Put(client, "/v1/kv/other/y", "y")->body == "true");  // 8
  REQUIRE(Put(client, "/v1/kv/w/e", "5")->body == "true");      // 9
  CHECK(stream.Next() ==
        R"({"Index":9,"Op":"set","Key":"w/e","Value":"NQ==","Flags":0,"CreateIndex":9,)"
        R"("ModifyIndex":9,"LockIndex":0})");
}

TEST_CASE("locks show in the stream with their session and fencing token") {
  TestServer server;
  RegisterSelf(server.backend);
  auto client = server.Client();
  const std::string session = CreateSession(client);
  StreamClient stream(server.port(), "/v1/watch?prefix=lock");
  REQUIRE(stream.ReadHead());
  REQUIRE(stream.NextJson().value()["Op"] == "progress");
  REQUIRE(Put(client, "/v1/kv/lock?acquire=" + session, "me")->body == "true");
  const json acquired = stream.NextJson().value();
  CHECK(acquired["Session"] == session);
  CHECK(acquired["LockIndex"] == 1);
  REQUIRE(client.Put(("/v1/session/destroy/" + session).c_str(), "", "")->body == "true");
  const json released = stream.NextJson().value();
  CHECK(released["Op"] == "set");
  CHECK_FALSE(released.contains("Session"));
  CHECK(released["LockIndex"] == 1);
}

TEST_CASE("resume from a later index; index 0 means from now") {
  TestServer server;
  auto client = server.Client();
  WriteHistory(client);
  StreamClient resumed(server.port(), "/v1/watch?prefix=w/&index=3");
  REQUIRE(resumed.ReadHead());
  CHECK(resumed.Next() == kHistoryLines[2]);  // the first change after 3

  StreamClient from_now(server.port(), "/v1/watch?prefix=w/");
  REQUIRE(from_now.ReadHead());
  CHECK(from_now.Next() == R"({"Index":7,"Op":"progress"})");  // caught up at once
  REQUIRE(Put(client, "/v1/kv/w/new", "n")->body == "true");   // 8
  CHECK(from_now.NextJson().value()["Index"] == 8);
}

TEST_CASE("an index older than the retained history is a 410 naming the oldest index") {
  store::StoreOptions small_history;
  small_history.history.events_max = 3;
  TestServer server(TestOptions(), small_history);
  auto client = server.Client();
  for (int i = 0; i < 10; ++i) {
    REQUIRE(Put(client, "/v1/kv/k" + std::to_string(i), "v")->body == "true");  // 2..11
  }
  auto gone = client.Get("/v1/watch?index=1");
  REQUIRE(gone);
  CHECK(gone->status == 410);
  CHECK(gone->get_header_value("Content-Type") == "application/json");
  CHECK(gone->get_header_value("X-Consul-Index") == "11");
  const json body = JsonOf(gone);
  CHECK(body["OldestIndex"] == 8);
  CHECK(body["Index"] == 11);
  CHECK(body["Error"].get<std::string>().starts_with("index 1 is older than the event history"));

  // From the oldest index on, every retained change is there.
  StreamClient oldest(server.port(), "/v1/watch?index=8");
  REQUIRE(oldest.ReadHead());
  CHECK(oldest.status() == 200);
  for (std::uint64_t index : {9, 10, 11}) CHECK(oldest.NextJson().value()["Index"] == index);
}

TEST_CASE("Server-Sent Events: data lines, and an id only where an index is complete") {
  TestServer server;
  auto client = server.Client();
  WriteHistory(client);
  StreamClient stream(server.port(), "/v1/watch?prefix=w/&index=5",
                      "Accept: text/event-stream\r\n");
  REQUIRE(stream.ReadHead());
  CHECK(stream.Header("Content-Type") == "text/event-stream");
  CHECK(stream.Header("Cache-Control") == "no-cache");
  const std::vector<std::string> expected = {
      "data: " + kHistoryLines[3],  // index 6 continues: no id yet
      "id: 6\ndata: " + kHistoryLines[4], "data: " + kHistoryLines[5],
      "data: " + kHistoryLines[6],        "id: 7\ndata: " + kHistoryLines[7],
      "id: 7\ndata: " + kHistoryLines[8],
  };
  for (const std::string& event : expected) CHECK(stream.Next("\n\n") == event);

  // A reconnecting EventSource sends Last-Event-ID: the stream resumes after it.
  StreamClient resumed(server.port(), "/v1/watch?prefix=w/",
                       "Accept: text/event-stream\r\nLast-Event-ID: 6\r\n");
  REQUIRE(resumed.ReadHead());
  CHECK(resumed.Next("\n\n") == "data: " + kHistoryLines[5]);
}

TEST_CASE("progress lines keep coming while nothing under the prefix changes") {
  TestServer server(FastProgress());
  auto client = server.Client();
  StreamClient stream(server.port(), "/v1/watch?prefix=quiet/");
  REQUIRE(stream.ReadHead());
  std::uint64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    const json line = stream.NextJson(milliseconds(5000)).value();
    CHECK(line == json{{"Index", line["Index"]}, {"Op", "progress"}});
    CHECK(line["Index"].get<std::uint64_t>() >= last);
    last = line["Index"];
  }
  // Writes elsewhere move the progress index on, so a client resumes past them.
  REQUIRE(Put(client, "/v1/kv/elsewhere", "x")->body == "true");
  REQUIRE(Eventually([&] { return stream.NextJson(milliseconds(5000)).value()["Index"] > last; }));
}

TEST_CASE("bad watch requests are 400s") {
  TestServer server;
  auto client = server.Client();
  CHECK(client.Get("/v1/watch?index=abc")->body == "Invalid index");
  CHECK(client.Get("/v1/watch?stale&consistent")->status == 400);
  auto long_prefix = client.Get(("/v1/watch?prefix=" + std::string(1025, 'p')).c_str());
  CHECK(long_prefix->status == 400);
  CHECK(long_prefix->body == "Prefix too long: 1025 bytes, the limit is 1024 bytes");
  CHECK(client.Get("/v1/watch?dc=elsewhere")->status == 500);
  httplib::Headers bad_id = {{"Last-Event-ID", "x"}};
  CHECK(client.Get("/v1/watch", bad_id)->status == 400);
  CHECK(client.Put("/v1/watch", "", "text/plain")->status == 405);
}

TEST_CASE("HEAD of a watch answers with the stream's headers and no body") {
  TestServer server;
  const int fd = ConnectLoopback(server.port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "HEAD /v1/watch?prefix=w/ HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /v1/kv/missing HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The next request on the connection is answered (an empty 404): no stream holds it.
  std::string got;
  REQUIRE(ReadUntil(fd, &got, "HTTP/1.1 404"));
  const std::size_t second = got.find("HTTP/1.1 404");
  std::string second_reply = got.substr(second);
  REQUIRE(ReadUntil(fd, &second_reply, "\r\n\r\n"));
  ::close(fd);
  CHECK(got.starts_with("HTTP/1.1 200"));
  CHECK(got.find("Content-Type: application/x-ndjson") != std::string::npos);
  CHECK(got.find("X-Consul-Index: ") != std::string::npos);
  CHECK(got.substr(0, second).ends_with("\r\n\r\n"));  // the HEAD reply had no body
}

TEST_CASE("a read error ends the stream with an error line and a clean end") {
  TestServer server(FastProgress());
  StreamClient stream(server.port(), "/v1/watch?prefix=k");
  REQUIRE(stream.ReadHead());
  REQUIRE(stream.NextJson().value()["Op"] == "progress");
  server.backend.FailReadsWith(Unavailable("No cluster leader"));
  const json error = stream.NextJson().value();  // the next progress read fails
  CHECK(error["Op"] == "error");
  CHECK(error["Error"] == "reading the event history failed: No cluster leader");
  CHECK(stream.WaitEnd());
}

TEST_CASE("a client that hangs up frees its stream") {
  TestServer server;
  StreamClient stream(server.port(), "/v1/watch");
  REQUIRE(stream.ReadHead());
  REQUIRE(stream.NextJson().has_value());
  REQUIRE(server.backend.watch_count() == 1);
  stream.Close();
  CHECK(Eventually([&] { return server.backend.watch_count() == 0; }));
}

TEST_CASE("a client that stops reading is cut off; writers and other clients go on") {
  HttpOptions options = TestOptions();
  options.watch_stall_timeout_ms = milliseconds(300);
  TestServer server(options);
  auto client = server.Client();
  StreamClient slow(server.port(), "/v1/watch?prefix=big/", "", /*receive_buffer_bytes=*/4096);
  REQUIRE(slow.ReadHead());
  REQUIRE(Eventually([&] { return server.backend.watch_count() == 1; }));
  // ~13 MB of lines: far more than the socket buffers hold.
  const std::string value(400 * 1024, 'x');
  for (int i = 0; i < 24 && server.backend.watch_count() == 1; ++i) {
    const auto start = steady_clock::now();
    REQUIRE(Put(client, "/v1/kv/big/" + std::to_string(i), value)->body == "true");
    CHECK(MillisecondsSince(start) < 2000);  // the stalled stream holds no lock
  }
  CHECK(Eventually([&] { return server.backend.watch_count() == 0; }, std::chrono::seconds(20)));
  CHECK(client.Get("/v1/kv/big/0?keys")->status == 200);
  CHECK(slow.WaitClosed());
  CHECK_FALSE(slow.ended_cleanly());  // dropped, not ended
}

TEST_CASE("Stop() ends open streams promptly") {
  TestServer server;
  StreamClient stream(server.port(), "/v1/watch");
  REQUIRE(stream.ReadHead());
  REQUIRE(stream.NextJson().has_value());
  const auto start = steady_clock::now();
  server.server().Stop();
  CHECK(MillisecondsSince(start) < 3000);
  CHECK(stream.WaitEnd());
  CHECK(stream.WaitClosed());
}

}  // namespace
}  // namespace roster::http::testing
