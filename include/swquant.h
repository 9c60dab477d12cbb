/*
 * swquant.h: the stable C contract of libswquant.
 *
 * Conventions
 *  - A call that would allocate more than the machine's memory for a caller's sizes (or for serialized
 *    bytes' claims) fails with SWQ_ERR_OUT_OF_MEMORY before allocating or reading anything.
 *  - Every name starts with `swq_` (functions, types) or `SWQ_` (macros, constants).
 *  - Every function that can fail returns a `swq_status`; on failure `swq_last_error()` returns a
 *    message for the calling thread. Nothing in the library exits or aborts on bad input.
 *  - Handles (`swq_qtensor`) are opaque; each one returned through an out-parameter is owned by the
 *    caller and released with exactly one call of its `_free` function.
 *  - Buffers are caller-owned. A call that writes N elements takes the capacity next to the pointer and
 *    fails with SWQ_ERR_BUFFER_TOO_SMALL rather than writing past it.
 *  - Borrowed pointers returned by the library say how long they live in the comment of their function.
 *  - Enumerations carry explicit values; a removed value is never reused; each list ends with _COUNT.
 *  - Tensors are row-major 2-D [rows, cols]: rows are output channels, cols the reduction dimension.
 *    A 1-D tensor is a single row.
 *
 * The header compiles as C99 and as C++. The Swift implementation is checked against it by the compiler
 * (`@c @implementation`), so a declaration here cannot drift from the code.
 */
#ifndef SWQUANT_H
#define SWQUANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version: bumped whenever a declaration here changes incompatibly. Compare with swq_abi_version(). */
#define SWQ_ABI_VERSION 1
#define SWQ_VERSION_MAJOR 0
#define SWQ_VERSION_MINOR 1
#define SWQ_VERSION_PATCH 0

/** Status codes returned by every fallible call. */
typedef enum swq_status {
    SWQ_OK = 0,
    SWQ_ERR_INVALID_ARGUMENT = 1, /* an option is out of its range (bits, group size, enum value) */
    SWQ_ERR_NULL_POINTER = 2,     /* a required pointer was NULL */
    SWQ_ERR_SHAPE = 3,            /* a dimension is zero or negative, or two sizes disagree */
    SWQ_ERR_OVERFLOW = 4,         /* a size or a value does not fit its type (e.g. an fp16 scale) */
    SWQ_ERR_NON_FINITE = 5,       /* the input holds NaN or infinity */
    SWQ_ERR_BUFFER_TOO_SMALL = 6, /* a caller buffer's capacity is smaller than needed */
    SWQ_ERR_OUT_OF_MEMORY = 7,    /* the request needs more memory than the machine has (nothing was allocated) */
    SWQ_STATUS_COUNT
} swq_status;

/** Element types of tensors crossing the ABI. */
typedef enum swq_dtype {
    SWQ_DTYPE_F32 = 0,  /* IEEE binary32 */
    SWQ_DTYPE_F16 = 1,  /* IEEE binary16 */
    SWQ_DTYPE_BF16 = 2, /* bfloat16: the upper 16 bits of a binary32 */
    SWQ_DTYPE_COUNT
} swq_dtype;

/** Integer grid of the quantized codes. */
typedef enum swq_grid {
    SWQ_GRID_UNSIGNED = 0, /* codes in [0, 2^bits - 1] */
    SWQ_GRID_SIGNED = 1,   /* codes in [-2^(bits-1), 2^(bits-1) - 1] */
    SWQ_GRID_COUNT
} swq_grid;

/** Which elements share one (scale, zero point) pair. */
typedef enum swq_granularity {
    SWQ_PER_TENSOR = 0,  /* one pair for the whole tensor */
    SWQ_PER_CHANNEL = 1, /* one pair per row (axis 0) or per column (axis 1) */
    SWQ_PER_GROUP = 2,   /* one pair per run of group_size elements along each row; the last run of a
                            row is shorter when group_size does not divide cols */
    SWQ_GRANULARITY_COUNT
} swq_granularity;

/**
 * A linear quantization scheme: q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax),
 * x' = (q - zero_point) * scale.
 *
 * Symmetric schemes fix the zero point (0 on a signed grid, 2^(bits-1) on an unsigned grid) and set
 * scale = max|x| / (2^(bits-1) - 1). Affine schemes widen [min, max] to contain 0 and set
 * scale = (max - min) / (2^bits - 1), zero_point = qmin - round_half_even(min / scale).
 */
typedef struct swq_scheme {
    int32_t bits;        /* 2 to 8 */
    int32_t grid;        /* swq_grid */
    int32_t symmetric;   /* 0: affine (stored zero points), 1: symmetric */
    int32_t granularity; /* swq_granularity */
    int32_t axis;        /* SWQ_PER_CHANNEL only: 0 = one pair per row, 1 = one pair per column */
    int32_t group_size;  /* SWQ_PER_GROUP only: elements per group along a row, at least 1 */
    int32_t scale_dtype; /* SWQ_DTYPE_F32 or SWQ_DTYPE_F16: how scales are stored */
} swq_scheme;

