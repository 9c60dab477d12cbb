/*
 * _swquant: the CPython face of libswquant, a thin shim over include/swquant.h.
 *
 * It does no math: it checks buffers, releases the GIL around each call into the library, and turns
 * status codes into exceptions. Arrays are created by the Python layer (swquant/*.py) with numpy and
 * passed here through the buffer protocol, so this module needs no numpy headers. Stable ABI (abi3).
 *
 * A scheme crosses as a 7-tuple of ints in swq_scheme field order:
 * (bits, grid, symmetric, granularity, axis, group_size, scale_dtype).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "swquant.h"

static PyObject *QuantizationError;

static const char *const CAPSULE_NAME = "swquant.qtensor";

/* Raises QuantizationError(message, status_name) for a failed call and returns NULL. */
static PyObject *raise_status(swq_status status) {
    PyObject *args = Py_BuildValue("(ss)", swq_last_error(), swq_status_name(status));
    if (args) {
        PyErr_SetObject(QuantizationError, args);
        Py_DECREF(args);
    }
    return NULL;
}

static int parse_scheme(PyObject *tuple, swq_scheme *scheme) {
    if (!PyTuple_Check(tuple) || PyTuple_Size(tuple) != 7) {
        PyErr_SetString(PyExc_TypeError, "scheme must be a 7-tuple of ints");
        return 0;
    }
    return PyArg_ParseTuple(tuple, "iiiiiii", &scheme->bits, &scheme->grid, &scheme->symmetric,
                            &scheme->granularity, &scheme->axis, &scheme->group_size,
                            &scheme->scale_dtype);
}

/* Gets a C-contiguous buffer of exactly `count` items of `itemsize` bytes; writable if asked. */
static int get_buffer(PyObject *object, Py_buffer *view, Py_ssize_t itemsize, long long count,
                      int writable, const char *name) {
    if (PyUnicode_Check(object)) {
        PyErr_Format(PyExc_TypeError, "%s must be an array, not str", name);
        return 0;
    }
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) != 0) {
        return 0;
    }
    if (view->itemsize != itemsize || view->len != (Py_ssize_t)(count * itemsize)) {
        PyErr_Format(PyExc_ValueError, "%s must hold %lld items of %zd bytes, got %zd bytes of %zd-byte items",
                     name, count, itemsize, view->len, view->itemsize);
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

static Py_ssize_t dtype_size(int dtype) { return dtype == SWQ_DTYPE_F32 ? 4 : 2; }

static swq_qtensor *tensor_from_capsule(PyObject *capsule) {
    return (swq_qtensor *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
}

static void capsule_free(PyObject *capsule) { swq_qtensor_free(tensor_from_capsule(capsule)); }

static PyObject *py_abi_version(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromUnsignedLong(swq_abi_version());
}

static PyObject *py_version(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyUnicode_FromString(swq_version());
}

static PyObject *py_set_num_threads(PyObject *self, PyObject *args) {
    int count;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "i", &count)) return NULL;
    status = swq_set_num_threads(count);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
}

static PyObject *py_get_num_threads(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromLong(swq_get_num_threads());
}

/* quantize(data, dtype, rows, cols, scheme) -> capsule */
static PyObject *py_quantize(PyObject *self, PyObject *args) {
    PyObject *data, *scheme_tuple, *result = NULL;
    int dtype;
    long long rows, cols;
    swq_scheme scheme;
    swq_qtensor *tensor = NULL;
    swq_status status;
    Py_buffer view;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLO", &data, &dtype, &rows, &cols, &scheme_tuple)) return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    if (rows <= 0 || cols <= 0) {
        PyErr_Format(PyExc_ValueError, "dimensions must be positive, got [%lld, %lld]", rows, cols);
        return NULL;
    }
    if (!get_buffer(data, &view, dtype_size(dtype), rows * cols, 0, "data")) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = swq_quantize(view.buf, dtype, rows, cols, &scheme, &tensor);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (status != SWQ_OK) return raise_status(status);
    result = PyCapsule_New(tensor, CAPSULE_NAME, capsule_free);
    if (!result) swq_qtensor_free(tensor);
    return result;
}

/* quantize_clip_search(data, dtype, rows, cols, scheme, importance_or_None) -> capsule */
static PyObject *py_quantize_clip_search(PyObject *self, PyObject *args) {
    PyObject *data, *scheme_tuple, *importance_obj, *result = NULL;
    int dtype, has_importance;
    long long rows, cols;
    swq_scheme scheme;
    swq_qtensor *tensor = NULL;
    swq_status status;
    Py_buffer view, importance;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOO", &data, &dtype, &rows, &cols, &scheme_tuple, &importance_obj)) return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    if (rows <= 0 || cols <= 0) {
        PyErr_Format(PyExc_ValueError, "dimensions must be positive, got [%lld, %lld]", rows, cols);
        return NULL;
    }
    has_importance = importance_obj != Py_None;
    if (!get_buffer(data, &view, dtype_size(dtype), rows * cols, 0, "data")) return NULL;
    if (has_importance && !get_buffer(importance_obj, &importance, 4, cols, 0, "importance")) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_quantize_clip_search(view.buf, dtype, rows, cols, &scheme, has_importance ? importance.buf : NULL, &tensor);
    Py_END_ALLOW_THREADS
    if (has_importance) PyBuffer_Release(&importance);
    PyBuffer_Release(&view);
    if (status != SWQ_OK) return raise_status(status);
    result = PyCapsule_New(tensor, CAPSULE_NAME, capsule_free);
    if (!result) swq_qtensor_free(tensor);
    return result;
}

