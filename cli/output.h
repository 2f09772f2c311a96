// How the client subcommands report: errors on stderr prefixed "roster: ", usage text,
// and an HTTP error reply printed as the server phrased it. Exit codes as in
// cli/commands.h: 1 failure, 2 usage error.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/http_client.h"

namespace roster::cli {

// Prints "roster: <message>" and returns 1.
int Fail(const std::string& message);
// Prints the usage text and returns 2.
int Usage(const char* text);
// Prints "roster: HTTP <status>: <body>" and returns 1.
int FailResponse(const client::Response& response);

// The JSON body of a 200 reply; an error naming what went wrong (the transport's, the
// server's status and text, or a body that does not parse) otherwise.
Result<nlohmann::json> JsonReply(const Result<client::Response>& response);

}  // namespace roster::cli
