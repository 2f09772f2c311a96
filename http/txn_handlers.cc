// PUT /v1/txn (consul-api.md §1.5; Consul's agent/txn_endpoint.go). The body is parsed
// and checked in txn_params.cc. A transaction of reads only takes the read path
// (Backend::Read with store::ReadTxn: the consistency modes, no log entry, no
// blocking) and reports X-Consul-KnownLeader and X-Consul-LastContact, as Consul does;
// any write sends the whole transaction through Raft as one store command, which
// applies every op or none. 200 with the results on commit, 409 with the errors on
// rollback.
#include <string>

#include "http/handlers.h"
#include "http/txn_params.h"
#include "store/command.h"
#include "store/txn.h"

namespace roster::http {
namespace {

TxnLimits LimitsOf(const HttpOptions& options) {
  TxnLimits limits;
  limits.ops_max = options.txn_ops_max;
  limits.body_bytes_max = options.txn_body_bytes_max;
  limits.value_bytes_max = options.kv_value_bytes_max;
  limits.key_bytes_max = options.key_bytes_max;
  return limits;
}

Reply TxnReply(const store::TxnOutcome& outcome, bool pretty) {
  Reply reply = JsonReply(TxnOutcomeJson(outcome), pretty);
  if (!outcome.ok()) reply.status = 409;  // rolled back: nothing was applied
  return reply;
}

Reply ReadOnlyTxn(const HandlerContext& context, const ApiRequest& request, const store::Txn& txn) {
  // Consul parses the read parameters here; a transaction cannot block, though.
  Result<ReadOptions> options = ParseReadOptions(request.query);
  if (!options.ok()) return StatusReply(options.status());
  store::TxnOutcome outcome;
  Result<ReadMeta> meta = context.backend.Read(
      options->consistency,
      [&](const store::Store& store) { outcome = store::ReadTxn(store, txn); });
  if (!meta.ok()) return StatusReply(meta.status());
  Reply reply = TxnReply(outcome, options->pretty);
  reply.headers.emplace_back("X-Consul-KnownLeader", meta->known_leader ? "true" : "false");
  reply.headers.emplace_back("X-Consul-LastContact",
                             std::to_string(meta->last_contact_ms < 0 ? 0 : meta->last_contact_ms));
  return reply;
}

Reply WriteTxn(const HandlerContext& context, const ApiRequest& request, store::Txn txn) {
  Result<WriteOutcome> outcome = context.backend.Apply(store::Encode(txn));
  if (!outcome.ok()) return StatusReply(outcome.status());
  return TxnReply(outcome->txn, request.query.Has("pretty"));
}

}  // namespace

Reply HandleTxn(const HandlerContext& context, const ApiRequest& request) {
  if (std::optional<Reply> wrong_dc = CheckDatacenter(context, request.query)) return *wrong_dc;
  Result<store::Txn> txn = ParseTxnBody(request.body, LimitsOf(context.options));
  if (!txn.ok()) {
    if (txn.status().code() == StatusCode::kResourceExhausted) {
      return TextReply(413, txn.status().message());
    }
    return StatusReply(txn.status());
  }
  if (store::IsReadOnly(*txn)) return ReadOnlyTxn(context, request, *txn);
  return WriteTxn(context, request, std::move(*txn));
}

}  // namespace roster::http