/* info(capsule) -> (rows, cols, scheme, qparam_count, row_stride, nbytes, bits_per_weight) */
static PyObject *py_info(PyObject *self, PyObject *capsule) {
    swq_qtensor *tensor = tensor_from_capsule(capsule);
    int64_t rows, cols, count, packed_bytes, stride, nbytes;
    const uint8_t *data;
    double bits_per_weight;
    swq_scheme s;
    (void)self;
    if (!tensor) return NULL;
    swq_qtensor_shape(tensor, &rows, &cols);
    swq_qtensor_scheme(tensor, &s);
    swq_qtensor_qparams_count(tensor, &count);
    swq_qtensor_packed(tensor, &data, &packed_bytes, &stride);
    swq_qtensor_storage(tensor, &nbytes, &bits_per_weight);
    return Py_BuildValue("(LL(iiiiiii)LLLd)", (long long)rows, (long long)cols, s.bits, s.grid, s.symmetric,
                         s.granularity, s.axis, s.group_size, s.scale_dtype, (long long)count,
                         (long long)stride, (long long)nbytes, bits_per_weight);
}

/* packed(capsule) -> bytes (a copy of the packed codes) */
static PyObject *py_packed(PyObject *self, PyObject *capsule) {
    swq_qtensor *tensor = tensor_from_capsule(capsule);
    const uint8_t *data;
    int64_t nbytes;
    (void)self;
    if (!tensor) return NULL;
    swq_qtensor_packed(tensor, &data, &nbytes, NULL);
    return PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)nbytes);
}

/* qparams(capsule, scales_out, zero_points_out): fills float32 and int32 buffers. */
static PyObject *py_qparams(PyObject *self, PyObject *args) {
    PyObject *capsule, *scales_obj, *zeros_obj;
    Py_buffer scales, zeros;
    swq_qtensor *tensor;
    int64_t count;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &capsule, &scales_obj, &zeros_obj)) return NULL;
    if (!(tensor = tensor_from_capsule(capsule))) return NULL;
    swq_qtensor_qparams_count(tensor, &count);
    if (!get_buffer(scales_obj, &scales, 4, count, 1, "scales")) return NULL;
    if (!get_buffer(zeros_obj, &zeros, 4, count, 1, "zero_points")) {
        PyBuffer_Release(&scales);
        return NULL;
    }
    status = swq_qtensor_scales(tensor, scales.buf, count);
    if (status == SWQ_OK) status = swq_qtensor_zero_points(tensor, zeros.buf, count);
    PyBuffer_Release(&scales);
    PyBuffer_Release(&zeros);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
}

/* dequantize(capsule, out_dtype, out) */
static PyObject *py_dequantize(PyObject *self, PyObject *args) {
    PyObject *capsule, *out_obj;
    int out_dtype;
    Py_buffer out;
    swq_qtensor *tensor;
    int64_t rows, cols;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiO", &capsule, &out_dtype, &out_obj)) return NULL;
    if (!(tensor = tensor_from_capsule(capsule))) return NULL;
    swq_qtensor_shape(tensor, &rows, &cols);
    if (!get_buffer(out_obj, &out, dtype_size(out_dtype), rows * cols, 1, "out")) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = swq_dequantize(tensor, out_dtype, out.buf, rows * cols);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
}

/* compute_qparams(data, dtype, rows, cols, scheme, scales_out, zero_points_out) */
static PyObject *py_compute_qparams(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *scales_obj, *zeros_obj;
    int dtype;
    long long rows, cols;
    int64_t count;
    swq_scheme scheme;
    swq_status status;
    Py_buffer data, scales, zeros;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOO", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &scales_obj, &zeros_obj))
        return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    status = swq_qparams_count(&scheme, rows, cols, &count);
    if (status != SWQ_OK) return raise_status(status);
    if (!get_buffer(data_obj, &data, dtype_size(dtype), rows * cols, 0, "data")) return NULL;
    if (!get_buffer(scales_obj, &scales, 4, count, 1, "scales")) goto release_data;
    if (!get_buffer(zeros_obj, &zeros, 4, count, 1, "zero_points")) goto release_scales;
    Py_BEGIN_ALLOW_THREADS
    status = swq_compute_qparams(data.buf, dtype, rows, cols, &scheme, scales.buf, zeros.buf, count);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&zeros);
    PyBuffer_Release(&scales);
    PyBuffer_Release(&data);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
release_scales:
    PyBuffer_Release(&scales);
release_data:
    PyBuffer_Release(&data);
    return NULL;
}

/* qparams_from_range(scheme, min, max) -> (scale, zero_point) */
static PyObject *py_qparams_from_range(PyObject *self, PyObject *args) {
    PyObject *scheme_tuple;
    float low, high, scale;
    int32_t zero;
    swq_scheme scheme;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "Off", &scheme_tuple, &low, &high)) return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    status = swq_qparams_from_range(&scheme, low, high, &scale, &zero);
    if (status != SWQ_OK) return raise_status(status);
    return Py_BuildValue("(fi)", scale, zero);
}

