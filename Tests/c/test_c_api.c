/* C tests of the swquant ABI: hand-worked cases, an independent float64 reference of the formulas,
 * error handling and ownership. Built with -fsanitize=address,undefined by the README's test command. */
#include "swquant.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static swq_scheme scheme(int bits, int symmetric, int granularity, int param) {
    swq_scheme s;
    s.bits = bits;
    s.grid = symmetric ? SWQ_GRID_SIGNED : SWQ_GRID_UNSIGNED;
    s.symmetric = symmetric;
    s.granularity = granularity;
    s.axis = granularity == SWQ_PER_CHANNEL ? param : 0;
    s.group_size = granularity == SWQ_PER_GROUP ? param : 0;
    s.scale_dtype = SWQ_DTYPE_F32;
    return s;
}

/* Deterministic heavy-tailed test data (xorshift + a cubic), with an outlier every 97 elements. */
static void fill(float *x, int64_t n, uint32_t seed) {
    int64_t i;
    for (i = 0; i < n; i++) {
        float u;
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        u = (float)(seed % 20001) / 10000.0f - 1.0f;
        x[i] = u * u * u + (i % 97 == 0 ? 8.0f * u : 0.0f);
    }
}

static void test_version(void) {
    CHECK(swq_abi_version() == SWQ_ABI_VERSION);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", SWQ_VERSION_MAJOR, SWQ_VERSION_MINOR, SWQ_VERSION_PATCH);
    CHECK(strcmp(swq_version(), expected) == 0);
    CHECK(strcmp(swq_status_name(SWQ_ERR_SHAPE), "SWQ_ERR_SHAPE") == 0);
}

/* 8-bit symmetric per tensor, worked by hand: scale = 1/127; 0.5 * 127 = 63.5 rounds to even 64. */
static void test_hand_worked_int8(void) {
    const float x[4] = {-1.0f, 0.5f, 0.25f, 1.0f};
    const int8_t expected[4] = {-127, 64, 32, 127};
    swq_scheme s = scheme(8, 1, SWQ_PER_TENSOR, 0);
    swq_qtensor *t = NULL;
    const uint8_t *packed = NULL;
    int64_t nbytes = 0, stride = 0;
    float scale = 0, out[4];
    int32_t zero = -1;
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 1, 4, &s, &t) == SWQ_OK);
    CHECK(swq_qtensor_packed(t, &packed, &nbytes, &stride) == SWQ_OK);
    CHECK(nbytes == 4 && stride == 4);
    CHECK(memcmp(packed, expected, 4) == 0);
    CHECK(swq_qtensor_scales(t, &scale, 1) == SWQ_OK && scale == (float)(1.0 / 127.0));
    CHECK(swq_qtensor_zero_points(t, &zero, 1) == SWQ_OK && zero == 0);
    CHECK(swq_dequantize(t, SWQ_DTYPE_F32, out, 4) == SWQ_OK);
    CHECK(out[1] == 64.0f * scale && out[3] == 1.0f * 127.0f * scale);
    swq_qtensor_free(t);
}

/* 4-bit affine on 0..15 then 15: scale 1, zero point 0, element 2i in the low nibble of byte i,
 * the odd 17th element alone in the low nibble of a ninth byte. */
static void test_nibble_layout(void) {
    float x[17];
    const uint8_t expected[9] = {0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, 0x0F};
    swq_scheme s = scheme(4, 0, SWQ_PER_TENSOR, 0);
    swq_qtensor *t = NULL;
    const uint8_t *packed = NULL;
    int64_t nbytes = 0, stride = 0, i;
    for (i = 0; i < 17; i++) x[i] = (float)(i < 16 ? i : 15);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 1, 17, &s, &t) == SWQ_OK);
    CHECK(swq_qtensor_packed(t, &packed, &nbytes, &stride) == SWQ_OK);
    CHECK(nbytes == 9 && memcmp(packed, expected, 9) == 0);
    swq_qtensor_free(t);
}

/* Float64 reference of the affine formulas for one group. */
static void reference_params(const float *x, int64_t n, int bits, double *scale, int32_t *zero) {
    double lo = 0, hi = 0, levels = (double)((1 << bits) - 1);
    float s;
    int64_t i;
    for (i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    s = (float)((hi - lo) / levels);
    if (s == 0) s = 1;
    *scale = s;
    *zero = (int32_t)(0 - nearbyintf((float)lo / s));
}

/* 4-bit groups of 128 on rows of 300 = 2 x 128 + 44: the short last group, the half-step bound. */
static void test_groups_against_reference(void) {
    enum { ROWS = 3, COLS = 300, GROUP = 128, GROUPS = 3 };
    float *x = malloc(sizeof(float) * ROWS * COLS), *y = malloc(sizeof(float) * ROWS * COLS);
    float scales[ROWS * GROUPS];
    int32_t zeros[ROWS * GROUPS];
    swq_scheme s = scheme(4, 0, SWQ_PER_GROUP, GROUP);
    swq_qtensor *t = NULL;
    int64_t count = 0, r, g, i;
    int params_ok = 1, bound_ok = 1;
    fill(x, ROWS * COLS, 7);
    CHECK(swq_qparams_count(&s, ROWS, COLS, &count) == SWQ_OK && count == ROWS * GROUPS);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, ROWS, COLS, &s, &t) == SWQ_OK);
    CHECK(swq_qtensor_scales(t, scales, ROWS * GROUPS) == SWQ_OK);
    CHECK(swq_qtensor_zero_points(t, zeros, ROWS * GROUPS) == SWQ_OK);
    CHECK(swq_dequantize(t, SWQ_DTYPE_F32, y, ROWS * COLS) == SWQ_OK);
    for (r = 0; r < ROWS; r++) {
        for (g = 0; g < GROUPS; g++) {
            int64_t start = g * GROUP, n = g == GROUPS - 1 ? COLS - start : GROUP;
            double scale;
            int32_t zero;
            reference_params(x + r * COLS + start, n, 4, &scale, &zero);
            params_ok &= (float)scale == scales[r * GROUPS + g] && zero == zeros[r * GROUPS + g];
            for (i = start; i < start + n; i++) {
                bound_ok &= fabs((double)x[r * COLS + i] - y[r * COLS + i]) <= scale * 0.5 * (1 + 1e-6);
            }
        }
    }
    CHECK(params_ok);
    CHECK(bound_ok);
    swq_qtensor_free(t);
    free(x);
    free(y);
}

