#include "omni/serve/http_error.h"

#include "omni/common/json_writer.h"

namespace omni::serve {

int HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

std::string ErrorJson(std::string_view code, std::string_view message, std::string_view field) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject();
  w.Key("code").String(code).Key("message").String(message);
  if (!field.empty()) w.Key("field").String(field);
  w.EndObject().EndObject();
  return w.Take();
}

std::string ErrorJson(const Status& status, std::string_view field) {
  return ErrorJson(StatusCodeName(status.code()), status.message(), field);
}

}  // namespace omni::serve