/* fake_quantize(data, dtype, rows, cols, scheme, scales, zero_points, out, out_dtype) */
static PyObject *py_fake_quantize(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *scales_obj, *zeros_obj, *out_obj;
    int dtype, out_dtype;
    long long rows, cols;
    int64_t count;
    swq_scheme scheme;
    swq_status status;
    Py_buffer data, scales, zeros, out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOOOi", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &scales_obj,
                          &zeros_obj, &out_obj, &out_dtype))
        return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    status = swq_qparams_count(&scheme, rows, cols, &count);
    if (status != SWQ_OK) return raise_status(status);
    if (!get_buffer(data_obj, &data, dtype_size(dtype), rows * cols, 0, "x")) return NULL;
    if (!get_buffer(scales_obj, &scales, 4, count, 0, "scale")) goto release_data;
    if (!get_buffer(zeros_obj, &zeros, 4, count, 0, "zero_point")) goto release_scales;
    if (!get_buffer(out_obj, &out, dtype_size(out_dtype), rows * cols, 1, "out")) goto release_zeros;
    Py_BEGIN_ALLOW_THREADS
    status = swq_fake_quantize(data.buf, dtype, rows, cols, &scheme, scales.buf, zeros.buf, count, out.buf, out_dtype);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    PyBuffer_Release(&zeros);
    PyBuffer_Release(&scales);
    PyBuffer_Release(&data);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
release_zeros:
    PyBuffer_Release(&zeros);
release_scales:
    PyBuffer_Release(&scales);
release_data:
    PyBuffer_Release(&data);
    return NULL;
}

/* quantize_codes(data, dtype, rows, cols, scheme, scales, zero_points, codes) */
static PyObject *py_quantize_codes(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *scales_obj, *zeros_obj, *codes_obj;
    int dtype;
    long long rows, cols;
    int64_t count;
    swq_scheme scheme;
    swq_status status;
    Py_buffer data, scales, zeros, codes;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOOO", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &scales_obj, &zeros_obj,
                          &codes_obj))
        return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    status = swq_qparams_count(&scheme, rows, cols, &count);
    if (status != SWQ_OK) return raise_status(status);
    if (!get_buffer(data_obj, &data, dtype_size(dtype), rows * cols, 0, "x")) return NULL;
    if (!get_buffer(scales_obj, &scales, 4, count, 0, "scale")) goto release_data;
    if (!get_buffer(zeros_obj, &zeros, 4, count, 0, "zero_point")) goto release_scales;
    if (!get_buffer(codes_obj, &codes, 1, rows * cols, 1, "codes")) goto release_zeros;
    Py_BEGIN_ALLOW_THREADS
    status = swq_quantize_codes(data.buf, dtype, rows, cols, &scheme, scales.buf, zeros.buf, count, codes.buf,
                                rows * cols);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&codes);
    PyBuffer_Release(&zeros);
    PyBuffer_Release(&scales);
    PyBuffer_Release(&data);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
release_zeros:
    PyBuffer_Release(&zeros);
release_scales:
    PyBuffer_Release(&scales);
release_data:
    PyBuffer_Release(&data);
    return NULL;
}

/* fake_quantize_grad(data, dtype, rows, cols, scheme, scales, zero_points, grad_out, grad_in,
 *                    grad_scales, grad_zero_points, lsq_scaling) */
static PyObject *py_fake_quantize_grad(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *scales_obj, *zeros_obj, *gout_obj, *gin_obj, *gs_obj, *gz_obj;
    int dtype, lsq;
    long long rows, cols;
    int64_t count;
    swq_scheme scheme;
    swq_status status;
    Py_buffer data, scales, zeros, gout, gin, gs, gz;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOOOOOOi", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &scales_obj,
                          &zeros_obj, &gout_obj, &gin_obj, &gs_obj, &gz_obj, &lsq))
        return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    status = swq_qparams_count(&scheme, rows, cols, &count);
    if (status != SWQ_OK) return raise_status(status);
    if (!get_buffer(data_obj, &data, dtype_size(dtype), rows * cols, 0, "x")) return NULL;
    if (!get_buffer(scales_obj, &scales, 4, count, 0, "scale")) goto release_data;
    if (!get_buffer(zeros_obj, &zeros, 4, count, 0, "zero_point")) goto release_scales;
    if (!get_buffer(gout_obj, &gout, 4, rows * cols, 0, "grad_out")) goto release_zeros;
    if (!get_buffer(gin_obj, &gin, 4, rows * cols, 1, "grad_x")) goto release_gout;
    if (!get_buffer(gs_obj, &gs, 4, count, 1, "grad_scale")) goto release_gin;
    if (!get_buffer(gz_obj, &gz, 4, count, 1, "grad_zero_point")) goto release_gs;
    Py_BEGIN_ALLOW_THREADS
    status = swq_fake_quantize_grad(data.buf, dtype, rows, cols, &scheme, scales.buf, zeros.buf, count, gout.buf,
                                    gin.buf, gs.buf, gz.buf, lsq);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&gz);
    PyBuffer_Release(&gs);
    PyBuffer_Release(&gin);
    PyBuffer_Release(&gout);
    PyBuffer_Release(&zeros);
    PyBuffer_Release(&scales);
    PyBuffer_Release(&data);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
release_gs:
    PyBuffer_Release(&gs);
release_gin:
    PyBuffer_Release(&gin);
release_gout:
    PyBuffer_Release(&gout);
release_zeros:
    PyBuffer_Release(&zeros);