/* float16 and bfloat16 inputs holding the same values as a float32 tensor quantize identically. */
static void test_half_inputs(void) {
    enum { N = 40 };
    float x[N];
    uint16_t bf16[N], f16[N];
    swq_scheme s = scheme(4, 1, SWQ_PER_CHANNEL, 0);
    swq_qtensor *a = NULL, *b = NULL, *c = NULL;
    const uint8_t *pa, *pb, *pc;
    int64_t na, nb, nc, i;
    for (i = 0; i < N; i++) {
        uint32_t bits;
        int k = (int)(i % 17) - 8; /* k / 4 is exact in every format */
        x[i] = (float)k / 4.0f;
        memcpy(&bits, &x[i], 4);
        bf16[i] = (uint16_t)(bits >> 16);
        /* binary16 of k/4: sign, exponent 15 + e, 10-bit mantissa. */
        if (k == 0) {
            f16[i] = 0;
        } else {
            int m = abs(k), e = 0;
            while ((m >> e) > 1) e++;
            f16[i] = (uint16_t)((k < 0 ? 0x8000 : 0) | ((15 + e - 2) << 10) | (((m << 10) >> e) & 0x3FF));
        }
    }
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 2, N / 2, &s, &a) == SWQ_OK);
    CHECK(swq_quantize(bf16, SWQ_DTYPE_BF16, 2, N / 2, &s, &b) == SWQ_OK);
    CHECK(swq_quantize(f16, SWQ_DTYPE_F16, 2, N / 2, &s, &c) == SWQ_OK);
    swq_qtensor_packed(a, &pa, &na, NULL);
    swq_qtensor_packed(b, &pb, &nb, NULL);
    swq_qtensor_packed(c, &pc, &nc, NULL);
    CHECK(na == nb && na == nc && memcmp(pa, pb, (size_t)na) == 0 && memcmp(pa, pc, (size_t)na) == 0);
    swq_qtensor_free(a);
    swq_qtensor_free(b);
    swq_qtensor_free(c);
}

/* Fake quantization with the parameters a tensor chose equals its dequantization, bit for bit. */
static void test_fake_quantize_matches(void) {
    enum { ROWS = 5, COLS = 77 };
    float x[ROWS * COLS], y[ROWS * COLS], z[ROWS * COLS], scales[COLS];
    int32_t zeros[COLS];
    swq_scheme s = scheme(3, 0, SWQ_PER_CHANNEL, 1);
    swq_qtensor *t = NULL;
    fill(x, ROWS * COLS, 11);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, ROWS, COLS, &s, &t) == SWQ_OK);
    CHECK(swq_qtensor_scales(t, scales, COLS) == SWQ_OK);
    CHECK(swq_qtensor_zero_points(t, zeros, COLS) == SWQ_OK);
    CHECK(swq_dequantize(t, SWQ_DTYPE_F32, y, ROWS * COLS) == SWQ_OK);
    CHECK(swq_fake_quantize(x, SWQ_DTYPE_F32, ROWS, COLS, &s, scales, zeros, COLS, z, SWQ_DTYPE_F32) == SWQ_OK);
    CHECK(memcmp(y, z, sizeof y) == 0);
    swq_qtensor_free(t);
}

static void test_metrics(void) {
    const float a[3] = {1.0f, 2.0f, 2.0f}, b[3] = {1.0f, 2.5f, 2.0f};
    swq_metrics m;
    CHECK(swq_error_metrics(a, b, 3, &m) == SWQ_OK);
    CHECK(fabs(m.mse - 0.25 / 3) < 1e-15 && m.max_abs_error == 0.5);
    CHECK(fabs(m.sqnr_db - 10 * log10(9.0 / 0.25)) < 1e-12);
    CHECK(swq_error_metrics(a, a, 3, &m) == SWQ_OK && isinf(m.sqnr_db) && m.sqnr_db > 0);
}