/** How swq_matmul computes y = x W^T. */
typedef enum swq_matmul_path {
    SWQ_MATMUL_AUTO = 0,         /* the int8 path where the weights allow it, else weight-only */
    SWQ_MATMUL_WEIGHT_ONLY = 1,  /* float activations x weights dequantized a few rows at a time in cache */
    SWQ_MATMUL_DYNAMIC_INT8 = 2, /* activations to int8 per block of 32, integer dot products, float rescale;
                                    4- and 8-bit weights, per tensor, per row, or groups of multiples of 32 */
    SWQ_MATMUL_DYNAMIC_INT8_ROW = 3, /* activations to int8 with one scale per row; int32 sums across whole
                                        groups: fastest for batches; any bits; k at most 33,024 */
    SWQ_MATMUL_PATH_COUNT
} swq_matmul_path;

/** Error metrics of an approximation against a reference. */
typedef struct swq_metrics {
    double mse;           /* mean of (reference - approx)^2 */
    double sqnr_db;       /* 10 log10(sum reference^2 / sum (reference - approx)^2); +inf when exact */
    double max_abs_error; /* max |reference - approx| */
} swq_metrics;

/** A quantized tensor: packed codes, scales and zero points. Opaque; free with swq_qtensor_free. */
typedef struct swq_qtensor swq_qtensor;

/* ---- Library ------------------------------------------------------------------------------------ */

/** The ABI version the library was built with (SWQ_ABI_VERSION of its header). */
uint32_t swq_abi_version(void);

/** The library version as "MAJOR.MINOR.PATCH". Static storage; never NULL. */
const char *swq_version(void);

/** The message of the last failed call on this thread ("" if none). Valid until the next failing
 *  call on the same thread. Never NULL. */
const char *swq_last_error(void);

/** A constant name for a status code, e.g. "SWQ_ERR_SHAPE". Static storage; never NULL. */
const char *swq_status_name(swq_status status);

/** Sets the number of worker threads for later calls, 0 to 1024; 0 restores the default (the environment
 *  variable SWQUANT_NUM_THREADS if set, capped at 1024, else the number of cores). Results never depend on
 *  it, and a call already running keeps the count it started with. */
swq_status swq_set_num_threads(int32_t count);

/** The number of worker threads in use. */
int32_t swq_get_num_threads(void);

/* ---- Quantization parameters -------------------------------------------------------------------- */

/** Checks a scheme's fields; SWQ_OK when every field is in range. */
swq_status swq_scheme_validate(const swq_scheme *scheme);

/** Scale and zero point that map [min, max] onto the scheme's grid (the granularity is ignored).
 *  min and max must be finite with min <= max. */
swq_status swq_qparams_from_range(const swq_scheme *scheme, float min, float max,
                                  float *scale, int32_t *zero_point);

/** Number of (scale, zero point) pairs the scheme uses for a [rows, cols] tensor:
 *  1 per tensor, rows or cols per channel, rows * ceil(cols / group_size) per group. */
swq_status swq_qparams_count(const swq_scheme *scheme, int64_t rows, int64_t cols, int64_t *count);

/** Computes the scheme's parameters from data ([rows, cols] of `dtype`) into scales[count] and
 *  zero_points[count], in the order of swq_qtensor_scales. Fails with SWQ_ERR_NON_FINITE on NaN/Inf. */
swq_status swq_compute_qparams(const void *data, int32_t dtype, int64_t rows, int64_t cols,
                               const swq_scheme *scheme, float *scales, int32_t *zero_points,
                               int64_t count);

/** Learned, continuous zero points (LSQ+) as the integers the quantizer uses: values[count] rounded half to
 *  even and clamped to the scheme's grid, into zero_points[count] (as torch's learnable fake quantization
 *  rounds its float zero point in the forward pass). SWQ_ERR_NON_FINITE for NaN or infinity. */
swq_status swq_round_zero_points(const swq_scheme *scheme, const float *values, int32_t *zero_points, int64_t count);

/* ---- Quantized tensors -------------------------------------------------------------------------- */

/** Quantizes data ([rows, cols] of `dtype`) with parameters computed from the data itself.
 *  On success *out owns a new tensor; on failure *out is set to NULL. NaN or Inf in the input fails
 *  with SWQ_ERR_NON_FINITE. */
swq_status swq_quantize(const void *data, int32_t dtype, int64_t rows, int64_t cols,
                        const swq_scheme *scheme, swq_qtensor **out);

/** swq_quantize with a clipping search per row or group: the range [min * a, max * b] (a, b in 1, 0.975,
 *  ..., 0.5; both ends together, then each alone) that minimises the quantization error weighted by importance[cols] (one weight per column, e.g. the mean x^2
 *  of each input channel; NULL weighs all equally). Needs SWQ_PER_GROUP or SWQ_PER_CHANNEL with axis 0. */