release_scales:
    PyBuffer_Release(&scales);
release_data:
    PyBuffer_Release(&data);
    return NULL;
}

/* error_metrics(reference, approx, count) -> (mse, sqnr_db, max_abs_error) */
static PyObject *py_error_metrics(PyObject *self, PyObject *args) {
    PyObject *a_obj, *b_obj;
    long long count;
    Py_buffer a, b;
    swq_metrics metrics;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOL", &a_obj, &b_obj, &count)) return NULL;
    if (!get_buffer(a_obj, &a, 4, count, 0, "reference")) return NULL;
    if (!get_buffer(b_obj, &b, 4, count, 0, "approx")) {
        PyBuffer_Release(&a);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_error_metrics(a.buf, b.buf, count, &metrics);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    if (status != SWQ_OK) return raise_status(status);
    return Py_BuildValue("(ddd)", metrics.mse, metrics.sqnr_db, metrics.max_abs_error);
}

/* matmul(capsule, x, m, bias_or_None, y, path) */
static PyObject *py_matmul(PyObject *self, PyObject *args) {
    PyObject *capsule, *x_obj, *bias_obj, *y_obj;
    long long m;
    int path;
    int64_t rows, cols;
    swq_qtensor *tensor;
    swq_status status;
    Py_buffer x, bias, y;
    int has_bias;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOLOOi", &capsule, &x_obj, &m, &bias_obj, &y_obj, &path)) return NULL;
    if (!(tensor = tensor_from_capsule(capsule))) return NULL;
    if (m <= 0) {
        PyErr_Format(PyExc_ValueError, "x must have at least one row, got %lld", m);
        return NULL;
    }
    swq_qtensor_shape(tensor, &rows, &cols);
    has_bias = bias_obj != Py_None;
    if (!get_buffer(x_obj, &x, 4, m * cols, 0, "x")) return NULL;
    if (has_bias && !get_buffer(bias_obj, &bias, 4, rows, 0, "bias")) goto release_x;
    if (!get_buffer(y_obj, &y, 4, m * rows, 1, "y")) goto release_bias;
    Py_BEGIN_ALLOW_THREADS
    status = swq_matmul(tensor, x.buf, m, cols, has_bias ? bias.buf : NULL, y.buf, m * rows, path);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&y);
    if (has_bias) PyBuffer_Release(&bias);
    PyBuffer_Release(&x);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
release_bias:
    if (has_bias) PyBuffer_Release(&bias);
release_x:
    PyBuffer_Release(&x);
    return NULL;
}

/* matmul_static_int8(capsule, a, m, a_scale, a_zero_point, bias_or_None, output, out_scale, out_zero_point, out) */
static PyObject *py_matmul_static_int8(PyObject *self, PyObject *args) {
    PyObject *capsule, *a_obj, *bias_obj, *out_obj;
    long long m;
    float a_scale, out_scale;
    int a_zero, output, out_zero;
    int64_t rows, cols;
    swq_qtensor *tensor;
    swq_status status;
    Py_buffer a, bias, out;
    int has_bias;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOLfiOifiO", &capsule, &a_obj, &m, &a_scale, &a_zero, &bias_obj, &output, &out_scale,
                          &out_zero, &out_obj))
        return NULL;
    if (!(tensor = tensor_from_capsule(capsule))) return NULL;
    if (m <= 0) {
        PyErr_Format(PyExc_ValueError, "a must have at least one row, got %lld", m);
        return NULL;
    }
    swq_qtensor_shape(tensor, &rows, &cols);
    has_bias = bias_obj != Py_None;
    if (!get_buffer(a_obj, &a, 1, m * cols, 0, "a")) return NULL;
    if (has_bias && !get_buffer(bias_obj, &bias, 4, rows, 0, "bias")) goto release_a;
    if (!get_buffer(out_obj, &out, output == SWQ_OUTPUT_UINT8 ? 1 : 4, m * rows, 1, "out")) goto release_bias;
    Py_BEGIN_ALLOW_THREADS
    status = swq_matmul_static_int8(tensor, a.buf, m, cols, a_scale, a_zero, has_bias ? bias.buf : NULL, output,
                                    out_scale, out_zero, out.buf, m * rows);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    if (has_bias) PyBuffer_Release(&bias);
    PyBuffer_Release(&a);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
release_bias:
    if (has_bias) PyBuffer_Release(&bias);
release_a:
    PyBuffer_Release(&a);
    return NULL;
}

/* ---- accumulators: observers and layer statistics ----
 * Both are opaque handles fed batches of activations that merge across workers and round-trip through
 * bytes; these helpers serve both kinds and dispatch to the kind's own swq_ call. */

typedef enum { OBSERVER, LAYER_STATS } accumulator_kind;

static const char *const CAPSULE_NAMES[] = {"swquant.observer", "swquant.layer_stats"};

static void *accumulator_from_capsule(PyObject *capsule, accumulator_kind kind) {
    return PyCapsule_GetPointer(capsule, CAPSULE_NAMES[kind]);
}

static swq_observer *observer_from_capsule(PyObject *capsule) { return accumulator_from_capsule(capsule, OBSERVER); }

static swq_layer_stats *stats_from_capsule(PyObject *capsule) { return accumulator_from_capsule(capsule, LAYER_STATS); }

static void observer_capsule_free(PyObject *capsule) { swq_observer_free(observer_from_capsule(capsule)); }