/* Results do not depend on the thread count. */
static void test_thread_independence(void) {
    enum { ROWS = 64, COLS = 1000 };
    float *x = malloc(sizeof(float) * ROWS * COLS);
    swq_scheme s = scheme(5, 0, SWQ_PER_GROUP, 64);
    swq_qtensor *one = NULL, *two = NULL;
    const uint8_t *p1, *p2;
    int64_t n1, n2;
    fill(x, ROWS * COLS, 3);
    CHECK(swq_set_num_threads(1) == SWQ_OK && swq_get_num_threads() == 1);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, ROWS, COLS, &s, &one) == SWQ_OK);
    CHECK(swq_set_num_threads(2) == SWQ_OK && swq_get_num_threads() == 2);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, ROWS, COLS, &s, &two) == SWQ_OK);
    CHECK(swq_set_num_threads(0) == SWQ_OK);
    swq_qtensor_packed(one, &p1, &n1, NULL);
    swq_qtensor_packed(two, &p2, &n2, NULL);
    CHECK(n1 == n2 && memcmp(p1, p2, (size_t)n1) == 0);
    swq_qtensor_free(one);
    swq_qtensor_free(two);
    free(x);
}

/* y = x W^T + b: the weight-only path against a float64 product with the dequantized weights; the
 * int8 path's statuses; shape, capacity, option, null and NaN errors. */
static void test_matmul(void) {
    enum { N = 3, K = 64, M = 2 };
    float w[N * K], x[M * K], wd[N * K], y[M * N];
    const float bias[N] = {0.5f, -1.0f, 2.0f};
    swq_scheme s = scheme(8, 1, SWQ_PER_GROUP, 32);
    swq_qtensor *t = NULL;
    int m, n, k, ok = 1;
    fill(w, N * K, 5);
    for (k = 0; k < M * K; k++) x[k] = (float)((k * 7) % 13) - 6.0f; /* integers: exact in int8 blocks of 32 */
    CHECK(swq_quantize(w, SWQ_DTYPE_F32, N, K, &s, &t) == SWQ_OK);
    CHECK(swq_dequantize(t, SWQ_DTYPE_F32, wd, N * K) == SWQ_OK);
    CHECK(swq_matmul(t, x, M, K, bias, y, M * N, SWQ_MATMUL_WEIGHT_ONLY) == SWQ_OK);
    for (m = 0; m < M; m++) {
        for (n = 0; n < N; n++) {
            double expected = bias[n], scale = 0;
            for (k = 0; k < K; k++) {
                expected += (double)x[m * K + k] * wd[n * K + k];
                scale += fabs((double)x[m * K + k] * wd[n * K + k]);
            }
            ok &= fabs(y[m * N + n] - expected) <= 1e-5 * scale + 1e-6;
        }
    }
    CHECK(ok);
    CHECK(swq_matmul(t, x, M, K, bias, y, M * N, SWQ_MATMUL_DYNAMIC_INT8) == SWQ_OK);
    /* int8 activations (blocks of 32, max 6 -> scale 6/127) add at most half a step per element. */
    ok = 1;
    for (m = 0; m < M; m++) {
        for (n = 0; n < N; n++) {
            double expected = bias[n], bound = 1e-6;
            for (k = 0; k < K; k++) {
                expected += (double)x[m * K + k] * wd[n * K + k];
                bound += 0.5 * (6.0 / 127.0) * fabs((double)wd[n * K + k]) + 1e-5 * fabs((double)x[m * K + k] * wd[n * K + k]);
            }
            ok &= fabs(y[m * N + n] - expected) <= bound;
        }
    }
    CHECK(ok);
    CHECK(swq_matmul(t, x, M, K + 1, bias, y, M * N, SWQ_MATMUL_AUTO) == SWQ_ERR_SHAPE);
    CHECK(swq_matmul(t, x, M, K, bias, y, M * N - 1, SWQ_MATMUL_AUTO) == SWQ_ERR_BUFFER_TOO_SMALL);
    CHECK(swq_matmul(t, x, M, K, bias, y, M * N, 9) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_matmul(t, NULL, M, K, bias, y, M * N, SWQ_MATMUL_AUTO) == SWQ_ERR_NULL_POINTER);
    CHECK(swq_matmul(t, x, 0, K, bias, y, M * N, SWQ_MATMUL_AUTO) == SWQ_ERR_SHAPE);
    x[5] = NAN;
    CHECK(swq_matmul(t, x, M, K, NULL, y, M * N, SWQ_MATMUL_DYNAMIC_INT8) == SWQ_ERR_NON_FINITE);
    CHECK(swq_matmul(t, x, M, K, NULL, y, M * N, SWQ_MATMUL_WEIGHT_ONLY) == SWQ_OK && isnan(y[0]) && !isnan(y[N]));
    swq_qtensor_free(t);
    CHECK(strstr(swq_cpu_features(), "active:") != NULL);
}