swq_status swq_quantize_clip_search(const void *data, int32_t dtype, int64_t rows, int64_t cols,
                                    const swq_scheme *scheme, const float *importance, swq_qtensor **out);

/**
 * A tensor rebuilt from its parts, as swq_qtensor_packed, swq_qtensor_scales and swq_qtensor_zero_points
 * give them (for example read back from a file): packed[packed_nbytes] codes in the bit layout of
 * swq_qtensor_packed, scales[qparam_count] and zero_points[qparam_count] in the order of
 * swq_qtensor_scales. zero_points may be NULL for a symmetric scheme. Every size is checked against the
 * scheme and shape (SWQ_ERR_SHAPE); scales must be finite and positive (float16 values under float16
 * storage), zero points on the grid (the scheme's fixed one when symmetric), and the padding bits after a
 * row's last code zero (SWQ_ERR_INVALID_ARGUMENT). The inputs are copied. On failure *out is NULL.
 */
swq_status swq_qtensor_from_parts(int64_t rows, int64_t cols, const swq_scheme *scheme, const uint8_t *packed,
                                  int64_t packed_nbytes, const float *scales, const int32_t *zero_points,
                                  int64_t qparam_count, swq_qtensor **out);

/** The tensor as bytes (shape, scheme, codes, scales, zero points; little-endian): *size receives the size;
 *  with out NULL only the size is reported, else out[capacity] receives the bytes. */
swq_status swq_qtensor_serialize(const swq_qtensor *tensor, uint8_t *out, int64_t capacity, int64_t *size);

/** A tensor restored from swq_qtensor_serialize bytes, checked as swq_qtensor_from_parts checks its
 *  arguments; SWQ_ERR_INVALID_ARGUMENT for bytes that are not a whole serialized tensor. */
swq_status swq_qtensor_deserialize(const uint8_t *bytes, int64_t size, swq_qtensor **out);

/** Releases a tensor. NULL is allowed and ignored. */
void swq_qtensor_free(swq_qtensor *tensor);

/** The tensor's shape. */
swq_status swq_qtensor_shape(const swq_qtensor *tensor, int64_t *rows, int64_t *cols);

/** The tensor's scheme. */
swq_status swq_qtensor_scheme(const swq_qtensor *tensor, swq_scheme *out);

/**
 * The packed codes, borrowed: *data stays valid until swq_qtensor_free(tensor).
 *
 * Bit layout: rows are stored one after another, each starting on a byte boundary, row_stride =
 * ceil(cols * bits / 8) bytes. Inside a row, element j occupies bits [j * bits, (j + 1) * bits) of the
 * row read as a little-endian bit stream (bit k is bit k % 8 of byte k / 8). At 4 bits element 2i is
 * the low nibble of byte i. Signed grids store the bits-wide two's complement of the code.
 */
swq_status swq_qtensor_packed(const swq_qtensor *tensor, const uint8_t **data, int64_t *nbytes,
                              int64_t *row_stride);

/** Number of (scale, zero point) pairs the tensor holds. */
swq_status swq_qtensor_qparams_count(const swq_qtensor *tensor, int64_t *count);

/** Copies the scales (widened to float32 when stored as fp16) into out[capacity]. Order: one per
 *  tensor; per row or per column; per group row-major [rows, ceil(cols / group_size)]. */
swq_status swq_qtensor_scales(const swq_qtensor *tensor, float *out, int64_t capacity);

/** Copies the zero points into out[capacity], in the order of swq_qtensor_scales. */
swq_status swq_qtensor_zero_points(const swq_qtensor *tensor, int32_t *out, int64_t capacity);

/** Storage size in bytes (packed codes + scales + stored zero points) and bits per weight
 *  (8 * nbytes / element count). Either pointer may be NULL. */
swq_status swq_qtensor_storage(const swq_qtensor *tensor, int64_t *nbytes, double *bits_per_weight);

/** Dequantizes into out[capacity] as `out_dtype` (any swq_dtype: F32, F16 or BF16), row-major. */
swq_status swq_dequantize(const swq_qtensor *tensor, int32_t out_dtype, void *out, int64_t capacity);

/* ---- Fake quantization, static codes and quantization-aware training ---------------------------- */

/**
 * Fake quantization (quantize then dequantize, in float), the QAT forward pass:
 * out = (clamp(round_half_even(x / scale) + zero_point, qmin, qmax) - zero_point) * scale.
 * The scheme's granularity says how scales[qparam_count] map to elements (see swq_qparams_count);
 * zero_points may be NULL for a symmetric scheme. Scales must be finite and positive, zero points
 * on the grid. Input `dtype` is any swq_dtype; out is `out_dtype` (F32 or F16; BF16 is
 * SWQ_ERR_INVALID_ARGUMENT) with rows * cols elements and may alias data when both types are equal.
 * qparam_count must be exactly the scheme's count (SWQ_ERR_SHAPE otherwise, before anything is read).
 */
