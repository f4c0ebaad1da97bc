// Optional native sealing and opening of envelope segments (docs/encryption.md, "Native segment
// cipher"). Node's cipher API returns a freshly allocated, zero-filled and then copied buffer for
// every update() and needs a new JavaScript cipher object per segment; this addon runs the same
// AES-256-GCM of the same OpenSSL that Node is linked with (the node binary exports it) over a whole
// block of segments, writing into a buffer the caller owns. The output is byte-for-byte that of the
// JavaScript path (src/crypto/envelope/segments.ts), which remains the fallback; a test checks both.
//
// JavaScript API (all arguments are checked; a bad call throws, it never writes out of bounds):
//   create(encrypt: boolean, key: Buffer(32), noncePrefix: Buffer(7), aad: Buffer) -> handle
//   seal(handle, input, output, segmentSize, firstIndex, final) -> bytes written
//     output must hold input.length + 16 * segments; the last segment of the block carries the
//     last flag when `final` is true. An empty input seals one empty segment.
//   open(handle, input, output, unit, firstIndex, final) -> bytes written, or -1 - k when the k-th
//     segment of the block fails authentication (its output bytes are zeroed). unit = S + 16.
//   destroy(handle): frees the OpenSSL context (and its key schedule) now instead of at GC.
// A handle is an external value type-tagged by this addon (napi_type_tag_object, N-API 8); every
// call checks the tag, so an external made elsewhere (another addon's pointer) is refused instead of
// being read as this addon's context.
#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LEN 16
#define PREFIX_LEN 7
#define MAX_AAD 64

typedef struct {
  EVP_CIPHER_CTX *ctx;
  int encrypt;
  unsigned char prefix[PREFIX_LEN];
  unsigned char aad[MAX_AAD];
  size_t aad_len;
} segctx;

/* Marks the externals this addon made; random, never changed (a handle of another build still matches). */
static const napi_type_tag SEGCTX_TAG = {0x7c1f4a9be2d35086ULL, 0xa4e9c01d5b7f2368ULL};

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  segctx *s = (segctx *)data;
  if (s->ctx) EVP_CIPHER_CTX_free(s->ctx);
  OPENSSL_cleanse(s, sizeof(*s));
  free(s);
}

#define THROW(msg)                             \
  do {                                         \
    napi_throw_error(env, "RAMPART_NATIVE", msg); \
    return NULL;                               \
  } while (0)

static int get_buffer(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is = false;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return 0;
  void *p = NULL;
  if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return 0;
  *data = (unsigned char *)p;
  return 1;
}

static int get_uint(napi_env env, napi_value v, double max, double *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= max) || d != (double)(uint64_t)d) return 0;
  *out = d;
  return 1;
}

/* The context behind a handle made by create(), destroyed or not; NULL for any other value. */
static segctx *get_tagged(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  bool ours = false;
  if (napi_check_object_type_tag(env, v, &SEGCTX_TAG, &ours) != napi_ok || !ours) return NULL;
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) return NULL;
  return (segctx *)p;
}

static segctx *get_handle(napi_env env, napi_value v) {
  segctx *s = get_tagged(env, v);
  return s && s->ctx ? s : NULL;
}

static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 4) THROW("create: 4 arguments expected");
  bool enc = false;
  if (napi_get_value_bool(env, argv[0], &enc) != napi_ok) THROW("create: encrypt must be a boolean");
  unsigned char *key, *prefix, *aad;
  size_t key_len, prefix_len, aad_len;
  if (!get_buffer(env, argv[1], &key, &key_len) || key_len != 32) THROW("create: key must be a 32-byte Buffer");
  if (!get_buffer(env, argv[2], &prefix, &prefix_len) || prefix_len != PREFIX_LEN) THROW("create: nonce prefix must be a 7-byte Buffer");
  if (!get_buffer(env, argv[3], &aad, &aad_len) || aad_len > MAX_AAD) THROW("create: aad must be a Buffer of at most 64 bytes");
  segctx *s = (segctx *)calloc(1, sizeof(segctx));
  if (!s) THROW("create: out of memory");
  s->ctx = EVP_CIPHER_CTX_new();
  s->encrypt = enc ? 1 : 0;
  if (!s->ctx || EVP_CipherInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, key, NULL, s->encrypt) != 1) {
    finalize(env, s, NULL);
    THROW("create: AES-256-GCM initialisation failed");
  }
  memcpy(s->prefix, prefix, PREFIX_LEN);
  memcpy(s->aad, aad, aad_len);
  s->aad_len = aad_len;
  napi_value ext;
  if (napi_create_external(env, s, finalize, NULL, &ext) != napi_ok) {
    finalize(env, s, NULL);
    THROW("create: cannot create the handle");
  }
  // The external owns s now (freed by finalize at GC): an untagged one is never handed out.
  if (napi_type_tag_object(env, ext, &SEGCTX_TAG) != napi_ok) THROW("create: cannot tag the handle");
  return ext;
}

static napi_value destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) THROW("destroy: 1 argument expected");
  segctx *s = get_tagged(env, argv[0]);
  if (!s) THROW("destroy: not a handle");
  if (s->ctx) EVP_CIPHER_CTX_free(s->ctx);
  s->ctx = NULL;
  return NULL;
}