/* Observers: min-max exact, serialization round trip, merge of halves equals the whole, errors. */
static void test_observer(void) {
    enum { N = 4096 };
    float *x = malloc(sizeof(float) * N), low = 0, high = 0, low2 = 0, high2 = 0, scale = 0;
    swq_observer *whole = NULL, *first = NULL, *second = NULL, *restored = NULL, *minmax = NULL;
    uint8_t *bytes = NULL, *bytes2 = NULL;
    int64_t size = 0, size2 = 0, channels = 0;
    int32_t zero = -1;
    int i;
    fill(x, N, 13);
    {
        float lo = x[0], hi = x[0];
        int32_t method = -1, bits = 0, symmetric = -1, axis = 0, bins = 0;
        double parameter = -1;
        for (i = 1; i < N; i++) {
            if (x[i] < lo) lo = x[i];
            if (x[i] > hi) hi = x[i];
        }
        CHECK(swq_observer_new(SWQ_OBSERVER_MINMAX, 0, 8, 0, -1, 0, &minmax) == SWQ_OK);
        CHECK(swq_observer_channels(minmax, &channels) == SWQ_OK && channels == 0);
        CHECK(swq_observer_range(minmax, &low, &high, 1) == SWQ_ERR_SHAPE);
        CHECK(swq_observer_observe(minmax, x, SWQ_DTYPE_F32, 1, N) == SWQ_OK);
        CHECK(swq_observer_range(minmax, &low, &high, 1) == SWQ_OK && low == lo && high == hi);
        swq_observer_free(minmax);
        /* symmetric: (-t, t) with t the larger magnitude */
        CHECK(swq_observer_new(SWQ_OBSERVER_MINMAX, 0, 8, 1, -1, 0, &minmax) == SWQ_OK);
        CHECK(swq_observer_observe(minmax, x, SWQ_DTYPE_F32, 1, N) == SWQ_OK);
        CHECK(swq_observer_range(minmax, &low, &high, 1) == SWQ_OK);
        CHECK(high == (hi > -lo ? hi : -lo) && low == -high);
        CHECK(swq_observer_config(minmax, &method, &parameter, &bits, &symmetric, &axis, &bins) == SWQ_OK);
        CHECK(method == SWQ_OBSERVER_MINMAX && parameter == 0 && bits == 8 && symmetric == 1 && axis == -1 && bins == 2048);
        CHECK(swq_observer_new(SWQ_OBSERVER_PERCENTILE, 0, 6, 0, 1, 64, &whole) == SWQ_OK);
        CHECK(swq_observer_config(whole, &method, &parameter, &bits, &symmetric, &axis, &bins) == SWQ_OK);
        CHECK(method == SWQ_OBSERVER_PERCENTILE && parameter == 99.999 && bits == 6 && symmetric == 0 && axis == 1 && bins == 64);
        CHECK(swq_observer_config(whole, NULL, NULL, NULL, NULL, NULL, NULL) == SWQ_OK);
        swq_observer_free(whole);
    }
    CHECK(swq_observer_qparams(minmax, -1, &scale, &zero, 1) == SWQ_OK && zero == 0 && scale > 0);

    CHECK(swq_observer_new(SWQ_OBSERVER_PERCENTILE, 99.9, 8, 1, -1, 0, &whole) == SWQ_OK);
    CHECK(swq_observer_new(SWQ_OBSERVER_PERCENTILE, 99.9, 8, 1, -1, 0, &first) == SWQ_OK);
    CHECK(swq_observer_new(SWQ_OBSERVER_PERCENTILE, 99.9, 8, 1, -1, 0, &second) == SWQ_OK);
    CHECK(swq_observer_observe(whole, x, SWQ_DTYPE_F32, 1, N) == SWQ_OK);
    CHECK(swq_observer_observe(first, x, SWQ_DTYPE_F32, 1, N / 2) == SWQ_OK);
    CHECK(swq_observer_observe(second, x + N / 2, SWQ_DTYPE_F32, 1, N / 2) == SWQ_OK);
    CHECK(swq_observer_merge(first, second) == SWQ_OK);
    CHECK(swq_observer_merge(first, minmax) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_observer_range(whole, &low, &high, 1) == SWQ_OK);
    CHECK(swq_observer_range(first, &low2, &high2, 1) == SWQ_OK);
    CHECK(low == low2 && high == high2);

    CHECK(swq_observer_serialize(whole, NULL, 0, &size) == SWQ_OK && size > 0);
    bytes = malloc((size_t)size);
    CHECK(swq_observer_serialize(whole, bytes, size - 1, &size) == SWQ_ERR_BUFFER_TOO_SMALL);
    CHECK(swq_observer_serialize(whole, bytes, size, &size) == SWQ_OK);
    CHECK(swq_observer_deserialize(bytes, size, &restored) == SWQ_OK);
    CHECK(swq_observer_serialize(restored, NULL, 0, &size2) == SWQ_OK && size2 == size);
    bytes2 = malloc((size_t)size2);
    CHECK(swq_observer_serialize(restored, bytes2, size2, &size2) == SWQ_OK && memcmp(bytes, bytes2, (size_t)size) == 0);
    swq_observer_free(second);
    CHECK(swq_observer_deserialize(bytes, size - 1, &second) == SWQ_ERR_INVALID_ARGUMENT && second == NULL);

    CHECK(swq_observer_new(SWQ_OBSERVER_ENTROPY, 0, 8, 1, 2, 0, &second) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_observer_new(42, 0, 8, 1, -1, 0, &second) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_observer_new(SWQ_OBSERVER_MINMAX, 0, 8, 1, -1, 6, &second) == SWQ_ERR_INVALID_ARGUMENT);
    x[7] = NAN;
    CHECK(swq_observer_observe(whole, x, SWQ_DTYPE_F32, 1, N) == SWQ_ERR_NON_FINITE);
    swq_observer_free(minmax);
    swq_observer_free(whole);
    swq_observer_free(first);
    swq_observer_free(restored);
    swq_observer_free(NULL);
    free(bytes);
    free(bytes2);
    free(x);
}