swq_status swq_fake_quantize(const void *data, int32_t dtype, int64_t rows, int64_t cols,
                             const swq_scheme *scheme, const float *scales,
                             const int32_t *zero_points, int64_t qparam_count,
                             void *out, int32_t out_dtype);

/**
 * Static quantization with given parameters (e.g. calibrated activation ranges): codes[rows * cols], one
 * byte per element, clamp(round_half_even(x / scale) + zero_point, qmin, qmax), as int8 on a signed grid
 * and uint8 on an unsigned one. Same arguments and errors as swq_fake_quantize; codes_capacity counts bytes.
 */
swq_status swq_quantize_codes(const void *data, int32_t dtype, int64_t rows, int64_t cols, const swq_scheme *scheme,
                              const float *scales, const int32_t *zero_points, int64_t qparam_count,
                              uint8_t *codes, int64_t codes_capacity);

/**
 * The backward pass of swq_fake_quantize for quantization-aware training. Given grad_out = dL/dy
 * (float32, rows * cols), writes grad_in = dL/dx (straight-through: grad_out where the value is inside
 * the quantization range, 0 where clipped), grad_scales[qparam_count] = dL/dscale (learned step size,
 * LSQ) and, unless NULL, grad_zero_points[qparam_count] = dL/dzero_point (LSQ+). With lsq_scaling != 0
 * the parameter gradients are multiplied by 1 / sqrt(n * qmax), n the elements sharing the parameter.
 * Same arguments and errors as swq_fake_quantize; sums run in float64 in a fixed order.
 */
swq_status swq_fake_quantize_grad(const void *data, int32_t dtype, int64_t rows, int64_t cols,
                                  const swq_scheme *scheme, const float *scales, const int32_t *zero_points,
                                  int64_t qparam_count, const float *grad_out, float *grad_in,
                                  float *grad_scales, float *grad_zero_points, int32_t lsq_scaling);

/* ---- Error metrics ----------------------------------------------------------------------------- */

/** Error metrics of approx[count] against reference[count] (float32). Sums run in float64 in a
 *  fixed order, so the result does not depend on the thread count. */
swq_status swq_error_metrics(const float *reference, const float *approx, int64_t count,
                             swq_metrics *out);

/* ---- Quantized matmul --------------------------------------------------------------------------- */

/**
 * y = x W^T (+ bias) with W a quantized [n, k] tensor (rows are output channels): x is float32 [m, k]
 * row-major, bias float32 [n] or NULL, y float32 [m, n] with y_capacity >= m * n. `k` must equal the
 * tensor's columns. `path` is a swq_matmul_path; SWQ_ERR_INVALID_ARGUMENT when the tensor cannot use it
 * (per-column weights cannot use any). NaN or Inf in x propagate on the weight-only path and fail with
 * SWQ_ERR_NON_FINITE on the int8 path. Results do not depend on the thread count.
 */
swq_status swq_matmul(const swq_qtensor *weights, const float *x, int64_t m, int64_t k, const float *bias,
                      float *y, int64_t y_capacity, int32_t path);

/** What swq_matmul_static_int8 writes. */
typedef enum swq_static_output {
    SWQ_OUTPUT_INT32 = 0,   /* out is int32_t[m * n]: the exact sums of (a - a_zero_point) * (w - w_zero_point) */
    SWQ_OUTPUT_FLOAT32 = 1, /* out is float[m * n]: a_scale * w_scale[n] * sum + bias[n] */
    SWQ_OUTPUT_UINT8 = 2,   /* out is uint8_t[m * n]: the float result requantized with out_scale, out_zero_point */
    SWQ_OUTPUT_COUNT
} swq_static_output;

/**
 * Static int8 GEMM (the gemmlowp formulation) for activations quantized with calibrated ranges:
 * a is uint8 [m, k] with a_scale and a_zero_point (0..255); W an 8-bit quantized tensor [n, k], per tensor
 * or per row. The int32 sums are exact (identical on every kernel tier and thread count); k is at most
 * 33,024 so they cannot overflow. `output` is a swq_static_output; bias (float [n]) may be NULL;
 * out_scale and out_zero_point are used by SWQ_OUTPUT_UINT8 only; out_capacity counts elements.
 */
swq_status swq_matmul_static_int8(const swq_qtensor *weights, const uint8_t *a, int64_t m, int64_t k,
                                  float a_scale, int32_t a_zero_point, const float *bias, int32_t output,
                                  float out_scale, int32_t out_zero_point, void *out, int64_t out_capacity);

/** The CPU's features and the kernel tiers, e.g. "cpu: avx2 fma ...; compiled: scalar simd avx2
 *  avx512vnni; active: avx512vnni". SWQUANT_ISA=scalar|simd|avx2|avx512vnni|neondot caps the active tier.
 *  Static storage; never NULL. */
const char *swq_cpu_features(void);

/* ---- Calibration observers ---------------------------------------------------------------------- */

