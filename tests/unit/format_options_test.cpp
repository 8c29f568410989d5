// The request "format" travels with the sampling options: validation and the runner round trip.
#include <gtest/gtest.h>

#include "common/options.h"

namespace ebb {
namespace {

using json = nlohmann::json;

TEST(FormatOption, AcceptsJsonSchemasAndNothing) {
  EXPECT_TRUE(validate_format(nullptr).is_null());
  EXPECT_TRUE(validate_format("").is_null());
  EXPECT_EQ(validate_format("json"), "json");
  json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}};
  EXPECT_EQ(validate_format(schema), schema);
  EXPECT_EQ(validate_format(json::object()), json::object());
}

TEST(FormatOption, RejectsOtherValues) {
  EXPECT_THROW(validate_format("yaml"), OptionsError);
  EXPECT_THROW(validate_format("JSON "), OptionsError);
  EXPECT_THROW(validate_format(3), OptionsError);
  EXPECT_THROW(validate_format(true), OptionsError);
  EXPECT_THROW(validate_format(json::array({"json"})), OptionsError);
  try {
    validate_format("xml");
  } catch (const OptionsError& e) {
    EXPECT_NE(std::string(e.what()).find("\"json\" or a JSON schema"), std::string::npos) << e.what();
  }
}

TEST(FormatOption, RoundTripsToTheRunner) {
  SamplingOptions s;
  EXPECT_TRUE(sampling_from_json(to_json(s)).format.is_null());
  s.format = "json";
  EXPECT_EQ(sampling_from_json(to_json(s)).format, "json");
  s.format = {{"type", "object"}, {"required", {"a"}}};
  EXPECT_EQ(sampling_from_json(to_json(s)).format, s.format);
}

TEST(FormatOption, IsNotAnOllamaOption) {
  // Ollama reads "format" from the request body, not from "options".
  auto o = parse_options({{"format", "json"}});
  EXPECT_TRUE(o.sampling.format.is_null());
  EXPECT_EQ(o.unknown, std::vector<std::string>{"format"});
}

}  // namespace
}  // namespace ebb