/* Layer statistics: X^T X and the channel means on a hand-worked batch; bytes; errors. */
static void test_layer_stats(void) {
    const float x[6] = {1, 2, -3, 0, 4, 5}; /* rows [1, 2, -3] and [0, 4, 5] */
    const double gram_expected[9] = {1, 2, -3, 2, 20, 14, -3, 14, 34};
    double gram[9], mean_abs[3], mean_sq[3];
    swq_layer_stats *stats = NULL, *restored = NULL, *other = NULL;
    int64_t rows = 0, size = 0;
    uint8_t *bytes;
    CHECK(swq_layer_stats_new(3, &stats) == SWQ_OK);
    CHECK(swq_layer_stats_observe(stats, x, SWQ_DTYPE_F32, 2, 3) == SWQ_OK);
    CHECK(swq_layer_stats_count(stats, &rows) == SWQ_OK && rows == 2);
    CHECK(swq_layer_stats_in_features(stats, &rows) == SWQ_OK && rows == 3);
    CHECK(swq_layer_stats_read(stats, gram, 9, mean_abs, mean_sq) == SWQ_OK);
    CHECK(memcmp(gram, gram_expected, sizeof gram) == 0);
    CHECK(mean_abs[0] == 0.5 && mean_abs[1] == 3 && mean_abs[2] == 4 && mean_sq[2] == 17);
    CHECK(swq_layer_stats_read(stats, gram, 8, NULL, NULL) == SWQ_ERR_BUFFER_TOO_SMALL);
    {
        /* Scaled by (2, -1, 0.5): the statistics of rows [2, -2, -1.5] and [0, -4, 2.5]. */
        const float scales[3] = {2, -1, 0.5f}, bad[3] = {1, NAN, 1};
        const double scaled_expected[9] = {4, -4, -3, -4, 20, -7, -3, -7, 8.5};
        CHECK(swq_layer_stats_scaled(stats, scales, &other) == SWQ_OK);
        CHECK(swq_layer_stats_read(other, gram, 9, mean_abs, mean_sq) == SWQ_OK);
        CHECK(memcmp(gram, scaled_expected, sizeof gram) == 0);
        CHECK(mean_abs[0] == 1 && mean_abs[1] == 3 && mean_abs[2] == 2 && mean_sq[2] == 4.25);
        swq_layer_stats_free(other);
        other = NULL;
        CHECK(swq_layer_stats_scaled(stats, bad, &other) == SWQ_ERR_NON_FINITE && other == NULL);
        CHECK(swq_layer_stats_scaled(stats, NULL, &other) == SWQ_ERR_NULL_POINTER);
    }
    CHECK(swq_layer_stats_observe(stats, x, SWQ_DTYPE_F32, 3, 2) == SWQ_ERR_SHAPE);
    CHECK(swq_layer_stats_serialize(stats, NULL, 0, &size) == SWQ_OK && size > 0);
    bytes = malloc((size_t)size);
    CHECK(swq_layer_stats_serialize(stats, bytes, size, &size) == SWQ_OK);
    CHECK(swq_layer_stats_deserialize(bytes, size, &restored) == SWQ_OK);
    CHECK(swq_layer_stats_merge(stats, restored) == SWQ_OK);
    CHECK(swq_layer_stats_read(stats, gram, 9, NULL, NULL) == SWQ_OK && gram[4] == 40);
    CHECK(swq_layer_stats_deserialize(bytes, size - 1, &other) == SWQ_ERR_INVALID_ARGUMENT && other == NULL);
    CHECK(swq_layer_stats_new(0, &other) == SWQ_ERR_INVALID_ARGUMENT);
    {
        /* GPTQ on a 2 x 3 layer with these statistics: valid output, checked shapes. */
        const float w[6] = {0.5f, -1.0f, 0.25f, 2.0f, 0.0f, -0.75f};
        swq_scheme s = scheme(4, 0, SWQ_PER_CHANNEL, 0);
        swq_qtensor *q = NULL;
        float restored[6];
        int i, close = 1;
        CHECK(swq_gptq(w, SWQ_DTYPE_F32, 2, 3, &s, stats, 0.01, 0, &q) == SWQ_OK);
        CHECK(swq_dequantize(q, SWQ_DTYPE_F32, restored, 6) == SWQ_OK);
        for (i = 0; i < 6; i++) close &= fabsf(restored[i] - w[i]) < 0.5f;
        CHECK(close);
        swq_qtensor_free(q);
        CHECK(swq_gptq_v2(w, SWQ_DTYPE_F32, 2, 3, &s, stats, 0.01, 1, 1, &q) == SWQ_OK);
        CHECK(swq_dequantize(q, SWQ_DTYPE_F32, restored, 6) == SWQ_OK);
        for (i = 0; i < 6; i++) close &= fabsf(restored[i] - w[i]) < 0.5f;
        CHECK(close);
        swq_qtensor_free(q);
        q = NULL;
        CHECK(swq_gptq(w, SWQ_DTYPE_F32, 3, 2, &s, stats, 0.01, 0, &q) == SWQ_ERR_SHAPE && q == NULL);
        CHECK(swq_gptq(w, SWQ_DTYPE_F32, 2, 3, &s, NULL, 0.01, 0, &q) == SWQ_ERR_NULL_POINTER);
        {
            float channel_scales[3] = {0, 0, 0};
            double alpha = -1;
            CHECK(swq_awq(w, SWQ_DTYPE_F32, 2, 3, &s, stats, 1, 0, channel_scales, &alpha, &q) == SWQ_OK);
            CHECK(alpha == 0 && channel_scales[0] == 1 && channel_scales[2] == 1);
            swq_qtensor_free(q);
            CHECK(swq_awq(w, SWQ_DTYPE_F32, 2, 3, &s, stats, 0, 0, channel_scales, &alpha, &q) == SWQ_ERR_INVALID_ARGUMENT);
            /* Duo scaling at alpha = 0: s_j = 1 / (mean_i |w_ij| / max_j' |w_ij'| + 1e-4), normalised so that
               max(s) min(s) = 1; the normalised means are 0.75, 0.5 and 0.3125. */
            CHECK(swq_awq_v2(w, SWQ_DTYPE_F32, 2, 3, &s, stats, 1, 0, 1, channel_scales, &alpha, &q) == SWQ_OK);
            CHECK(fabsf(channel_scales[2] / channel_scales[0] - 0.7501f / 0.3126f) < 1e-4f);
            CHECK(fabsf(channel_scales[1] / channel_scales[0] - 0.7501f / 0.5001f) < 1e-4f);
            CHECK(fabsf(channel_scales[0] * channel_scales[2] - 1) < 1e-5f);
            swq_qtensor_free(q);
        }
    }
    swq_layer_stats_free(stats);
    swq_layer_stats_free(restored);
    swq_layer_stats_free(NULL);
    free(bytes);
}

