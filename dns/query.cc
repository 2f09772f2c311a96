#include "dns/query.h"

#include <utility>

namespace roster::dns {
namespace {

ParsedQuery Verdict(ParsedQuery query, QueryVerdict verdict, std::string reason) {
  query.verdict = verdict;
  query.reason = std::move(reason);
  return query;
}

}  // namespace

ParsedQuery ParseQuery(std::span<const std::uint8_t> bytes) {
  ParsedQuery query;
  const std::optional<HeaderCounts> counts = ParseHeader(bytes);
  if (!counts.has_value()) {
    return Verdict(std::move(query), QueryVerdict::kDrop, "shorter than a DNS header");
  }
  query.header = counts->header;
  if (query.header.response) {
    return Verdict(std::move(query), QueryVerdict::kDrop, "a response, not a query");
  }
  Result<Message> message = ParseMessage(bytes);
  const Status parse_status = message.ok() ? Status::Ok() : message.status();
  if (message.ok()) query.message = std::move(message).value();
  if (query.header.opcode != kOpcodeQuery) {
    return Verdict(std::move(query), QueryVerdict::kNotImplemented,
                   "opcode " + std::to_string(query.header.opcode) + " is not QUERY");
  }
  if (!parse_status.ok()) {
    return Verdict(std::move(query), QueryVerdict::kFormatError, parse_status.message());
  }
  if (query.message->questions.size() != 1) {
    return Verdict(std::move(query), QueryVerdict::kFormatError,
                   std::to_string(query.message->questions.size()) + " questions, not 1");
  }
  if (query.message->edns.has_value() && query.message->edns->version > 0) {
    return Verdict(std::move(query), QueryVerdict::kBadVersion,
                   "EDNS version " + std::to_string(query.message->edns->version));
  }
  const std::uint16_t klass = query.message->questions[0].klass;
  if (klass != kClassIn && klass != kClassAny) {
    return Verdict(std::move(query), QueryVerdict::kRefused,
                   "class " + std::to_string(klass) + " is not served");
  }
  return Verdict(std::move(query), QueryVerdict::kAnswer, "");
}

}  // namespace roster::dns
