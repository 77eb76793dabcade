#pragma once
// Writes that usually complete at once. A response or request of a few KB
// fits the socket's send buffer, so it is written with a non-blocking
// write right away; only what the socket does not take is left to an
// asynchronous write under `timeout`. That spares the common case a trip
// through the I/O loop and arming (and cancelling) the stream's deadline.
//
// Plain TCP only (a TLS stream must go through its own async write).
// Coroutine parameters are references or trivial (GCC 12, see server.h).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <chrono>
#include <string_view>

namespace spectra::http {

namespace detail {
inline bool would_block(const boost::system::error_code& ec) {
  return ec == boost::asio::error::would_block || ec == boost::asio::error::try_again;
}
inline void make_non_blocking(boost::beast::tcp_stream& stream, boost::system::error_code& ec) {
  if (!stream.socket().non_blocking()) stream.socket().non_blocking(true, ec);
}
}  // namespace detail

// Sends the whole message of `sr`; the error, if any. Leaves the stream's
// deadline as it was when nothing had to wait, and at `timeout` after an
// asynchronous write.
template <bool isRequest, class Body, class Fields>
boost::asio::awaitable<boost::system::error_code> write_now(
    boost::beast::tcp_stream& stream, boost::beast::http::serializer<isRequest, Body, Fields>& sr,
    std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  detail::make_non_blocking(stream, ec);
  while (!ec && !sr.is_done()) boost::beast::http::write_some(stream.socket(), sr, ec);
  if (detail::would_block(ec)) {
    ec = {};
    stream.expires_after(timeout);
    co_await boost::beast::http::async_write(stream, sr,
                                             boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  co_return ec;
}

// Sends all of `parts`, in one gather write when the socket takes them
// (the bytes must stay alive until this completes).
template <std::size_t N>
boost::asio::awaitable<boost::system::error_code> write_now(boost::beast::tcp_stream& stream,
                                                            std::array<boost::asio::const_buffer, N> parts,
                                                            std::chrono::milliseconds timeout) {
  boost::system::error_code ec;
  detail::make_non_blocking(stream, ec);
  boost::beast::buffers_suffix<std::array<boost::asio::const_buffer, N>> rest(parts);
  while (!ec && boost::beast::buffer_bytes(rest) > 0) rest.consume(stream.socket().write_some(rest, ec));
  if (detail::would_block(ec)) {
    ec = {};
    stream.expires_after(timeout);
    co_await boost::asio::async_write(stream, rest, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  co_return ec;
}

// Sends all of `data` (which must stay alive until this completes).
inline boost::asio::awaitable<boost::system::error_code> write_now(boost::beast::tcp_stream& stream,
                                                                   std::string_view data,
                                                                   std::chrono::milliseconds timeout) {
  return write_now(stream, std::array<boost::asio::const_buffer, 1>{boost::asio::buffer(data)}, timeout);
}

}  // namespace spectra::http
