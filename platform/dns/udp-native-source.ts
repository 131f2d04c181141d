/**
 * The C half of the resolver's native UDP socket (udp-native.ts), compiled
 * at first use by Bun's built-in TinyCC (bun:ffi `cc`): no toolchain and no
 * system headers needed (the few libc declarations it uses are written out
 * below; their layouts are the same on every 64-bit Linux).
 *
 * One IPv4 UDP socket per listener and one thread that serves it: the
 * thread waits in recvmmsg (up to BATCH datagrams per call) and answers
 * what it can by itself from an answer cache that only the JavaScript side
 * fills: a single A question (class IN, plain labels, optional EDNS0 OPT;
 * the shape core/net/dns-fast.ts answers) from an asker whose answer for
 * that name JavaScript has already given. It rotates the records per answer
 * as JavaScript does and sends the batch's answers in one sendmmsg.
 * Everything else (a first question, another shape, an answer that would be
 * truncated) goes to JavaScript through a ring of slots both sides share,
 * with one wake-up (a thread-safe JSCallback) until JavaScript has taken
 * what is there; JavaScript sends its replies on the same socket (its own
 * sendmmsg buffers). `nu_forget` empties the cache (JavaScript calls it when
 * the table it answers from changes). Why: docs/ENGINEERING.md (issue 12,
 * the resolver's sockets): a wake-up of this thread costs a fraction of a
 * wake-up of the JavaScript event loop, and the tail latency follows it.
 *
 * Locking: one mutex for the ring's indices (the slots themselves are
 * written only by the thread, beyond `head`, and read only by JavaScript,
 * between `tail` and `head`), with a condition the thread waits on when the
 * ring is full; one mutex for the cache.
 */
export const UDP_NATIVE_BATCH = 64;
/** Bytes per received datagram; a longer one arrives with length 0 (dropped). */
export const UDP_NATIVE_IN_SLOT = 2048;
/** Datagrams waiting for JavaScript at most (past it, the thread waits for JavaScript to take some). */
export const UDP_NATIVE_RING = 128;
/** The replies JavaScript sends in one batch, packed. */
export const UDP_NATIVE_OUT_BYTES = 65536;
/** Counters the thread keeps (u32 each, wrapping): answered from the cache, replies the socket refused. */
export const UDP_NATIVE_COUNTERS = 2;

