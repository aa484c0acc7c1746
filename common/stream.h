/*
 * stream.h — one TCP connection, plaintext or TLS, for every listener and
 * client of tenure: the caller reads and writes plaintext either way.
 *
 * Contract
 * --------
 * Loop thread only.  A stream owns its uv_tcp_t and its memory; the
 * caller owns the stream from stream_accept()/stream_connect() until it
 * calls stream_close(), which every stream gets exactly once.
 *
 * Callbacks (all from the loop, never from inside a stream_* call):
 *   alloc, read  as libuv's: read(s, data, n) delivers n > 0 plaintext
 *                bytes at the start of the buffer alloc() gave (so the
 *                caller parses in its own buffer, with no copy on the
 *                plaintext path).  Unlike libuv, read() is not called
 *                for an empty read: alloc() hands out a view of the
 *                caller's buffer, it must not allocate;
 *   ready        (optional) once, when the connection can carry data: a
 *                connect completed (plaintext) or a TLS handshake
 *                completed (peer: the names of the peer's certificate,
 *                none when it sent none; NULL on plaintext).  An accepted
 *                plaintext stream is ready on return, and gets no call;
 *   end          once, when the connection is over: status UV_EOF when
 *                the peer closed it (on TLS, with or without close_notify:
 *                every protocol of tenure delimits its messages), another
 *                libuv error code otherwise (UV_EPROTO: TLS failed), with
 *                why, a message for the log ("connection refused", "TLS
 *                handshake failed: the client's certificate: ...").
 *                Reading has stopped; the caller calls stream_close().
 * After stream_close() the only callback is the one it is given.
 *
 * Errors: functions return 0 or a negative libuv error code.  A
 * stream_write() that fails (the connection already failed or is closing,
 * or memory ran out) returns it and end() is not called for it: the
 * caller closes.  A failure found later (a write the kernel refused, the
 * peer's reset, a TLS error) comes through end().
 *
 * Writes never block and never drop: what the kernel does not take at
 * once is queued (stream_queued() counts it; callers cap it and close a
 * peer that does not read).  Plaintext is offered to the kernel directly
 * from the caller's buffer (uv_try_write) when nothing is queued, and
 * only the rest is copied, into one buffer that is reused: no allocation
 * and no copy per write in the common case.  With TLS, the data is
 * encrypted and the ciphertext goes the same way; data written before
 * the handshake completed waits (counted by stream_queued()) and goes
 * once it has.
 */
#ifndef TENURE_COMMON_STREAM_H
#define TENURE_COMMON_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/tls.h"

struct stream;

struct stream_callbacks {
	void (*alloc)(struct stream *s, size_t suggested, uv_buf_t *buf);
	void (*read)(struct stream *s, char *data, size_t n);
	void (*ready)(struct stream *s, const struct tls_peer_names *peer);
	void (*end)(struct stream *s, int status, const char *why);
};

/* Accepts a connection waiting on listener (call from its connection
 * callback) and starts reading; with tls (not NULL) as the accepting side
 * of a handshake.  cb is not copied: it must outlive the stream. */
int stream_accept(uv_stream_t *listener, struct tls_context *tls,
		  const struct stream_callbacks *cb, void *data,
		  struct stream **out);
/* Accepts the connection waiting on listener and resets it at once: a
 * listener over its cap neither leaves it in the backlog nor holds a
 * descriptor for it. */
void stream_refuse(uv_stream_t *listener);
/* Connects to addr; ready() or end() tells how it went.  With tls,
 * server_name is the name the server's certificate must carry unless the
 * context sets one (tls.h).  On an immediate failure nothing is created
 * and err says why. */
int stream_connect(uv_loop_t *loop, const struct sockaddr *addr,
		   struct tls_context *tls, const char *server_name,
		   const struct stream_callbacks *cb, void *data,
		   struct stream **out, char *err, size_t errlen);

/* Queues len bytes of plaintext (see the contract). */
int stream_write(struct stream *s, const void *data, size_t len);
/* Bytes written and not yet taken by the kernel. */
size_t stream_queued(const struct stream *s);

/* Stops delivering read() for good (HTTP reads one request); end() still
 * reports a failure to send.  A TLS handshake in progress goes on. */
void stream_read_stop(struct stream *s);

/* Holds read() back until stream_resume(): the bytes wait in the kernel
 * (and with TLS, decrypted ones in the stream).  For a server with more
 * work than one turn of its loop should take: what a paused client sent
 * is read on a later turn, after the timers.  Reads for a TLS handshake
 * in progress go on (read() waits). */
void stream_pause(struct stream *s);
void stream_resume(struct stream *s);

/* Ends the stream and frees it, then calls closed(arg) (may be NULL).
 * flush: first send what is queued (a failure to send ends the wait);
 * otherwise what is queued is dropped.  On TLS, close_notify is sent
 * when it can be without waiting.  A second call may only turn a
 * flushing close into an immediate one (its closed is ignored). */
void stream_close(struct stream *s, bool flush, void (*closed)(void *arg),
		  void *arg);

/* Ends the stream at once with a TCP reset (the peer sees ECONNRESET),
 * frees it, then calls closed(arg): what is queued is dropped and no
 * close_notify is sent.  For a peer that does not read: a plain close
 * would leave the unsent bytes in the kernel's buffers until TCP gives
 * up.  May follow a flushing stream_close() (whose closed is kept), not
 * a completed one. */
void stream_reset(struct stream *s, void (*closed)(void *arg), void *arg);

/* The caller's pointer given at accept/connect. */
void *stream_data(const struct stream *s);
/* The TCP handle (nodelay, keepalive, peer address); not to read, write
 * or close directly. */
uv_tcp_t *stream_tcp(struct stream *s);
/* Whether the stream runs TLS. */
bool stream_is_tls(const struct stream *s);
/* Whether bytes from the other end wait unread in the kernel.  libuv runs
 * due timers before it polls: a process whose loop ran late sees its
 * deadlines pass while the answers are already there, and must not take
 * that for silence. */
bool stream_input_waiting(struct stream *s);

#endif