static void stats_capsule_free(PyObject *capsule) { swq_layer_stats_free(stats_from_capsule(capsule)); }

/* A capsule owning `handle`; frees the handle when the capsule cannot be made. */
static PyObject *wrap_accumulator(void *handle, accumulator_kind kind) {
    PyObject *capsule = PyCapsule_New(handle, CAPSULE_NAMES[kind],
                                      kind == OBSERVER ? observer_capsule_free : stats_capsule_free);
    if (!capsule) {
        if (kind == OBSERVER) swq_observer_free(handle);
        else swq_layer_stats_free(handle);
    }
    return capsule;
}

/* (capsule, data, dtype, rows, cols): one batch of activations into the accumulator. */
static PyObject *accumulator_observe(PyObject *args, accumulator_kind kind) {
    PyObject *capsule, *data_obj;
    int dtype;
    long long rows, cols;
    void *handle;
    swq_status status;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "OOiLL", &capsule, &data_obj, &dtype, &rows, &cols)) return NULL;
    if (!(handle = accumulator_from_capsule(capsule, kind))) return NULL;
    if (rows <= 0 || cols <= 0) {
        PyErr_Format(PyExc_ValueError, "dimensions must be positive, got [%lld, %lld]", rows, cols);
        return NULL;
    }
    if (!get_buffer(data_obj, &data, dtype_size(dtype), rows * cols, 0, "x")) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = kind == OBSERVER ? swq_observer_observe(handle, data.buf, dtype, rows, cols)
                              : swq_layer_stats_observe(handle, data.buf, dtype, rows, cols);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
}

/* (into, other): folds `other` into `into`. */
static PyObject *accumulator_merge(PyObject *args, accumulator_kind kind) {
    PyObject *into_obj, *other_obj;
    void *into, *other;
    swq_status status;
    if (!PyArg_ParseTuple(args, "OO", &into_obj, &other_obj)) return NULL;
    if (!(into = accumulator_from_capsule(into_obj, kind)) || !(other = accumulator_from_capsule(other_obj, kind)))
        return NULL;
    status = kind == OBSERVER ? swq_observer_merge(into, other) : swq_layer_stats_merge(into, other);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
}

/* The kind's swq_*_serialize call. */
static swq_status serialize_accumulator(void *handle, accumulator_kind kind, uint8_t *out, int64_t capacity,
                                        int64_t *size) {
    return kind == OBSERVER ? swq_observer_serialize(handle, out, capacity, size)
                            : swq_layer_stats_serialize(handle, out, capacity, size);
}

/* capsule -> bytes: asks for the size, then fills a bytes object of that size. */
static PyObject *accumulator_serialize(PyObject *capsule, accumulator_kind kind) {
    void *handle = accumulator_from_capsule(capsule, kind);
    int64_t size = 0;
    PyObject *bytes;
    swq_status status;
    if (!handle) return NULL;
    status = serialize_accumulator(handle, kind, NULL, 0, &size);
    if (status != SWQ_OK) return raise_status(status);
    bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (!bytes) return NULL;
    status = serialize_accumulator(handle, kind, (uint8_t *)PyBytes_AsString(bytes), size, &size);
    if (status != SWQ_OK) {
        Py_DECREF(bytes);
        return raise_status(status);
    }
    return bytes;
}

/* bytes -> capsule */
static PyObject *accumulator_deserialize(PyObject *data_obj, accumulator_kind kind) {
    Py_buffer data;
    swq_observer *observer = NULL;
    swq_layer_stats *stats = NULL;
    swq_status status;
    if (PyObject_GetBuffer(data_obj, &data, PyBUF_C_CONTIGUOUS) != 0) return NULL;
    status = kind == OBSERVER ? swq_observer_deserialize(data.buf, data.len, &observer)
                              : swq_layer_stats_deserialize(data.buf, data.len, &stats);
    PyBuffer_Release(&data);
    if (status != SWQ_OK) return raise_status(status);
    return kind == OBSERVER ? wrap_accumulator(observer, OBSERVER) : wrap_accumulator(stats, LAYER_STATS);
}

/* ---- observers ---- */

/* observer_new(method, parameter, bits, symmetric, axis, bins) -> capsule */
static PyObject *py_observer_new(PyObject *self, PyObject *args) {
    int method, bits, symmetric, axis, bins;
    double parameter;
    swq_observer *observer = NULL;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "idiiii", &method, &parameter, &bits, &symmetric, &axis, &bins)) return NULL;
    status = swq_observer_new(method, parameter, bits, symmetric, axis, bins, &observer);
    if (status != SWQ_OK) return raise_status(status);
    return wrap_accumulator(observer, OBSERVER);
}

static PyObject *py_observer_observe(PyObject *self, PyObject *args) {
    (void)self;
    return accumulator_observe(args, OBSERVER);
}

static PyObject *py_observer_merge(PyObject *self, PyObject *args) {
    (void)self;
    return accumulator_merge(args, OBSERVER);
}

static PyObject *py_observer_serialize(PyObject *self, PyObject *capsule) {
    (void)self;
    return accumulator_serialize(capsule, OBSERVER);
}

static PyObject *py_observer_deserialize(PyObject *self, PyObject *data) {
    (void)self;
    return accumulator_deserialize(data, OBSERVER);
}

