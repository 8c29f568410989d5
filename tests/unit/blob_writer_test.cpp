// Blobs land in the store only whole and verified; an interrupted write resumes from its bytes.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../common/scratch_dir.h"
#include "common/model_details.h"
#include "store/blob_writer.h"

namespace ebb::store {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::string kData = [] {
  std::string s;
  for (int i = 0; i < 300000; ++i) s += static_cast<char>(i * 7 % 251);
  return s;
}();
const std::string kDigest = "sha256:" + sha256_hex(kData);

TEST(BlobWriter, CommitsAVerifiedBlob) {
  const fs::path dir = ebb::test::scratch_dir("ebb-blobs");
  EXPECT_FALSE(BlobWriter::present(dir, kDigest));
  BlobWriter w(dir, kDigest, false);
  w.write(std::string_view(kData).substr(0, 1000));
  w.write(std::string_view(kData).substr(1000));
  EXPECT_EQ(w.size(), kData.size());
  EXPECT_FALSE(BlobWriter::present(dir, kDigest));  // not before the commit
  const fs::path p = w.commit();
  EXPECT_EQ(p, dir / ("sha256-" + sha256_hex(kData)));
  EXPECT_EQ(read(p), kData);
  EXPECT_TRUE(BlobWriter::present(dir, kDigest));
  EXPECT_FALSE(fs::exists(p.string() + "-partial"));
}

TEST(BlobWriter, AMismatchLeavesNothing) {
  const fs::path dir = ebb::test::scratch_dir("ebb-blobs");
  BlobWriter w(dir, kDigest, false);
  w.write(kData.substr(1));  // one byte short
  try {
    w.commit();
    ADD_FAILURE() << "committed a blob with the wrong digest";
  } catch (const BlobError& e) {
    EXPECT_NE(std::string(e.what()).find("digest mismatch: expected " + kDigest), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(BlobWriter, ResumesAnInterruptedWrite) {
  const fs::path dir = ebb::test::scratch_dir("ebb-blobs");
  {
    BlobWriter w(dir, kDigest, false);
    w.write(kData.substr(0, 123456));
  }  // interrupted: the partial file stays
  BlobWriter again(dir, kDigest, true);
  EXPECT_EQ(again.size(), 123456u);
  again.write(kData.substr(123456));
  EXPECT_EQ(read(again.commit()), kData);

  // Without resume the partial bytes are dropped.
  const std::string other = "other blob";
  {
    BlobWriter w(dir, "sha256:" + sha256_hex(other), false);
    w.write("garbage");
  }
  BlobWriter fresh(dir, "sha256:" + sha256_hex(other), false);
  EXPECT_EQ(fresh.size(), 0u);
  fresh.write(other);
  EXPECT_EQ(read(fresh.commit()), other);
}

TEST(BlobWriter, BadDigestsAndDirectoriesAreErrors) {
  const fs::path dir = ebb::test::scratch_dir("ebb-blobs");
  EXPECT_THROW(BlobWriter(dir, "sha256:../../x", false), BlobError);
  EXPECT_THROW(BlobWriter(dir, "md5:abc", false), BlobError);
  std::ofstream(dir / "file") << "x";
  EXPECT_THROW(BlobWriter(dir / "file" / "blobs", kDigest, false), BlobError);  // a file on the way
}

}  // namespace
}  // namespace ebb::store
