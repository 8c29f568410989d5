#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <unistd.h>
#include <cstring>

#include "common/protocol.h"

namespace ebb::protocol {
namespace {

TEST(Protocol, RoundTripsFramesFedByteByByte) {
  std::string wire = encode_frame(FrameKind::Json, R"({"type":"hello"})") +
                     encode_frame(FrameKind::Binary, std::string("\0\1\2", 3)) + encode_frame(FrameKind::Json, "");
  FrameDecoder d;
  std::vector<Frame> got;
  for (char c : wire) {
    d.feed(&c, 1);
    while (auto f = d.next()) got.push_back(*f);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].kind, FrameKind::Json);
  EXPECT_EQ(got[0].payload, R"({"type":"hello"})");
  EXPECT_EQ(got[1].kind, FrameKind::Binary);
  EXPECT_EQ(got[1].payload, std::string("\0\1\2", 3));
  EXPECT_EQ(got[2].payload, "");
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Protocol, IncompleteFrameWaits) {
  std::string wire = encode_frame(FrameKind::Json, "0123456789");
  FrameDecoder d;
  d.feed(wire.data(), wire.size() - 1);
  EXPECT_FALSE(d.next().has_value());
  d.feed(wire.data() + wire.size() - 1, 1);
  EXPECT_EQ(d.next()->payload, "0123456789");
}

TEST(Protocol, RejectsOversizedAndUnknownKinds) {
  FrameDecoder d;
  const char huge[5] = {'\xff', '\xff', '\xff', '\x7f', 0};
  d.feed(huge, 5);
  EXPECT_THROW(d.next(), ProtocolError);
  FrameDecoder d2;
  const char bad_kind[5] = {0, 0, 0, 0, 9};
  d2.feed(bad_kind, 5);
  EXPECT_THROW(d2.next(), ProtocolError);
}

TEST(Protocol, OverSocketPair) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_TRUE(send_json(sv[0], {{"type", "token"}, {"text", "héllo"}}));
  ASSERT_TRUE(send_binary(sv[0], std::string(100000, 'x')));
  ::close(sv[0]);
  FrameDecoder d;
  auto a = read_frame(sv[1], d);
  ASSERT_TRUE(a);
  EXPECT_EQ(nlohmann::json::parse(a->payload)["text"], "héllo");
  auto b = read_frame(sv[1], d);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->payload.size(), 100000u);
  EXPECT_FALSE(read_frame(sv[1], d).has_value());  // clean EOF
  ::close(sv[1]);
}

TEST(Protocol, EofInsideFrameIsAnError) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::string wire = encode_frame(FrameKind::Json, "{}{}{}");
  ASSERT_TRUE(write_all(sv[0], wire.substr(0, 7)));
  ::close(sv[0]);
  FrameDecoder d;
  EXPECT_THROW(read_frame(sv[1], d), ProtocolError);
  ::close(sv[1]);
}

std::shared_ptr<SharedBlob> sealed(const std::string& bytes) {
  auto b = SharedBlob::create(bytes.size() + 100);  // room to spare: seal() cuts it
  std::memcpy(b->data(), bytes.data(), bytes.size());
  b->seal(bytes.size());
  return b;
}

TEST(Protocol, SharedFramesPassTheMemoryFileItself) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  std::string bytes(3 << 20, 'k');
  bytes[12345] = 'v';
  auto blob = sealed(bytes);
  ASSERT_TRUE(send_json(sv[0], {{"type", "snapshot"}}));
  ASSERT_TRUE(send_shared(sv[0], *blob));
  ASSERT_TRUE(send_shared(sv[0], *sealed("second")));
  ASSERT_TRUE(send_json(sv[0], {{"type", "after"}}));
  FrameDecoder d;
  EXPECT_EQ(read_frame(sv[1], d)->kind, FrameKind::Json);
  auto f = read_frame(sv[1], d);
  ASSERT_TRUE(f && f->kind == FrameKind::Shared && f->blob);
  EXPECT_EQ(f->blob->size(), bytes.size());
  EXPECT_EQ(f->blob->view(), bytes);
  // The same file, not a copy: same inode as the sender's descriptor.
  struct stat a {
  }, b{};
  ASSERT_EQ(::fstat(blob->fd(), &a), 0);
  ASSERT_EQ(::fstat(f->blob->fd(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(read_frame(sv[1], d)->blob->view(), "second");
  EXPECT_EQ(nlohmann::json::parse(read_frame(sv[1], d)->payload)["type"], "after");
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(Protocol, SharedFrameWithoutDescriptorIsAnError) {
  const char frame[13] = {8, 0, 0, 0, 2, 5, 0, 0, 0, 0, 0, 0, 0};
  FrameDecoder d;
  d.feed(frame, sizeof frame);
  EXPECT_THROW(d.next(), ProtocolError);
  FrameDecoder d2;
  const char short_payload[9] = {4, 0, 0, 0, 2, 1, 2, 3, 4};
  d2.feed(short_payload, sizeof short_payload);
  EXPECT_THROW(d2.next(), ProtocolError);
}

TEST(Protocol, SharedBlobsMustBeSealedAndOfTheStatedSize) {
  auto unsealed = SharedBlob::create(64);
  EXPECT_THROW(SharedBlob::adopt(::dup(unsealed->fd()), 64), std::runtime_error);
  auto blob = sealed("0123456789");
  EXPECT_THROW(SharedBlob::adopt(::dup(blob->fd()), 11), std::runtime_error);
  auto ok = SharedBlob::adopt(::dup(blob->fd()), 10);
  EXPECT_EQ(ok->view(), "0123456789");
  // Sealed: nobody can change the bytes under a reader.
  EXPECT_LT(::pwrite(blob->fd(), "x", 1, 0), 0);
  EXPECT_NE(::ftruncate(blob->fd(), 2), 0);
}

TEST(Protocol, UnclaimedDescriptorsAreClosedWithTheDecoder) {
  int fd = ::dup(0);
  ASSERT_GE(fd, 0);
  {
    FrameDecoder d;
    d.feed_fd(fd);
  }
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
}

}  // namespace
}  // namespace ebb::protocol