/* Clip search: NULL importance equals all-ones importance; the error never exceeds plain RTN's. */
static void test_clip_search(void) {
    enum { ROWS = 4, COLS = 96 };
    float w[ROWS * COLS], ones[COLS], plain_out[ROWS * COLS], searched_out[ROWS * COLS];
    swq_scheme s = scheme(3, 0, SWQ_PER_GROUP, 32);
    swq_qtensor *uniform = NULL, *weighted = NULL, *plain = NULL;
    const uint8_t *pu, *pw;
    int64_t nu, nw, i;
    double plain_error = 0, searched_error = 0;
    fill(w, ROWS * COLS, 17);
    for (i = 0; i < COLS; i++) ones[i] = 1.0f;
    CHECK(swq_quantize_clip_search(w, SWQ_DTYPE_F32, ROWS, COLS, &s, NULL, &uniform) == SWQ_OK);
    CHECK(swq_quantize_clip_search(w, SWQ_DTYPE_F32, ROWS, COLS, &s, ones, &weighted) == SWQ_OK);
    CHECK(swq_quantize(w, SWQ_DTYPE_F32, ROWS, COLS, &s, &plain) == SWQ_OK);
    swq_qtensor_packed(uniform, &pu, &nu, NULL);
    swq_qtensor_packed(weighted, &pw, &nw, NULL);
    CHECK(nu == nw && memcmp(pu, pw, (size_t)nu) == 0);
    CHECK(swq_dequantize(plain, SWQ_DTYPE_F32, plain_out, ROWS * COLS) == SWQ_OK);
    CHECK(swq_dequantize(uniform, SWQ_DTYPE_F32, searched_out, ROWS * COLS) == SWQ_OK);
    for (i = 0; i < ROWS * COLS; i++) {
        plain_error += ((double)w[i] - plain_out[i]) * ((double)w[i] - plain_out[i]);
        searched_error += ((double)w[i] - searched_out[i]) * ((double)w[i] - searched_out[i]);
    }
    CHECK(searched_error <= plain_error);
    swq_qtensor_free(plain);
    s.granularity = SWQ_PER_TENSOR;
    CHECK(swq_quantize_clip_search(w, SWQ_DTYPE_F32, ROWS, COLS, &s, NULL, &plain) == SWQ_ERR_INVALID_ARGUMENT && plain == NULL);
    swq_qtensor_free(uniform);
    swq_qtensor_free(weighted);
}

static void *read_error(void *result) {
    *(int *)result = strcmp(swq_last_error(), "") == 0;
    return NULL;
}

static void test_errors(void) {
    float x[4] = {0, 1, 2, 3}, out[4], scale;
    int32_t zero;
    swq_scheme s = scheme(4, 0, SWQ_PER_GROUP, 2);
    swq_qtensor *t = (swq_qtensor *)&s; /* must be reset to NULL on failure */
    pthread_t thread;
    int other_thread_clean = 0;
    CHECK(swq_quantize(NULL, SWQ_DTYPE_F32, 1, 4, &s, &t) == SWQ_ERR_NULL_POINTER && t == NULL);
    CHECK(strstr(swq_last_error(), "data") != NULL);
    pthread_create(&thread, NULL, read_error, &other_thread_clean);
    pthread_join(thread, NULL);
    CHECK(other_thread_clean);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 0, 4, &s, &t) == SWQ_ERR_SHAPE);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, -1, 4, &s, &t) == SWQ_ERR_SHAPE);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, INT64_MAX / 2, 4, &s, &t) == SWQ_ERR_OVERFLOW);
    CHECK(swq_quantize(x, 7, 1, 4, &s, &t) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 1, 4, NULL, &t) == SWQ_ERR_NULL_POINTER);
    s.bits = 9;
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 1, 4, &s, &t) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(swq_last_error(), "bits") != NULL);
    s.bits = 4;
    s.group_size = 0;
    CHECK(swq_scheme_validate(&s) == SWQ_ERR_INVALID_ARGUMENT);
    s.group_size = 2;
    x[2] = NAN;
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 1, 4, &s, &t) == SWQ_ERR_NON_FINITE);
    CHECK(strstr(swq_last_error(), "column 2") != NULL);
    x[2] = INFINITY;
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 1, 4, &s, &t) == SWQ_ERR_NON_FINITE);
    x[2] = 2;
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, 1, 4, &s, &t) == SWQ_OK);
    CHECK(swq_dequantize(t, SWQ_DTYPE_F32, out, 3) == SWQ_ERR_BUFFER_TOO_SMALL);
    CHECK(swq_dequantize(t, SWQ_DTYPE_BF16 + 5, out, 4) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_qtensor_scales(t, out, 1) == SWQ_ERR_BUFFER_TOO_SMALL);
    CHECK(swq_qtensor_shape(NULL, NULL, NULL) == SWQ_ERR_NULL_POINTER);
    swq_qtensor_free(t);
    swq_qtensor_free(NULL);
    CHECK(swq_qparams_from_range(&s, 2, 1, &scale, &zero) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_qparams_from_range(&s, -INFINITY, 1, &scale, &zero) == SWQ_ERR_NON_FINITE);
    CHECK(swq_set_num_threads(-1) == SWQ_ERR_INVALID_ARGUMENT);
    s.scale_dtype = SWQ_DTYPE_F16;
    CHECK(swq_qparams_from_range(&s, 0, 1e9f, &scale, &zero) == SWQ_ERR_OVERFLOW);
}

