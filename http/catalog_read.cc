#include "http/catalog_read.h"

#include <utility>

#include "http/catalog_params.h"

namespace roster::http {

Result<CatalogReadParams> ParseCatalogRead(const HandlerContext& context,
                                           const ApiRequest& request) {
  CatalogReadParams params;
  Result<ReadOptions> options = ParseReadOptions(request.query);
  if (!options.ok()) return options.status();
  params.options = std::move(options).value();
  if (!params.options.datacenter.empty() &&
      params.options.datacenter != context.options.datacenter) {
    return FailedPrecondition("No path to datacenter");
  }
  Result<ResultFilter> filter = ResultFilter::Parse(request.query);
  if (!filter.ok()) return filter.status();
  params.filter = std::move(filter).value();
  params.node_meta = ParseNodeMetaFilter(request.query);
  return params;
}

Reply CatalogReadReply(const HandlerContext& context, const CatalogReadParams& params,
                       std::vector<store::WatchKey> watch_keys,
                       const std::function<store::Index(const store::Store&)>& run,
                       const std::function<Result<Json>()>& render) {
  BlockingQuery query;
  query.consistency = params.options.consistency;
  query.blocking = params.options.blocking;
  query.watch_keys = std::move(watch_keys);
  query.run = run;
  Result<BlockingResult> result =
      RunBlockingQuery(context.backend, query, BlockingLimitsOf(context.options), context.stop);
  if (!result.ok()) return StatusReply(result.status());
  Result<Json> body = render();
  if (!body.ok()) return StatusReply(body.status());
  Reply reply = JsonReply(*body, params.options.pretty);
  AddReadHeaders(result->meta, result->index, reply);
  return reply;
}

std::vector<std::string> ServiceTagsOf(const store::CatalogTable& catalog,
                                       const store::HealthCheck& check) {
  if (check.service_id.empty()) return {};
  const store::NodeService* service = catalog.FindService(check.node, check.service_id);
  return service == nullptr ? std::vector<std::string>() : service->tags;
}

}  // namespace roster::http