/* observer_channels(capsule) -> int */
static PyObject *py_observer_channels(PyObject *self, PyObject *capsule) {
    swq_observer *observer = observer_from_capsule(capsule);
    int64_t count;
    swq_status status;
    (void)self;
    if (!observer) return NULL;
    status = swq_observer_channels(observer, &count);
    if (status != SWQ_OK) return raise_status(status);
    return PyLong_FromLongLong((long long)count);
}

/* observer_range(capsule, low_out, high_out) or observer_qparams(capsule, grid, scales_out, zeros_out) */
static PyObject *py_observer_range(PyObject *self, PyObject *args) {
    PyObject *capsule, *low_obj, *high_obj;
    swq_observer *observer;
    int64_t count;
    swq_status status;
    Py_buffer low, high;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &capsule, &low_obj, &high_obj)) return NULL;
    if (!(observer = observer_from_capsule(capsule))) return NULL;
    status = swq_observer_channels(observer, &count);
    if (status != SWQ_OK) return raise_status(status);
    if (!get_buffer(low_obj, &low, 4, count, 1, "low")) return NULL;
    if (!get_buffer(high_obj, &high, 4, count, 1, "high")) {
        PyBuffer_Release(&low);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_observer_range(observer, low.buf, high.buf, count);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&low);
    PyBuffer_Release(&high);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
}

static PyObject *py_observer_qparams(PyObject *self, PyObject *args) {
    PyObject *capsule, *scales_obj, *zeros_obj;
    int grid;
    swq_observer *observer;
    int64_t count;
    swq_status status;
    Py_buffer scales, zeros;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiOO", &capsule, &grid, &scales_obj, &zeros_obj)) return NULL;
    if (!(observer = observer_from_capsule(capsule))) return NULL;
    status = swq_observer_channels(observer, &count);
    if (status != SWQ_OK) return raise_status(status);
    if (!get_buffer(scales_obj, &scales, 4, count, 1, "scales")) return NULL;
    if (!get_buffer(zeros_obj, &zeros, 4, count, 1, "zero_points")) {
        PyBuffer_Release(&scales);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_observer_qparams(observer, grid, scales.buf, zeros.buf, count);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&scales);
    PyBuffer_Release(&zeros);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
}

/* ---- layer statistics ---- */

/* layer_stats_new(in_features) -> capsule */
static PyObject *py_layer_stats_new(PyObject *self, PyObject *args) {
    long long in_features;
    swq_layer_stats *stats = NULL;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "L", &in_features)) return NULL;
    status = swq_layer_stats_new(in_features, &stats);
    if (status != SWQ_OK) return raise_status(status);
    return wrap_accumulator(stats, LAYER_STATS);
}

static PyObject *py_layer_stats_observe(PyObject *self, PyObject *args) {
    (void)self;
    return accumulator_observe(args, LAYER_STATS);
}

static PyObject *py_layer_stats_merge(PyObject *self, PyObject *args) {
    (void)self;
    return accumulator_merge(args, LAYER_STATS);
}

static PyObject *py_layer_stats_serialize(PyObject *self, PyObject *capsule) {
    (void)self;
    return accumulator_serialize(capsule, LAYER_STATS);
}

static PyObject *py_layer_stats_deserialize(PyObject *self, PyObject *data) {
    (void)self;
    return accumulator_deserialize(data, LAYER_STATS);
}

/* layer_stats_scaled(capsule, scales) -> capsule of the statistics of x * scales */
static PyObject *py_layer_stats_scaled(PyObject *self, PyObject *args) {
    PyObject *capsule, *scales_obj;
    swq_layer_stats *stats, *scaled = NULL;
    swq_status status;
    long long in_features;
    Py_buffer scales;
    (void)self;
    if (!PyArg_ParseTuple(args, "OLO", &capsule, &in_features, &scales_obj)) return NULL;
    if (!(stats = stats_from_capsule(capsule))) return NULL;
    if (!get_buffer(scales_obj, &scales, 4, in_features, 0, "scales")) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = swq_layer_stats_scaled(stats, scales.buf, &scaled);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&scales);
    if (status != SWQ_OK) return raise_status(status);
    return wrap_accumulator(scaled, LAYER_STATS);
}