export const UDP_NATIVE_SOURCE = `
typedef unsigned long size_t;
struct iovec { void *iov_base; size_t iov_len; };
struct msghdr { void *msg_name; unsigned int msg_namelen; struct iovec *msg_iov; size_t msg_iovlen; void *msg_control; size_t msg_controllen; int msg_flags; };
struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; };
struct sockaddr_in { unsigned short sin_family; unsigned short sin_port; unsigned int sin_addr; unsigned char zero[8]; };
struct timeval { long tv_sec; long tv_usec; };
int socket(int, int, int);
int setsockopt(int, int, int, const void *, unsigned int);
int bind(int, const void *, unsigned int);
int getsockname(int, void *, unsigned int *);
int shutdown(int, int);
int recvmmsg(int, struct mmsghdr *, unsigned int, int, void *);
int sendmmsg(int, struct mmsghdr *, unsigned int, int);
int close(int);
void *calloc(size_t, size_t);
void free(void *);
void *memcpy(void *, const void *, size_t);
int pthread_create(unsigned long *, void *, void *(*)(void *), void *);
int pthread_join(unsigned long, void **);
int pthread_mutex_lock(void *);
int pthread_mutex_unlock(void *);
int pthread_cond_wait(void *, void *);
int pthread_cond_broadcast(void *);
int *__errno_location(void);

#define AF_INET 2
#define SOCK_DGRAM 2
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SO_RCVTIMEO 20
#define SHUT_RD 0
#define MSG_DONTWAIT 0x40
#define MSG_TRUNC 0x20
#define MSG_WAITFORONE 0x10000
#define EINTR 4
#define BATCH ${UDP_NATIVE_BATCH}
#define IN_SLOT ${UDP_NATIVE_IN_SLOT}
#define RING ${UDP_NATIVE_RING}
#define OUT_BYTES ${UDP_NATIVE_OUT_BYTES}
#define CACHE 1024
#define MAXN 16
#define RR 16
#define ANSWER_SLOT 1024

struct entry {
  unsigned int gen;
  unsigned int asker;
  unsigned short namelen;
  unsigned short n;
  unsigned char name[256];
  unsigned char rr[RR * (2 * MAXN - 1)];
};

struct ctx {
  /* shared with JavaScript (offsets: nu_layout) */
  unsigned int ring_meta[RING * 2];   /* per slot: length | source port << 16, source address */
  unsigned int out_meta[BATCH * 4];   /* per reply: offset in out, length, port, address */
  unsigned int counters[${UDP_NATIVE_COUNTERS}];
  unsigned char ring[RING * IN_SLOT];
  unsigned char out[OUT_BYTES];
  /* the thread's own */
  int fd;
  volatile int closing;
  unsigned long thread;
  void (*wake)(void);
  unsigned long ring_lock[8];
  unsigned long ring_space[8];
  unsigned int head, tail;
  int notified;
  unsigned long cache_lock[8];
  unsigned int gen;
  unsigned int rotation;
  struct entry *cache;
  unsigned char in[BATCH][IN_SLOT];
  unsigned char answers[BATCH][ANSWER_SLOT];
  struct mmsghdr m[BATCH], o[BATCH];
  struct iovec iv[BATCH], ov[BATCH];
  struct sockaddr_in peer[BATCH];
  /* JavaScript's sends */
  struct mmsghdr jm[BATCH];
  struct iovec jiov[BATCH];
  struct sockaddr_in jpeer[BATCH];
};

/* One datagram of an mmsghdr batch: its buffer (len bytes) and its peer's address. */
static void datagram(struct mmsghdr *m, struct iovec *iv, struct sockaddr_in *peer, void *buf, size_t len) {
  iv->iov_base = buf;
  iv->iov_len = len;
  m->msg_hdr.msg_name = peer;
  m->msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
  m->msg_hdr.msg_iov = iv;
  m->msg_hdr.msg_iovlen = 1;
  m->msg_hdr.msg_control = 0;
  m->msg_hdr.msg_controllen = 0;
  m->msg_hdr.msg_flags = 0;
}

static unsigned short be16(unsigned short x) { return (unsigned short)((x >> 8) | (x << 8)); }
static unsigned int be32(unsigned int x) { return (x >> 24) | ((x >> 8) & 0xff00) | ((x << 8) & 0xff0000) | (x << 24); }
static int lower(int c) { return c >= 65 && c <= 90 ? c + 32 : c; }

/*
 * The simple shape (core/net/dns-fast.ts scan): returns the offset just past
 * the question, or -1; sets the name's hash (FNV-1a over the lowercased
 * labels) and the asker's UDP payload size.
 */
static int scan(const unsigned char *q, int n, unsigned int *hash, int *payload) {
  if (n < 17) return -1;
  if ((q[2] & 0xfa) != 0) return -1;
  if (q[4] != 0 || q[5] != 1 || q[6] != 0 || q[7] != 0 || q[8] != 0 || q[9] != 0 || q[10] != 0) return -1;
  int ar = q[11];
  if (ar > 1) return -1;
  unsigned int h = 0x811c9dc5;
  int i = 12;
  for (;;) {
    if (i >= n) return -1;
    int len = q[i];
    if (len == 0) break;
    if (len > 63 || i + 1 + len > n) return -1;
    h = (h ^ len) * 0x01000193;
    for (int k = i + 1; k <= i + len; k++) {
      int c = q[k];
      if (c >= 65 && c <= 90) c += 32;
      else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 95)) return -1;
      h = (h ^ c) * 0x01000193;
    }
    i += 1 + len;
    if (i - 13 > 255) return -1;
  }
  i++;
  if (i + 4 > n) return -1;
  if (q[i] != 0 || q[i + 1] != 1 || q[i + 2] != 0 || q[i + 3] != 1) return -1;
  int end = i + 4;
  int p = 512;
  if (ar == 1) {
    if (end + 11 > n || q[end] != 0 || q[end + 1] != 0 || q[end + 2] != 41) return -1;
    p = (q[end + 3] << 8) | q[end + 4];
    if (p < 512) p = 512;
    if (p > 4096) p = 4096;
  } else if (end != n) return -1;
  *hash = h;
  *payload = p;
  return end;
}

static unsigned int slot_of(unsigned int hash, unsigned int asker) {
  return (hash ^ (asker * 0x9e3779b1u)) & (CACHE - 1);
}

/* The answer to q from the cache, written to out; its length, or 0 when JavaScript must answer. */
static int answer(struct ctx *c, const unsigned char *q, int n, unsigned int asker, unsigned char *out) {
  unsigned int hash; int payload;
  int end = scan(q, n, &hash, &payload);
  if (end < 0) return 0;
  int namelen = end - 4 - 12;
  int len = 0;
  pthread_mutex_lock(c->cache_lock);
  struct entry *e = &c->cache[slot_of(hash, asker)];
  if (e->gen == c->gen && e->asker == asker && e->namelen == namelen && end + RR * e->n <= payload) {
    int k = 0;
    while (k < namelen && lower(q[12 + k]) == e->name[k]) k++;
    if (k == namelen) {
      int cnt = e->n;
      out[0] = q[0]; out[1] = q[1];
      out[2] = 0x84 | (q[2] & 1); out[3] = 0x80;
      out[4] = 0; out[5] = 1; out[6] = 0; out[7] = cnt; out[8] = 0; out[9] = 0; out[10] = 0; out[11] = 0;
      memcpy(out + 12, q + 12, end - 12);
      unsigned int from = cnt > 1 ? c->rotation % cnt : 0;
      c->rotation++;
      memcpy(out + end, e->rr + RR * from, RR * cnt);
      len = end + RR * cnt;
    }
  }
  pthread_mutex_unlock(c->cache_lock);
  return len;
}

static void *serve(void *arg) {
  struct ctx *c = arg;
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      datagram(&c->m[i], &c->iv[i], &c->peer[i], c->in[i], IN_SLOT);
    }
    int n = recvmmsg(c->fd, c->m, BATCH, MSG_WAITFORONE, 0);
    if (c->closing) break;
    if (n <= 0) continue;
    int k = 0;
    for (int i = 0; i < n; i++) {
      unsigned int len = (c->m[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : c->m[i].msg_len;
      unsigned int asker = be32(c->peer[i].sin_addr);
      int alen = len > 0 ? answer(c, c->in[i], len, asker, c->answers[k]) : 0;
      if (alen > 0) {
        datagram(&c->o[k], &c->ov[k], &c->peer[i], c->answers[k], alen);
        k++;
        continue;
      }
      /*
       * To JavaScript: the slot at head is free while head - tail < RING (only this thread
       * moves head). When JavaScript is that far behind, this thread waits for it (what
       * is not read yet waits in the socket's buffer, as with the runtime's sockets).
       */
      pthread_mutex_lock(c->ring_lock);
      while (c->head - c->tail == RING && !c->closing) pthread_cond_wait(c->ring_space, c->ring_lock);
      unsigned int at = c->head % RING;
      pthread_mutex_unlock(c->ring_lock);
      if (c->closing) break;
      memcpy(c->ring + at * IN_SLOT, c->in[i], len);
      c->ring_meta[at * 2] = len | ((unsigned int)be16(c->peer[i].sin_port) << 16);
      c->ring_meta[at * 2 + 1] = asker;
      pthread_mutex_lock(c->ring_lock);
      c->head++;
      int wake = !c->notified;
      c->notified = 1;
      pthread_mutex_unlock(c->ring_lock);
      /* At once, not after the batch: this thread may wait for JavaScript before the batch ends. */
      if (wake) c->wake();
    }
    int sent = 0;
    while (sent < k) {
      int r = sendmmsg(c->fd, c->o + sent, k - sent, MSG_DONTWAIT);
      if (r < 0 && *__errno_location() == EINTR) continue;
      if (r <= 0) break;
      sent += r;
    }
    c->counters[0] += sent;
    c->counters[1] += k - sent;
  }
  return 0;
}

/* Binds addr:port (host order). Returns the context, or 0 with errno in res[1]; res[0] is the bound port. */
void *nu_open(unsigned int addr, int port, void (*wake)(void), int *res) {
  struct ctx *c = calloc(1, sizeof(struct ctx));
  struct entry *cache = calloc(CACHE, sizeof(struct entry));
  if (!c || !cache) { free(c); free(cache); res[1] = 12; return 0; }
  c->cache = cache;
  c->gen = 1;
  c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { AF_INET, be16((unsigned short)port), be32(addr) };
  unsigned int alen = sizeof a;
  if (c->fd < 0 || bind(c->fd, &a, sizeof a) < 0 || getsockname(c->fd, &a, &alen) < 0) {
    res[1] = *__errno_location();
    if (c->fd >= 0) close(c->fd);
    free(cache); free(c);
    return 0;
  }
  res[0] = be16(a.sin_port);
  /* A bound on how long closing can wait, should the shutdown not wake the thread. */
  struct timeval tv = { 0, 200000 };
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  c->wake = wake;
  if (pthread_create(&c->thread, 0, serve, c) != 0) {
    res[1] = 11;
    close(c->fd); free(cache); free(c);
    return 0;
  }
  return c;
}

/* Datagrams waiting for JavaScript: (first slot << 16) | how many in a row from it; 0 when none (then the next one wakes JavaScript). */
int nu_take(struct ctx *c) {
  pthread_mutex_lock(c->ring_lock);
  unsigned int n = c->head - c->tail;
  unsigned int at = c->tail % RING;
  if (n == 0) c->notified = 0;
  pthread_mutex_unlock(c->ring_lock);
  if (n > RING - at) n = RING - at;
  return (int)((at << 16) | n);
}

/* JavaScript is done with the first n waiting slots. */
void nu_release(struct ctx *c, int n) {
  pthread_mutex_lock(c->ring_lock);
  c->tail += n;
  pthread_cond_broadcast(c->ring_space);
  pthread_mutex_unlock(c->ring_lock);
}

/*
 * Remembers JavaScript's answer a (alen bytes) to q (qlen bytes) from asker,
 * when both are the simple shape: the question as asked, NOERROR, 1 to MAXN
 * A records, each a pointer to the question's name, nothing else. Returns 1
 * if remembered.
 */
int nu_put(struct ctx *c, const unsigned char *q, int qlen, unsigned int asker, const unsigned char *a, int alen) {
  unsigned int hash; int payload;
  int end = scan(q, qlen, &hash, &payload);
  if (end < 0 || alen <= end || (alen - end) % RR != 0) return 0;
  int n = (alen - end) / RR;
  if (n > MAXN) return 0;
  if (a[0] != q[0] || a[1] != q[1] || (a[2] & 0xfe) != 0x84 || a[3] != 0x80) return 0;
  if (a[4] != 0 || a[5] != 1 || a[6] != 0 || a[7] != n || a[8] != 0 || a[9] != 0 || a[10] != 0 || a[11] != 0) return 0;
  for (int k = 12; k < end; k++) if (a[k] != q[k]) return 0;
  for (int r = 0; r < n; r++) {
    const unsigned char *x = a + end + RR * r;
    if (x[0] != 0xc0 || x[1] != 12 || x[2] != 0 || x[3] != 1 || x[4] != 0 || x[5] != 1 || x[10] != 0 || x[11] != 4) return 0;
  }
  int namelen = end - 4 - 12;
  pthread_mutex_lock(c->cache_lock);
  struct entry *e = &c->cache[slot_of(hash, asker)];
  e->asker = asker;
  e->namelen = namelen;
  e->n = n;
  for (int k = 0; k < namelen; k++) e->name[k] = lower(q[12 + k]);
  for (int k = 0; k < 2 * n - 1; k++) memcpy(e->rr + RR * k, a + end + RR * (k % n), RR);
  e->gen = c->gen;
  pthread_mutex_unlock(c->cache_lock);
  return 1;
}

/* Forgets every remembered answer. */
void nu_forget(struct ctx *c) {
  pthread_mutex_lock(c->cache_lock);
  c->gen++;
  if (c->gen == 0) c->gen = 1;
  pthread_mutex_unlock(c->cache_lock);
}

/* Sends n replies described by out_meta from out (JavaScript's). Returns how many the socket took, or -errno. */
int nu_send(struct ctx *c, int n) {
  if (n > BATCH) n = BATCH;
  for (int i = 0; i < n; i++) {
    unsigned int *d = c->out_meta + i * 4;
    c->jpeer[i].sin_family = AF_INET;
    c->jpeer[i].sin_port = be16((unsigned short)d[2]);
    c->jpeer[i].sin_addr = be32(d[3]);
    datagram(&c->jm[i], &c->jiov[i], &c->jpeer[i], c->out + d[0], d[1]);
  }
  int sent = 0;
  while (sent < n) {
    int r = sendmmsg(c->fd, c->jm + sent, n - sent, MSG_DONTWAIT);
    if (r < 0 && *__errno_location() == EINTR) continue;
    if (r <= 0) return sent > 0 ? sent : (r < 0 ? -*__errno_location() : 0);
    sent += r;
  }
  return sent;
}

/* Stops the thread, closes the socket, frees the context. */
void nu_close(struct ctx *c) {
  pthread_mutex_lock(c->ring_lock);
  c->closing = 1;
  pthread_cond_broadcast(c->ring_space);
  pthread_mutex_unlock(c->ring_lock);
  shutdown(c->fd, SHUT_RD);
  pthread_join(c->thread, 0);
  close(c->fd);
  free(c->cache);
  free(c);
}

int nu_layout(int what) {
  struct ctx *z = 0;
  switch (what) {
    case 0: return (int)(long)&z->ring_meta;
    case 1: return (int)(long)&z->out_meta;
    case 2: return (int)(long)&z->counters;
    case 3: return (int)(long)&z->ring;
    case 4: return (int)(long)&z->out;
    default: return (int)sizeof(struct ctx);
  }
}
`;