/* A tensor rebuilt from its parts and from its bytes is the same tensor; every bad part is refused. */
static void test_tensor_from_parts(void) {
    enum { ROWS = 5, COLS = 77 };
    float x[ROWS * COLS], a[ROWS * COLS], b[ROWS * COLS], scales[ROWS * 3];
    int32_t zeros[ROWS * 3];
    swq_scheme s = scheme(4, 0, SWQ_PER_GROUP, 32);
    swq_qtensor *t = NULL, *rebuilt = NULL, *restored = NULL;
    const uint8_t *packed;
    uint8_t *bytes, copy[ROWS * 39];
    int64_t nbytes, stride, count, size = 0;
    fill(x, ROWS * COLS, 11);
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, ROWS, COLS, &s, &t) == SWQ_OK);
    CHECK(swq_qtensor_packed(t, &packed, &nbytes, &stride) == SWQ_OK && nbytes == ROWS * 39 && stride == 39);
    CHECK(swq_qtensor_qparams_count(t, &count) == SWQ_OK && count == ROWS * 3);
    CHECK(swq_qtensor_scales(t, scales, count) == SWQ_OK && swq_qtensor_zero_points(t, zeros, count) == SWQ_OK);
    CHECK(swq_qtensor_from_parts(ROWS, COLS, &s, packed, nbytes, scales, zeros, count, &rebuilt) == SWQ_OK);
    CHECK(swq_dequantize(t, SWQ_DTYPE_F32, a, ROWS * COLS) == SWQ_OK);
    CHECK(swq_dequantize(rebuilt, SWQ_DTYPE_F32, b, ROWS * COLS) == SWQ_OK && memcmp(a, b, sizeof a) == 0);
    swq_qtensor_free(rebuilt);

    CHECK(swq_qtensor_serialize(t, NULL, 0, &size) == SWQ_OK && size == 38 + nbytes + 8 * count);
    bytes = malloc((size_t)size);
    CHECK(swq_qtensor_serialize(t, bytes, size - 1, &size) == SWQ_ERR_BUFFER_TOO_SMALL);
    CHECK(swq_qtensor_serialize(t, bytes, size, &size) == SWQ_OK && memcmp(bytes, "SWQQTN01", 8) == 0);
    CHECK(swq_qtensor_deserialize(bytes, size, &restored) == SWQ_OK);
    CHECK(swq_dequantize(restored, SWQ_DTYPE_F32, b, ROWS * COLS) == SWQ_OK && memcmp(a, b, sizeof a) == 0);
    swq_qtensor_free(restored);
    restored = (swq_qtensor *)1;
    CHECK(swq_qtensor_deserialize(bytes, size - 1, &restored) == SWQ_ERR_INVALID_ARGUMENT && restored == NULL);
    bytes[16] = 0x7f; /* cols far beyond the bytes */
    CHECK(swq_qtensor_deserialize(bytes, size, &restored) == SWQ_ERR_INVALID_ARGUMENT && restored == NULL);
    free(bytes);

    CHECK(swq_qtensor_from_parts(ROWS, COLS, &s, packed, nbytes - 1, scales, zeros, count, &rebuilt) == SWQ_ERR_SHAPE);
    CHECK(rebuilt == NULL);
    CHECK(swq_qtensor_from_parts(ROWS, COLS, &s, packed, nbytes, scales, zeros, count - 1, &rebuilt) == SWQ_ERR_SHAPE);
    CHECK(swq_qtensor_from_parts(ROWS, COLS, &s, packed, nbytes, scales, NULL, count, &rebuilt) == SWQ_ERR_NULL_POINTER);
    CHECK(swq_qtensor_from_parts(0, COLS, &s, packed, nbytes, scales, zeros, count, &rebuilt) == SWQ_ERR_SHAPE);
    memcpy(copy, packed, sizeof copy);
    copy[38] |= 0xf0; /* 77 codes use the low nibble of a row's last byte: the high one is padding */
    CHECK(swq_qtensor_from_parts(ROWS, COLS, &s, copy, nbytes, scales, zeros, count, &rebuilt) == SWQ_ERR_INVALID_ARGUMENT);
    zeros[4] = 16;
    CHECK(swq_qtensor_from_parts(ROWS, COLS, &s, packed, nbytes, scales, zeros, count, &rebuilt) == SWQ_ERR_INVALID_ARGUMENT);
    zeros[4] = 3;
    scales[2] = -scales[2];
    CHECK(swq_qtensor_from_parts(ROWS, COLS, &s, packed, nbytes, scales, zeros, count, &rebuilt) == SWQ_ERR_INVALID_ARGUMENT);
    swq_qtensor_free(t);
}

