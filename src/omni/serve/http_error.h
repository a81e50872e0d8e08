// The API's one error shape and the one place a Status becomes an HTTP
// status code (gorse's server/rest.go keeps the same mapping in one table):
//
//   {"error":{"code":"invalid_argument","message":"...","field":"ts"}}
//
// `code` is StatusCodeName() of the omni::Status, or one of the HTTP-layer
// codes: "unauthenticated" (401), "permission_denied" (403),
// "rate_limited" (429), "payload_too_large" (413), "not_found" (404 for an
// unknown route), "method_not_allowed" (405), "unavailable" (503).
#pragma once

#include <string>
#include <string_view>

#include "omni/common/status.h"

namespace omni::serve {

// invalid_argument 400, not_found 404, already_exists 409,
// failed_precondition 409, resource_exhausted 429, unavailable 503,
// unimplemented 501, internal 500.
int HttpStatusOf(StatusCode code);

// The error object as JSON text; `field` is omitted when empty.
std::string ErrorJson(std::string_view code, std::string_view message, std::string_view field = {});
std::string ErrorJson(const Status& status, std::string_view field = {});

}  // namespace omni::serve
