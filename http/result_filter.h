// The `?filter=` parameter of the catalog and health reads (consul-api.md §0,
// "Filtering"): a boolean expression over the items a read returns. Each read filters
// its top-level list items (a HealthCheck, a ServiceNode, a CheckServiceNode, a Node);
// /v1/catalog/node/:node and node-services filter their Services; /v1/catalog/services
// filters the instances before it gathers their tags.
//
// >>> FILTER HOOK <<< This is the one place where a filter meets the JSON a read is
// about to return: ResultFilter::Parse (a bad filter is a 400 before the read runs) and
// ResultFilter::Apply (after the read, before the reply is rendered, so the index is the
// unfiltered result's, as in Consul). The expression language (http/filter.h) plugs in
// here; until it does, a non-empty filter is 400 "filter not supported yet".
// Thread-safety: immutable once parsed.
#pragma once

#include <string>

#include "base/status.h"
#include "http/json_mapping.h"
#include "http/params.h"

namespace roster::http {

class ResultFilter {
 public:
  // Reads ?filter. Absent or empty: no filter.
  static Result<ResultFilter> Parse(const Query& query);

  bool active() const { return !text_.empty(); }
  // Keeps the elements of an array, or the members of an object, that match; anything
  // else (null) is left as it is. Without a filter, changes nothing.
  Status Apply(Json& items) const;

 private:
  std::string text_;
};

}  // namespace roster::http
