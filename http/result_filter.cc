#include "http/result_filter.h"

#include <utility>

namespace roster::http {

Result<ResultFilter> ResultFilter::Parse(const Query& query) {
  ResultFilter filter;
  const std::string text(query.Get("filter").value_or(""));
  if (text.empty()) return filter;
  Result<FilterExpr> expression = ParseFilter(text);
  if (!expression.ok()) return expression.status();
  filter.expression_ = std::make_shared<const FilterExpr>(std::move(*expression));
  return filter;
}

Status ResultFilter::Apply(Json& items) const {
  if (!active()) return Status::Ok();
  return FilterItems(*expression_, items);
}

}  // namespace roster::http
