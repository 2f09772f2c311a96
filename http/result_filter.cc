#include "http/result_filter.h"

#include <utility>

namespace roster::http {

Result<ResultFilter> ResultFilter::Parse(const Query& query) {
  ResultFilter filter;
  filter.text_ = std::string(query.Get("filter").value_or(""));
  // >>> FILTER HOOK: parse filter.text_ with the expression language here.
  if (filter.active()) return InvalidArgument("filter not supported yet");
  return filter;
}

Status ResultFilter::Apply(Json& /*items*/) const {
  if (!active()) return Status::Ok();
  // >>> FILTER HOOK: keep the items that match here (unreachable until Parse accepts).
  return InvalidArgument("filter not supported yet");
}

}  // namespace roster::http