/** How an observer chooses its range. */
typedef enum swq_observer_method {
    SWQ_OBSERVER_MINMAX = 0,         /* smallest and largest values seen */
    SWQ_OBSERVER_MOVING_AVERAGE = 1, /* moving averages of batch minima and maxima; parameter: momentum (0.01) */
    SWQ_OBSERVER_PERCENTILE = 2,     /* range holding `parameter` percent of the values (99.999) */
    SWQ_OBSERVER_MSE = 3,            /* symmetric threshold of least expected squared error */
    SWQ_OBSERVER_ENTROPY = 4,        /* TensorRT KL-divergence threshold; parameter: quantized bins (128) */
    SWQ_OBSERVER_METHOD_COUNT
} swq_observer_method;

/** A calibration observer: statistics of the batches it saw, never the batches. Opaque; free with
 *  swq_observer_free. Not safe for concurrent calls on the same observer. */
typedef struct swq_observer swq_observer;

/**
 * A new observer. `parameter` is the method's option (0 for its default, see swq_observer_method);
 * `axis` is -1 (per tensor), 0 (per row) or 1 (per column); `bins` is the histogram size per channel
 * (0 for 2048; a multiple of 4 up to 16384).
 */
swq_status swq_observer_new(int32_t method, double parameter, int32_t bits, int32_t symmetric, int32_t axis,
                            int32_t bins, swq_observer **out);

/** Releases an observer. NULL is allowed and ignored. */
void swq_observer_free(swq_observer *observer);

/** Adds a batch ([rows, cols] of `dtype`). SWQ_ERR_NON_FINITE for NaN/Inf (the observer is unchanged). */
swq_status swq_observer_observe(swq_observer *observer, const void *data, int32_t dtype, int64_t rows, int64_t cols);

/** Adds another observer's statistics (same configuration) to `into`: exactly as if `into` had seen
 *  the other's batches too. Moving averages cannot be merged (SWQ_ERR_INVALID_ARGUMENT). */
swq_status swq_observer_merge(swq_observer *into, const swq_observer *other);

/** Number of channels (ranges) the observer reports: 1 per tensor; 0 before any batch. */
swq_status swq_observer_channels(const swq_observer *observer, int64_t *count);

/** The observer's configuration, as swq_observer_new would take it with every default filled in: the
 *  swq_observer_method, its parameter, bits, symmetric (0 or 1), axis (-1 per tensor) and histogram bins.
 *  Any out-pointer may be NULL. */
swq_status swq_observer_config(const swq_observer *observer, int32_t *method, double *parameter, int32_t *bits,
                               int32_t *symmetric, int32_t *axis, int32_t *bins);

/** The chosen range per channel into low[capacity] and high[capacity]; (-t, t) with t = max(|low|, |high|)
 *  for a symmetric observer, whatever its method. */
swq_status swq_observer_range(const swq_observer *observer, float *low, float *high, int64_t capacity);

/** Scale and zero point per channel for the observer's bits and symmetry; `grid` is a swq_grid or -1
 *  (signed for symmetric, unsigned for affine). */
swq_status swq_observer_qparams(const swq_observer *observer, int32_t grid, float *scales, int32_t *zero_points,
                                int64_t capacity);

/** The observer's state as bytes: *size receives the size; with out NULL only the size is reported,
 *  else out[capacity] receives the bytes. */
swq_status swq_observer_serialize(const swq_observer *observer, uint8_t *out, int64_t capacity, int64_t *size);

/** An observer restored from swq_observer_serialize bytes. */
swq_status swq_observer_deserialize(const uint8_t *bytes, int64_t size, swq_observer **out);

/* ---- Post-training quantization ----------------------------------------------------------------- */

/** Calibration statistics of a linear layer's input (X^T X, sums of |x| and x^2 per input channel),
 *  streamed over batches. Opaque; free with swq_layer_stats_free. Not safe for concurrent calls. */
typedef struct swq_layer_stats swq_layer_stats;

/** New, empty statistics for inputs of `in_features` channels (1 to 65536); SWQ_ERR_OUT_OF_MEMORY when its
 *  in_features^2 doubles exceed the machine's memory. */
swq_status swq_layer_stats_new(int64_t in_features, swq_layer_stats **out);

/** Releases statistics. NULL is allowed and ignored. */
void swq_layer_stats_free(swq_layer_stats *stats);

/** Adds a batch ([rows, cols] of `dtype`, cols == in_features). Sums run in float64 in a fixed order. */
swq_status swq_layer_stats_observe(swq_layer_stats *stats, const void *data, int32_t dtype, int64_t rows,
                                   int64_t cols);

/** Adds another's statistics (same in_features) to `into`. */
swq_status swq_layer_stats_merge(swq_layer_stats *into, const swq_layer_stats *other);

/** The input features (columns of each batch) the statistics were made for. */
swq_status swq_layer_stats_in_features(const swq_layer_stats *stats, int64_t *in_features);

/** Rows observed so far. */
swq_status swq_layer_stats_count(const swq_layer_stats *stats, int64_t *rows);

