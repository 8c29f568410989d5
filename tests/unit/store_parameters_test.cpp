// PARAMETER text typed as Ollama's FormatParams types it, and a create request's parameters
// object checked: the params layer never holds a string where a number belongs.
#include <gtest/gtest.h>

#include "store/parameters.h"

namespace ebb::store {
namespace {

using json = nlohmann::json;

TEST(StoreParameters, TypesModelfileText) {
  EXPECT_EQ(parameter_from_text("num_ctx", "4096"), json(4096));
  EXPECT_TRUE(parameter_from_text("num_ctx", "4096").is_number_integer());
  EXPECT_TRUE(parameter_from_text("temperature", "0.7").is_number_float());
  EXPECT_FLOAT_EQ(parameter_from_text("temperature", "0.7").get<float>(), 0.7f);
  EXPECT_EQ(parameter_from_text("seed", "-1"), json(-1));
  EXPECT_EQ(parameter_from_text("use_mmap", "false"), json(false));
  EXPECT_EQ(parameter_from_text("use_mmap", "T"), json(true));
  EXPECT_EQ(parameter_from_text("stop", "<|im_end|>"), json::array({"<|im_end|>"}));
}

TEST(StoreParameters, RefusesBadTextWithTheParameterNamed) {
  try {
    parameter_from_text("temperature", "warm");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "invalid float value 'warm' for parameter 'temperature'");
  }
  EXPECT_THROW(parameter_from_text("num_ctx", "4k"), std::invalid_argument);
  EXPECT_THROW(parameter_from_text("num_ctx", "1.5"), std::invalid_argument);
  EXPECT_THROW(parameter_from_text("num_ctx", ""), std::invalid_argument);
  EXPECT_THROW(parameter_from_text("use_mmap", "yes"), std::invalid_argument);
  try {
    parameter_from_text("mirostat_taux", "1");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "unknown parameter 'mirostat_taux'");
  }
  EXPECT_TRUE(deprecated_parameter("mirostat"));
  EXPECT_FALSE(deprecated_parameter("temperature"));
}

TEST(StoreParameters, NormalizesARequestsObject) {
  const json out = normalize_parameters(json{{"num_ctx", 8192.0}, {"top_p", 1}, {"stop", "END"}, {"seed", nullptr}});
  EXPECT_EQ(out, (json{{"num_ctx", 8192}, {"top_p", 1}, {"stop", {"END"}}}));
  EXPECT_TRUE(out["num_ctx"].is_number_integer());
  EXPECT_EQ(normalize_parameters(nullptr), json::object());
  EXPECT_EQ(normalize_parameters(json{{"stop", {"a", "b"}}}), (json{{"stop", {"a", "b"}}}));
}

TEST(StoreParameters, RefusesABadObject) {
  auto message = [](const json& p) {
    try {
      normalize_parameters(p);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(json{{"num_ctx", "4096"}}), "parameter 'num_ctx' must be an integer, got \"4096\"");
  EXPECT_EQ(message(json{{"num_ctx", 1.5}}), "parameter 'num_ctx' must be an integer, got 1.5");
  EXPECT_EQ(message(json{{"temperature", true}}), "parameter 'temperature' must be a number, got true");
  EXPECT_EQ(message(json{{"stop", {"a", 1}}}), "parameter 'stop' must be a string or an array of strings");
  EXPECT_EQ(message(json{{"nope", 1}}), "unknown parameter 'nope'");
  EXPECT_EQ(message(json::array()), "'parameters' must be an object, got array");
  EXPECT_EQ(message(json{{"num_ctx", -1}}), "option 'num_ctx' must be between 0 and 2147483647, got -1");
  EXPECT_EQ(message(json{{"top_k", 1e300}}), "option 'top_k' is too large: 1e+300");  // not cast to int64 first
}

}  // namespace
}  // namespace ebb::store