/* layer_stats_read(capsule, gram_out, mean_abs_out, mean_sq_out) -> rows observed */
static PyObject *py_layer_stats_read(PyObject *self, PyObject *args) {
    PyObject *capsule, *gram_obj, *abs_obj, *sq_obj;
    swq_layer_stats *stats;
    swq_status status;
    int64_t rows;
    Py_buffer gram, mean_abs, mean_sq;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOO", &capsule, &gram_obj, &abs_obj, &sq_obj)) return NULL;
    if (!(stats = stats_from_capsule(capsule))) return NULL;
    if (PyObject_GetBuffer(gram_obj, &gram, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) return NULL;
    if (PyObject_GetBuffer(abs_obj, &mean_abs, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) goto release_gram;
    if (PyObject_GetBuffer(sq_obj, &mean_sq, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) goto release_abs;
    status = swq_layer_stats_read(stats, gram.buf, gram.len / 8, mean_abs.buf, mean_sq.buf);
    if (status == SWQ_OK) status = swq_layer_stats_count(stats, &rows);
    PyBuffer_Release(&mean_sq);
    PyBuffer_Release(&mean_abs);
    PyBuffer_Release(&gram);
    if (status != SWQ_OK) return raise_status(status);
    return PyLong_FromLongLong((long long)rows);
release_abs:
    PyBuffer_Release(&mean_abs);
release_gram:
    PyBuffer_Release(&gram);
    return NULL;
}

/* gptq(data, dtype, rows, cols, scheme, stats_capsule, damp, act_order) -> tensor capsule */
static PyObject *py_gptq(PyObject *self, PyObject *args) {
    PyObject *data, *scheme_tuple, *stats_obj, *result;
    int dtype, act_order, clip_search;
    long long rows, cols;
    double damp;
    swq_scheme scheme;
    swq_layer_stats *stats;
    swq_qtensor *tensor = NULL;
    swq_status status;
    Py_buffer view;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOdii", &data, &dtype, &rows, &cols, &scheme_tuple, &stats_obj, &damp, &act_order,
                          &clip_search))
        return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    if (!(stats = stats_from_capsule(stats_obj))) return NULL;
    if (rows <= 0 || cols <= 0) {
        PyErr_Format(PyExc_ValueError, "dimensions must be positive, got [%lld, %lld]", rows, cols);
        return NULL;
    }
    if (!get_buffer(data, &view, dtype_size(dtype), rows * cols, 0, "w")) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = swq_gptq_v2(view.buf, dtype, rows, cols, &scheme, stats, damp, act_order, clip_search, &tensor);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (status != SWQ_OK) return raise_status(status);
    result = PyCapsule_New(tensor, CAPSULE_NAME, capsule_free);
    if (!result) swq_qtensor_free(tensor);
    return result;
}

/* awq(data, dtype, rows, cols, scheme, stats_capsule, grid, clip_search, duo_scaling, scales_out)
 *     -> (capsule, alpha) */
static PyObject *py_awq(PyObject *self, PyObject *args) {
    PyObject *data, *scheme_tuple, *stats_obj, *scales_obj, *capsule;
    int dtype, grid, clip_search, duo_scaling;
    long long rows, cols;
    double alpha = 0;
    swq_scheme scheme;
    swq_layer_stats *stats;
    swq_qtensor *tensor = NULL;
    swq_status status;
    Py_buffer view, scales;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOiiiO", &data, &dtype, &rows, &cols, &scheme_tuple, &stats_obj, &grid,
                          &clip_search, &duo_scaling, &scales_obj))
        return NULL;
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    if (!(stats = stats_from_capsule(stats_obj))) return NULL;
    if (rows <= 0 || cols <= 0) {
        PyErr_Format(PyExc_ValueError, "dimensions must be positive, got [%lld, %lld]", rows, cols);
        return NULL;
    }
    if (!get_buffer(data, &view, dtype_size(dtype), rows * cols, 0, "w")) return NULL;
    if (!get_buffer(scales_obj, &scales, 4, cols, 1, "channel_scales")) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_awq_v2(view.buf, dtype, rows, cols, &scheme, stats, grid, clip_search, duo_scaling, scales.buf,
                        &alpha, &tensor);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&scales);
    PyBuffer_Release(&view);
    if (status != SWQ_OK) return raise_status(status);
    capsule = PyCapsule_New(tensor, CAPSULE_NAME, capsule_free);
    if (!capsule) {
        swq_qtensor_free(tensor);
        return NULL;
    }
    return Py_BuildValue("(Nd)", capsule, alpha);
}

/* smoothquant_scales(act_absmax, weights, dtype, rows, cols, alpha, scales_out) */
static PyObject *py_smoothquant_scales(PyObject *self, PyObject *args) {
    PyObject *act_obj, *w_obj, *out_obj;
    int dtype;
    long long rows, cols;
    double alpha;
    swq_status status;
    Py_buffer act, w, out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOiLLdO", &act_obj, &w_obj, &dtype, &rows, &cols, &alpha, &out_obj)) return NULL;
    if (rows <= 0 || cols <= 0) {
        PyErr_Format(PyExc_ValueError, "dimensions must be positive, got [%lld, %lld]", rows, cols);
        return NULL;
    }
    if (!get_buffer(act_obj, &act, 4, cols, 0, "act_absmax")) return NULL;
    if (!get_buffer(w_obj, &w, dtype_size(dtype), rows * cols, 0, "w")) goto release_act;
    if (!get_buffer(out_obj, &out, 4, cols, 1, "scales")) goto release_w;
    Py_BEGIN_ALLOW_THREADS
    status = swq_smoothquant_scales(act.buf, w.buf, dtype, rows, cols, alpha, out.buf);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&out);
    PyBuffer_Release(&w);
    PyBuffer_Release(&act);
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
release_w:
    PyBuffer_Release(&w);
release_act:
    PyBuffer_Release(&act);
    return NULL;
}

static PyObject *py_cpu_features(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyUnicode_FromString(swq_cpu_features());
}

