// What the catalog and health reads share (consul-api.md §1.2, §1.3, §2): their query
// parameters and the blocking query that serves them, with the X-Consul-* headers as the
// KV and session reads send them. Internal to http/ (catalog_handlers.cc,
// health_handlers.cc).
// Thread-safety: as handlers.h.
#pragma once

#include <functional>
#include <vector>

#include "base/status.h"
#include "http/handlers.h"
#include "http/result_filter.h"
#include "store/catalog.h"
#include "store/store.h"
#include "store/watch_set.h"

namespace roster::http {

struct CatalogReadParams {
  ReadOptions options;         // ?consistent|stale, ?index, ?wait, ?pretty
  ResultFilter filter;         // ?filter
  store::StringMap node_meta;  // ?node-meta, all must match
};

// Parses the parameters every catalog and health read takes. A ?dc other than ours is
// FailedPrecondition "No path to datacenter" (Consul's 500); the rest are 400s.
Result<CatalogReadParams> ParseCatalogRead(const HandlerContext& context,
                                           const ApiRequest& request);

// Serves a read: a blocking query over watch_keys whose `run` reads the store (held
// still; it copies what it needs and returns the result's index), then `render` builds
// the body from the copy, applying the filter itself. Errors become replies here. Both
// may run after the handler has returned (a parked read): they must own what they use.
Reply CatalogReadReply(const HandlerContext& context, const CatalogReadParams& params,
                       std::vector<store::WatchKey> watch_keys,
                       std::function<store::Index(const store::Store&)> run,
                       std::function<Result<Json>()> render);

// The tags of the service a check belongs to (empty for a node check): what Consul
// shows as its ServiceTags.
std::vector<std::string> ServiceTagsOf(const store::CatalogTable& catalog,
                                       const store::HealthCheck& check);

}  // namespace roster::http
