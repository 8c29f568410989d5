// Create's quantize step with the real `ebb quantize` as a child process (the server never calls
// llama.cpp itself): a synthetic F16 model becomes a Q4_0 layer, with per-tensor progress.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../common/file_bytes.h"
#include "../common/run_command.h"
#include "../common/scratch_dir.h"
#include "common/gguf_reader.h"
#include "common/model_details.h"
#include "store/quantize_child.h"

namespace ebb::store {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(CreateQuantize, RunsEbbQuantizeAsAChild) {
  const fs::path dir = ebb::test::scratch_dir("ebb-create-q");
  const fs::path f16 = dir / "f16.gguf";
  int rc = 0;
  ebb::test::run_command(
      std::string(EBB_BIN) + " synth --out " + f16.string() + " --params 1M --quant f16 --seed 3 >/dev/null 2>&1", &rc);
  ASSERT_EQ(rc, 0);
  StoreWriter w(Store(dir / "models"), false);
  const std::string bytes = test::file_bytes(f16);
  const std::string digest = "sha256:" + sha256_hex(bytes);
  bool sent = false;
  w.upload_blob(digest, [&](std::string& out) {
    if (sent) return false;
    out = bytes;
    return sent = true;
  });

  std::vector<json> events;
  create_model(w,
               CreateRequest::from_json({{"model", "me/q4"}, {"files", {{"f16.gguf", digest}}}, {"quantize", "q4_0"}}),
               quantize_with_ebb(EBB_BIN), [&](const json& j) { events.push_back(j); });

  const auto m = w.store().find(ModelName::parse("me/q4"));
  ASSERT_TRUE(m && m->manifest);
  EXPECT_EQ(m->error, "");
  const GgufInfo info = read_gguf_header(m->model_blob.string());
  EXPECT_EQ(info.quantization_level(), "Q4_0");
  EXPECT_EQ(m->manifest->layer(media::kModel)->digest, "sha256:" + sha256_hex(test::file_bytes(m->model_blob)));
  EXPECT_LT(m->manifest->layer(media::kModel)->size, static_cast<int64_t>(bytes.size()));

  std::vector<int64_t> completed;
  for (const auto& e : events)
    if (e["status"] == "quantizing F16 model to Q4_0") {
      EXPECT_EQ(e["total"], static_cast<int64_t>(bytes.size()));
      completed.push_back(e["completed"].get<int64_t>());
    }
  ASSERT_GE(completed.size(), 3u);  // the start, then per tensor
  EXPECT_TRUE(std::is_sorted(completed.begin(), completed.end()));
  EXPECT_EQ(completed.back(), static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(events.back()["status"], "success");

  // A quantizer that cannot run says so.
  EXPECT_THROW(quantize_with_ebb(dir / "no-such-ebb")(f16, dir / "out.gguf", "q4_0", [](int, int) {}),
               std::runtime_error);
  try {
    quantize_with_ebb(EBB_BIN)(f16, dir / "out.gguf", "q9_9", [](int, int) {});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown quantization type 'q9_9'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ebb::store
