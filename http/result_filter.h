// The `?filter=` parameter of the catalog and health reads (consul-api.md §0,
// "Filtering"): a boolean expression over the items a read returns. Each read filters
// its top-level list items (a HealthCheck, a ServiceNode, a CheckServiceNode, a Node);
// /v1/catalog/node/:node and node-services filter their Services; /v1/catalog/services
// filters the instances before it gathers their tags.
//
// ResultFilter is where a filter meets the JSON a read is about to return: Parse (a bad
// filter is a 400 before the read runs) and Apply (after the read, before the reply is
// rendered, so the index is the unfiltered result's, as in Consul). The expression
// language is http/filter.h's.
// Thread-safety: immutable once parsed.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "http/filter.h"
#include "http/json_mapping.h"
#include "http/params.h"

namespace roster::http {

class ResultFilter {
 public:
  // Reads ?filter. Absent or empty: no filter.
  static Result<ResultFilter> Parse(const Query& query);

  bool active() const { return expression_ != nullptr; }
  // Keeps the elements of an array, or the members of an object, that match; anything
  // else (null) is left as it is. Without a filter, changes nothing.
  Status Apply(Json& items) const;

 private:
  std::shared_ptr<const FilterExpr> expression_;  // null: no filter
};

}  // namespace roster::http