/** X^T X into gram[capacity] (row-major in_features x in_features) and, unless NULL, the per-channel means
 *  of |x| and x^2 into mean_abs[in_features] and mean_sq[in_features] (zeros before any data). */
swq_status swq_layer_stats_read(const swq_layer_stats *stats, double *gram, int64_t capacity, double *mean_abs,
                                double *mean_sq);

/** New statistics (*out, free with swq_layer_stats_free) of the inputs scaled channel by channel,
 *  x diag(scales), from `stats` (scales[in_features], finite). For GPTQ after AWQ's channel scales s:
 *  GPTQ of W diag(s) with the statistics scaled by 1 / s. */
swq_status swq_layer_stats_scaled(const swq_layer_stats *stats, const float *scales, swq_layer_stats **out);

/** The statistics as bytes: *size receives the size; with out NULL only the size, else out[capacity]. */
swq_status swq_layer_stats_serialize(const swq_layer_stats *stats, uint8_t *out, int64_t capacity, int64_t *size);

/** Statistics restored from swq_layer_stats_serialize bytes. */
swq_status swq_layer_stats_deserialize(const uint8_t *bytes, int64_t size, swq_layer_stats **out);

/**
 * GPTQ: quantizes weights ([rows, cols] of `dtype`, rows = outputs) column by column, spreading each
 * column's rounding error over the columns not yet quantized through the inverse of H = X^T X from `stats`
 * (in_features == cols) with damp * mean(diag H) added to its diagonal (0.01 is usual). act_order != 0
 * sweeps columns by decreasing diag H with group parameters from the original weights. clip_search != 0
 * chooses every group's (or row's) range by the clipping search of swq_quantize_clip_search, weighted by
 * the inputs' mean square, with both ends shrunk together only, instead of its min and max. Per-tensor, per-row and per-group schemes.
 * SWQ_ERR_INVALID_ARGUMENT when H is not positive definite.
 */
swq_status swq_gptq_v2(const void *data, int32_t dtype, int64_t rows, int64_t cols, const swq_scheme *scheme,
                       const swq_layer_stats *stats, double damp, int32_t act_order, int32_t clip_search,
                       swq_qtensor **out);

/** swq_gptq_v2 with clip_search 0 (the first version's signature). */
swq_status swq_gptq(const void *data, int32_t dtype, int64_t rows, int64_t cols, const swq_scheme *scheme,
                    const swq_layer_stats *stats, double damp, int32_t act_order, swq_qtensor **out);

/**
 * AWQ: for alpha in 0, 1/grid, ..., (grid-1)/grid, scales the weight columns by s = mean|x|^alpha (from
 * `stats`), or with duo_scaling != 0 (AutoAWQ's default) by s = mean|x|^alpha / (mean|w'|^(1-alpha) + 1e-4)
 * where w' is each weight divided by the largest magnitude in its group (its row for per-row schemes) and
 * the mean runs over the rows; s is normalised by sqrt(max(s) min(s)). It quantizes, and keeps the alpha
 * whose layer output error on the calibration data (through X^T X) is least; clip_search != 0 (per-row and
 * per-group schemes) clips each group's range in the final quantization, group after group, to minimise
 * that output error with the other groups' rounding errors fixed, then refits its scale by least squares
 * (AWQ's clipping search; SWQ_ERR_INVALID_ARGUMENT for other schemes). *out receives the
 * quantized W diag(s): its inputs must be divided by channel_scales (written to channel_scales[cols]) or
 * the division folded into the previous operation. *alpha may be NULL.
 */
swq_status swq_awq_v2(const void *data, int32_t dtype, int64_t rows, int64_t cols, const swq_scheme *scheme,
                      const swq_layer_stats *stats, int32_t grid, int32_t clip_search, int32_t duo_scaling,
                      float *channel_scales, double *alpha, swq_qtensor **out);

/** swq_awq_v2 with duo_scaling 0 (the first version's signature). */
swq_status swq_awq(const void *data, int32_t dtype, int64_t rows, int64_t cols, const swq_scheme *scheme,
                   const swq_layer_stats *stats, int32_t grid, int32_t clip_search, float *channel_scales,
                   double *alpha, swq_qtensor **out);

/** SmoothQuant migration scales: scales[j] = act_absmax[j]^alpha / max_i |w[i][j]|^(1 - alpha) for the
 *  weights ([rows, cols] of `dtype`), 1 where either maximum is 0; act_absmax and scales hold cols values.
 *  The layer computes (x / s) (W diag(s))^T. alpha in [0, 1] (0.5 is usual). A scale beyond float32's
 *  normal range is SWQ_ERR_OVERFLOW. */
swq_status swq_smoothquant_scales(const float *act_absmax, const void *weights, int32_t dtype, int64_t rows,
                                  int64_t cols, double alpha, float *scales);

/* ---- ggml block types ------------------------------------------------------------------------------ */