static void nonce_for(const segctx *s, uint32_t index, int last, unsigned char *nonce) {
  memcpy(nonce, s->prefix, PREFIX_LEN);
  nonce[7] = (unsigned char)(index >> 24);
  nonce[8] = (unsigned char)(index >> 16);
  nonce[9] = (unsigned char)(index >> 8);
  nonce[10] = (unsigned char)index;
  nonce[11] = last ? 1 : 0;
}

/* One segment: returns 1 on success, 0 on authentication failure (open) or an OpenSSL error. */
static int one_segment(segctx *s, uint32_t index, int last, const unsigned char *in, size_t len, unsigned char *out, const unsigned char *tag_in) {
  unsigned char nonce[12];
  int n = 0, m = 0;
  nonce_for(s, index, last, nonce);
  if (EVP_CipherInit_ex(s->ctx, NULL, NULL, NULL, nonce, -1) != 1) return 0;
  if (s->aad_len && EVP_CipherUpdate(s->ctx, NULL, &n, s->aad, (int)s->aad_len) != 1) return 0;
  if (len && EVP_CipherUpdate(s->ctx, out, &n, in, (int)len) != 1) return 0;
  if (len && (size_t)n != len) return 0;
  if (s->encrypt) {
    if (EVP_CipherFinal_ex(s->ctx, out + len, &m) != 1 || m != 0) return 0;
    return EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + len) == 1;
  }
  if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *)tag_in) != 1) return 0;
  return EVP_CipherFinal_ex(s->ctx, out + len, &m) == 1 && m == 0;
}

/* Common argument parsing of seal and open. */
static segctx *block_args(napi_env env, napi_callback_info info, int want_encrypt, unsigned char **in, size_t *in_len, unsigned char **out, size_t *out_len, double *unit, double *first, bool *final) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6) return NULL;
  segctx *s = get_handle(env, argv[0]);
  if (!s || s->encrypt != want_encrypt) return NULL;
  if (!get_buffer(env, argv[1], in, in_len) || !get_buffer(env, argv[2], out, out_len)) return NULL;
  if (!get_uint(env, argv[3], 16.0 * 1024 * 1024 + TAG_LEN, unit) || *unit < 1) return NULL;
  if (!get_uint(env, argv[4], 4294967295.0, first)) return NULL;
  if (napi_get_value_bool(env, argv[5], final) != napi_ok) return NULL;
  return s;
}

static napi_value make_number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value seal(napi_env env, napi_callback_info info) {
  unsigned char *in, *out;
  size_t in_len, out_len;
  double unit_d, first_d;
  bool final;
  segctx *s = block_args(env, info, 1, &in, &in_len, &out, &out_len, &unit_d, &first_d, &final);
  if (!s) THROW("seal: invalid arguments");
  size_t seg = (size_t)unit_d;
  size_t nseg = in_len == 0 ? 1 : (in_len + seg - 1) / seg;
  if (first_d + (double)nseg - 1 > 4294967295.0) THROW("seal: segment index out of range");
  if (out_len < in_len + TAG_LEN * nseg) THROW("seal: output buffer too small");
  if (in < out + out_len && out < in + in_len) THROW("seal: input and output overlap");
  uint32_t first = (uint32_t)first_d;
  size_t o = 0;
  for (size_t k = 0; k < nseg; k++) {
    size_t len = in_len - k * seg < seg ? in_len - k * seg : seg;
    if (!one_segment(s, first + (uint32_t)k, final && k == nseg - 1, in + k * seg, len, out + o, NULL)) {
      OPENSSL_cleanse(out, out_len);
      THROW("seal: AES-256-GCM failed");
    }
    o += len + TAG_LEN;
  }
  return make_number(env, (double)o);
}

static napi_value open_(napi_env env, napi_callback_info info) {
  unsigned char *in, *out;
  size_t in_len, out_len;
  double unit_d, first_d;
  bool final;
  segctx *s = block_args(env, info, 0, &in, &in_len, &out, &out_len, &unit_d, &first_d, &final);
  if (!s) THROW("open: invalid arguments");
  size_t unit = (size_t)unit_d;
  if (unit <= TAG_LEN || in_len == 0) THROW("open: invalid arguments");
  size_t nseg = (in_len + unit - 1) / unit;
  if (first_d + (double)nseg - 1 > 4294967295.0) THROW("open: segment index out of range");
  size_t last_chunk = in_len - (nseg - 1) * unit;
  size_t need = (nseg - 1) * (unit - TAG_LEN) + (last_chunk > TAG_LEN ? last_chunk - TAG_LEN : 0);
  if (out_len < need) THROW("open: output buffer too small");
  if (in < out + out_len && out < in + in_len) THROW("open: input and output overlap");
  uint32_t first = (uint32_t)first_d;
  size_t o = 0;
  for (size_t k = 0; k < nseg; k++) {
    size_t chunk = in_len - k * unit < unit ? in_len - k * unit : unit;
    if (chunk < TAG_LEN) return make_number(env, -1.0 - (double)k);
    size_t len = chunk - TAG_LEN;
    const unsigned char *c = in + k * unit;
    if (!one_segment(s, first + (uint32_t)k, final && k == nseg - 1, c, len, out + o, c + len)) {
      OPENSSL_cleanse(out + o, len);
      return make_number(env, -1.0 - (double)k);
    }
    o += len;
  }
  return make_number(env, (double)o);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_, NULL, NULL, NULL, napi_enumerable, NULL},
      {"destroy", NULL, destroy, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(rampart_segments, init)
