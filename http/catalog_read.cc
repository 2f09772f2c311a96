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
                       std::function<store::Index(const store::Store&)> run,
                       std::function<Result<Json>()> render) {
  BlockingRead read;
  read.consistency = params.options.consistency;
  read.blocking = params.options.blocking;
  read.watch_keys = std::move(watch_keys);
  read.run = std::move(run);
  read.render = [render = std::move(render), pretty = params.options.pretty]() -> Reply {
    Result<Json> body = render();
    if (!body.ok()) return StatusReply(body.status());
    return JsonReply(*body, pretty);
  };
  return ServeRead(context, std::move(read));
}

std::vector<std::string> ServiceTagsOf(const store::CatalogTable& catalog,
                                       const store::HealthCheck& check) {
  if (check.service_id.empty()) return {};
  const store::NodeService* service = catalog.FindService(check.node, check.service_id);
  return service == nullptr ? std::vector<std::string>() : service->tags;
}

}  // namespace roster::http