/* Parameter counts are checked against the scheme before either array is read; bfloat16 is no fake
 * quantization output. */
static void test_parameter_counts_checked_first(void) {
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7}, scale = 0.1f, out[8], grad[8];
    uint8_t codes[8];
    swq_scheme s = scheme(8, 1, SWQ_PER_TENSOR, 0);
    CHECK(swq_fake_quantize(x, SWQ_DTYPE_F32, 1, 8, &s, &scale, NULL, (int64_t)1 << 40, out, SWQ_DTYPE_F32) == SWQ_ERR_SHAPE);
    CHECK(swq_fake_quantize(x, SWQ_DTYPE_F32, 1, 8, &s, &scale, NULL, INT64_MAX, out, SWQ_DTYPE_F32) == SWQ_ERR_SHAPE);
    CHECK(swq_fake_quantize(x, SWQ_DTYPE_F32, 1, 8, &s, &scale, NULL, 2, out, SWQ_DTYPE_F32) == SWQ_ERR_SHAPE);
    CHECK(swq_quantize_codes(x, SWQ_DTYPE_F32, 1, 8, &s, &scale, NULL, (int64_t)1 << 40, codes, 8) == SWQ_ERR_SHAPE);
    CHECK(swq_fake_quantize_grad(x, SWQ_DTYPE_F32, 1, 8, &s, &scale, NULL, INT64_MAX, x, grad, out, NULL, 0) == SWQ_ERR_SHAPE);
    CHECK(swq_fake_quantize(x, SWQ_DTYPE_F32, 1, 8, &s, &scale, NULL, 1, out, SWQ_DTYPE_BF16) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_fake_quantize(x, SWQ_DTYPE_F32, 1, 8, &s, &scale, NULL, 1, out, SWQ_DTYPE_F32) == SWQ_OK && out[3] == 30.0f * scale);
    CHECK(swq_set_num_threads(5000) == SWQ_ERR_INVALID_ARGUMENT);
}

/* Sizes that would need more than the machine's memory fail with a status before anything is allocated or
 * read (the data pointers here hold a few bytes only). */
static void test_out_of_memory(void) {
    float x[4] = {0};
    double gigabytes = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / (1 << 30);
    swq_scheme s = scheme(4, 0, SWQ_PER_GROUP, 128);
    swq_qtensor *t = (swq_qtensor *)1;
    swq_layer_stats *stats = NULL;
    swq_observer *observer = NULL;
    CHECK(swq_quantize(x, SWQ_DTYPE_F32, (int64_t)1 << 20, (int64_t)1 << 21, &s, &t) == SWQ_ERR_OUT_OF_MEMORY && t == NULL);
    CHECK(strcmp(swq_status_name(SWQ_ERR_OUT_OF_MEMORY), "SWQ_ERR_OUT_OF_MEMORY") == 0);
    if (gigabytes < 32) { /* 65536^2 doubles are 32 GiB */
        CHECK(swq_layer_stats_new(65536, &stats) == SWQ_ERR_OUT_OF_MEMORY && stats == NULL);
    }
    CHECK(swq_observer_new(SWQ_OBSERVER_PERCENTILE, 0, 8, 1, 1, 16384, &observer) == SWQ_OK);
    CHECK(swq_observer_observe(observer, x, SWQ_DTYPE_F32, 1, (int64_t)1 << 30) == SWQ_ERR_OUT_OF_MEMORY);
    swq_observer_free(observer);
}

/* A learned zero point rounds half to even and clamps to the grid; NaN is refused. */
static void test_round_zero_points(void) {
    swq_scheme s = scheme(4, 0, SWQ_PER_TENSOR, 0);
    const float values[] = {2.5f, 3.5f, -0.4f, -3.0f, 15.6f, 7.49f};
    const int32_t expected[] = {2, 4, 0, 0, 15, 7};
    int32_t out[6];
    float bad = NAN;
    CHECK(swq_round_zero_points(&s, values, out, 6) == SWQ_OK && memcmp(out, expected, sizeof out) == 0);
    s.grid = SWQ_GRID_SIGNED;
    CHECK(swq_round_zero_points(&s, values, out, 6) == SWQ_OK && out[3] == -3 && out[4] == 7);
    CHECK(swq_round_zero_points(&s, &bad, out, 1) == SWQ_ERR_NON_FINITE);
}

int main(void) {
    test_version();
    test_hand_worked_int8();
    test_nibble_layout();
    test_groups_against_reference();
    test_half_inputs();
    test_fake_quantize_matches();
    test_metrics();
    test_thread_independence();
    test_matmul();
    test_observer();
    test_layer_stats();
    test_clip_search();
    test_errors();
    test_tensor_from_parts();
    test_round_zero_points();
    test_parameter_counts_checked_first();
    test_out_of_memory();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