static PyMethodDef methods[] = {
    {"abi_version", py_abi_version, METH_NOARGS, "ABI version of the loaded libswquant."},
    {"version", py_version, METH_NOARGS, "Version of the loaded libswquant."},
    {"set_num_threads", py_set_num_threads, METH_VARARGS, "Set the worker thread count (0: default)."},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "The worker thread count."},
    {"quantize", py_quantize, METH_VARARGS, "quantize(data, dtype, rows, cols, scheme) -> capsule"},
    {"quantize_clip_search", py_quantize_clip_search, METH_VARARGS,
     "quantize_clip_search(data, dtype, rows, cols, scheme, importance_or_None) -> capsule"},
    {"info", py_info, METH_O, "info(capsule) -> (rows, cols, scheme, qparam_count, row_stride, nbytes, bpw)"},
    {"packed", py_packed, METH_O, "packed(capsule) -> bytes"},
    {"qparams", py_qparams, METH_VARARGS, "qparams(capsule, scales_out, zero_points_out)"},
    {"dequantize", py_dequantize, METH_VARARGS, "dequantize(capsule, out_dtype, out)"},
    {"compute_qparams", py_compute_qparams, METH_VARARGS,
     "compute_qparams(data, dtype, rows, cols, scheme, scales_out, zero_points_out)"},
    {"qparams_from_range", py_qparams_from_range, METH_VARARGS, "qparams_from_range(scheme, min, max)"},
    {"fake_quantize", py_fake_quantize, METH_VARARGS,
     "fake_quantize(data, dtype, rows, cols, scheme, scales, zero_points, out, out_dtype)"},
    {"error_metrics", py_error_metrics, METH_VARARGS, "error_metrics(reference, approx, count)"},
    {"quantize_codes", py_quantize_codes, METH_VARARGS,
     "quantize_codes(data, dtype, rows, cols, scheme, scales, zero_points, codes)"},
    {"fake_quantize_grad", py_fake_quantize_grad, METH_VARARGS,
     "fake_quantize_grad(data, dtype, rows, cols, scheme, scales, zero_points, grad_out, grad_in, grad_scales, "
     "grad_zero_points, lsq_scaling)"},
    {"matmul", py_matmul, METH_VARARGS, "matmul(capsule, x, m, bias_or_None, y, path)"},
    {"matmul_static_int8", py_matmul_static_int8, METH_VARARGS,
     "matmul_static_int8(capsule, a, m, a_scale, a_zero_point, bias, output, out_scale, out_zero_point, out)"},
    {"cpu_features", py_cpu_features, METH_NOARGS, "CPU features and kernel tiers."},
    {"smoothquant_scales", py_smoothquant_scales, METH_VARARGS,
     "smoothquant_scales(act_absmax, weights, dtype, rows, cols, alpha, scales_out)"},
    {"awq", py_awq, METH_VARARGS, "awq(data, dtype, rows, cols, scheme, stats, grid, clip_search, scales_out)"},
    {"gptq", py_gptq, METH_VARARGS, "gptq(data, dtype, rows, cols, scheme, stats, damp, act_order, clip_search) -> capsule"},
    {"layer_stats_new", py_layer_stats_new, METH_VARARGS, "layer_stats_new(in_features) -> capsule"},
    {"layer_stats_observe", py_layer_stats_observe, METH_VARARGS, "layer_stats_observe(capsule, data, dtype, rows, cols)"},
    {"layer_stats_merge", py_layer_stats_merge, METH_VARARGS, "layer_stats_merge(into, other)"},
    {"layer_stats_read", py_layer_stats_read, METH_VARARGS, "layer_stats_read(capsule, gram, mean_abs, mean_sq) -> rows"},
    {"layer_stats_serialize", py_layer_stats_serialize, METH_O, "layer_stats_serialize(capsule) -> bytes"},
    {"layer_stats_deserialize", py_layer_stats_deserialize, METH_O, "layer_stats_deserialize(bytes) -> capsule"},
    {"layer_stats_scaled", py_layer_stats_scaled, METH_VARARGS, "layer_stats_scaled(capsule, in_features, scales) -> capsule"},
    {"observer_new", py_observer_new, METH_VARARGS, "observer_new(method, parameter, bits, symmetric, axis, bins)"},
    {"observer_observe", py_observer_observe, METH_VARARGS, "observer_observe(capsule, data, dtype, rows, cols)"},
    {"observer_merge", py_observer_merge, METH_VARARGS, "observer_merge(into, other)"},
    {"observer_channels", py_observer_channels, METH_O, "observer_channels(capsule) -> int"},
    {"observer_range", py_observer_range, METH_VARARGS, "observer_range(capsule, low_out, high_out)"},
    {"observer_qparams", py_observer_qparams, METH_VARARGS, "observer_qparams(capsule, grid, scales_out, zeros_out)"},
    {"observer_serialize", py_observer_serialize, METH_O, "observer_serialize(capsule) -> bytes"},
    {"observer_deserialize", py_observer_deserialize, METH_O, "observer_deserialize(bytes) -> capsule"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_swquant", "Native shim over libswquant (see the swquant package).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__swquant(void) {
    PyObject *m;
    /* Refuse a library older than the header this shim was compiled against. */
    if (swq_abi_version() < SWQ_ABI_VERSION) {
        PyErr_Format(PyExc_ImportError, "libswquant ABI %u is older than this extension's %d",
                     swq_abi_version(), SWQ_ABI_VERSION);
        return NULL;
    }
    m = PyModule_Create(&module);
    if (!m) return NULL;
    QuantizationError = PyErr_NewExceptionWithDoc(
        "swquant.QuantizationError",
        "A swquant call failed: args are (message, status name). A ValueError.", PyExc_ValueError, NULL);
    if (!QuantizationError || PyModule_AddObject(m, "QuantizationError", QuantizationError) != 0) {
        Py_XDECREF(QuantizationError);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(QuantizationError);
    PyModule_AddIntConstant(m, "ABI_VERSION", SWQ_ABI_VERSION);
    return m;
}