/** ggml's tensor types with ggml's numbers (enum ggml_type); removed numbers stay unused. Every type can be
 *  sized (swq_ggml_type_info, swq_ggml_row_size); the ones with has_codec quantize and dequantize. */
typedef enum swq_ggml_type {
    SWQ_GGML_F32 = 0, SWQ_GGML_F16 = 1, SWQ_GGML_Q4_0 = 2, SWQ_GGML_Q4_1 = 3,
    SWQ_GGML_Q5_0 = 6, SWQ_GGML_Q5_1 = 7, SWQ_GGML_Q8_0 = 8, SWQ_GGML_Q8_1 = 9,
    SWQ_GGML_Q2_K = 10, SWQ_GGML_Q3_K = 11, SWQ_GGML_Q4_K = 12, SWQ_GGML_Q5_K = 13, SWQ_GGML_Q6_K = 14,
    SWQ_GGML_Q8_K = 15, SWQ_GGML_IQ2_XXS = 16, SWQ_GGML_IQ2_XS = 17, SWQ_GGML_IQ3_XXS = 18,
    SWQ_GGML_IQ1_S = 19, SWQ_GGML_IQ4_NL = 20, SWQ_GGML_IQ3_S = 21, SWQ_GGML_IQ2_S = 22,
    SWQ_GGML_IQ4_XS = 23, SWQ_GGML_I8 = 24, SWQ_GGML_I16 = 25, SWQ_GGML_I32 = 26, SWQ_GGML_I64 = 27,
    SWQ_GGML_F64 = 28, SWQ_GGML_IQ1_M = 29, SWQ_GGML_BF16 = 30, SWQ_GGML_TQ1_0 = 34, SWQ_GGML_TQ2_0 = 35,
    SWQ_GGML_MXFP4 = 39, SWQ_GGML_NVFP4 = 40, SWQ_GGML_Q1_0 = 41, SWQ_GGML_Q2_0 = 42,
    SWQ_GGML_TYPE_COUNT = 43
} swq_ggml_type;

/** One row of ggml's type traits. */
typedef struct swq_ggml_type_info {
    const char *name;        /* ggml's name in upper case ("Q4_K"); static storage */
    int32_t block_length;    /* values per block */
    int32_t block_bytes;     /* bytes per block */
    int32_t has_codec;       /* 1 if swq_ggml_quantize and swq_ggml_dequantize support the type */
    int32_t uses_importance; /* 1 if an importance row changes the codes */
} swq_ggml_type_info;

/** The traits of ggml type `type` (a swq_ggml_type value); SWQ_ERR_INVALID_ARGUMENT for another number. */
swq_status swq_ggml_type_info_get(int32_t type, swq_ggml_type_info *out);

/** The ggml type named `name` (any case, e.g. "q4_k") into *type; SWQ_ERR_INVALID_ARGUMENT if none. */
swq_status swq_ggml_type_from_name(const char *name, int32_t *type);

/** Bytes of one row of `cols` values of `type`: cols / block_length * block_bytes. SWQ_ERR_SHAPE when cols
 *  is not a positive multiple of the block length. */
swq_status swq_ggml_row_size(int32_t type, int64_t cols, int64_t *bytes);

/** Quantizes [rows, cols] values of `dtype` into ggml blocks of `type`, exactly as ggml's reference
 *  quantizer writes them and as a GGUF file stores them: rows * swq_ggml_row_size bytes into
 *  dst[dst_nbytes]. importance is NULL or cols non-negative values (an imatrix row: the mean of x^2 per
 *  column), as llama-quantize --imatrix passes them; types without uses_importance ignore it.
 *  SWQ_ERR_NON_FINITE for NaN or infinity in the data or the importance. */
swq_status swq_ggml_quantize(int32_t type, const void *data, int32_t dtype, int64_t rows, int64_t cols,
                             const float *importance, void *dst, int64_t dst_nbytes);

/** Dequantizes rows * swq_ggml_row_size bytes of `type` (blocks[blocks_nbytes]) into dst[dst_count] float32
 *  values, as ggml's dequantizer does; any bytes are accepted. */
swq_status swq_ggml_dequantize(int32_t type, const void *blocks, int64_t blocks_nbytes, int64_t rows,
                               int64_t cols, float *dst, int64_t dst_count);

/* ---- Model files: GGUF, safetensors, Hugging Face folders ----------------------------------------- */

/** File formats of model files. */
typedef enum swq_model_format {
    SWQ_MODEL_GGUF = 0,        /* a GGUF file (versions 2 and 3 read, 3 written) */
    SWQ_MODEL_SAFETENSORS = 1, /* a safetensors file */
    SWQ_MODEL_HF_FOLDER = 2,   /* a Hugging Face model folder: config.json and (sharded) safetensors */
    SWQ_MODEL_FORMAT_COUNT
} swq_model_format;

/** A model opened for reading, its files mapped (not read). Opaque; free with swq_model_free. Safe for
 *  concurrent calls. */
typedef struct swq_model swq_model;

/** One tensor of a model. The pointers are borrowed and live until swq_model_free. */
typedef struct swq_tensor_info {
    const char *name;
    const char *type;    /* a ggml type name ("Q4_K", "F32") for GGUF, a safetensors dtype ("BF16") otherwise */
    int32_t ggml_type;   /* the swq_ggml_type for GGUF tensors, -1 for safetensors ones */
    int32_t n_dims;
    int64_t shape[8];    /* rows first (numpy order): a GGUF tensor's ggml ne reversed */
    int64_t nbytes;
    const void *data;    /* the tensor's bytes inside the mapping */
    int32_t file_index;  /* which file of the model holds it (swq_model_file_path) */
    int64_t file_offset; /* offset of data in that file */
} swq_tensor_info;

/** Opens a GGUF file, a safetensors file or a Hugging Face model folder. Every header is checked before
 *  anything it describes is used: sizes, offsets and counts bounded and overflow-checked, every tensor
 *  inside its file without overlapping another, names unique; a bad file gives SWQ_ERR_INVALID_ARGUMENT
 *  with the byte offset of the fault in swq_last_error(). *out is NULL on failure. */
swq_status swq_model_open(const char *path, swq_model **out);

void swq_model_free(swq_model *model);

/** The format (swq_model_format) and the number of tensors and files; any of the three may be NULL. */
swq_status swq_model_summary(const swq_model *model, int32_t *format, int64_t *tensor_count, int32_t *file_count);

/** The path of file `index` of the model; borrowed until swq_model_free. */
swq_status swq_model_file_path(const swq_model *model, int32_t index, const char **path);

/** Tensor `index` (0 <= index < tensor_count, in file order). */
swq_status swq_model_tensor_info(const swq_model *model, int64_t index, swq_tensor_info *out);

/** The index of the tensor named `name`; SWQ_ERR_INVALID_ARGUMENT if there is none. */
swq_status swq_model_tensor_find(const swq_model *model, const char *name, int64_t *index);

/** The metadata as UTF-8 JSON, with the two-call protocol of the serializers (*size always receives the
 *  byte count, without a terminating NUL; the bytes are copied when out is not NULL and capacity holds
 *  them). GGUF: an object of every key, in file order, with a typed value: [TYPE, value] for scalars
 *  ("UINT32", "STRING", ...), ["ARRAY", ELEMENT_TYPE, [values]] for arrays (nested arrays typed
 *  again); floats exact. Safetensors: __metadata__ (string values). A folder: its config.json. */
swq_status swq_model_metadata_json(const swq_model *model, char *out, int64_t capacity, int64_t *size);

/** The values of tensor `index` as float32 (dequantized or converted) into dst[dst_count];
 *  SWQ_ERR_INVALID_ARGUMENT for a type swquant cannot decode. */
swq_status swq_model_tensor_to_f32(const swq_model *model, int64_t index, float *dst, int64_t dst_count);

/** A model file being written, atomically: the bytes go to a temporary file beside `path`, renamed over
 *  it by swq_model_writer_commit; freeing the writer without committing leaves `path` untouched. Opaque;
 *  free with swq_model_writer_free. Not safe for concurrent calls on the same writer. */
typedef struct swq_model_writer swq_model_writer;

/** A writer of a SWQ_MODEL_GGUF (v3) or SWQ_MODEL_SAFETENSORS file. */
swq_status swq_model_writer_new(const char *path, int32_t format, swq_model_writer **out);

void swq_model_writer_free(swq_model_writer *writer);

/** Adds a metadata key, with a value in the typed JSON of swq_model_metadata_json (safetensors takes
 *  ["STRING", value] only). Before any tensor data; a duplicate key is SWQ_ERR_INVALID_ARGUMENT. */
swq_status swq_model_writer_set_metadata(swq_model_writer *writer, const char *key, const char *typed_json);

/** Adds a tensor with its data: `type` a ggml type name (GGUF) or a safetensors dtype, shape rows first
 *  (n_dims 1 to 4 for GGUF, 0 to 8 for safetensors), nbytes exactly its size. The data waits in an unlinked
 *  scratch file beside the output until commit, so that one tensor at a time is held in memory. */
swq_status swq_model_writer_add_tensor(swq_model_writer *writer, const char *name, const char *type, int32_t n_dims,
                                       const int64_t *shape, const void *data, int64_t nbytes);

/** The planned alternative to add_tensor (not mixed with it): declare every tensor first, then write
 *  each one's data in the same order; the header is written before the first data, which goes straight
 *  to the file. */
swq_status swq_model_writer_declare_tensor(swq_model_writer *writer, const char *name, const char *type,
                                           int32_t n_dims, const int64_t *shape);
swq_status swq_model_writer_write_tensor_data(swq_model_writer *writer, const void *data, int64_t nbytes);

/** Writes what is still due, flushes it to disk and renames the file into place. */
swq_status swq_model_writer_commit(swq_model_writer *writer);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SWQUANT_H */
