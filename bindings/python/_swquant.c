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

#include <limits.h>

#include "swquant.h"

static PyObject *QuantizationError;

static const char *const CAPSULE_NAME = "swquant.qtensor";

/* Raises QuantizationError(message, status_name) for a failed call (MemoryError for
 * SWQ_ERR_OUT_OF_MEMORY, as Python raises when memory runs out) and returns NULL. */
static PyObject *raise_status(swq_status status) {
    PyObject *args;
    if (status == SWQ_ERR_OUT_OF_MEMORY) {
        PyErr_SetString(PyExc_MemoryError, swq_last_error());
        return NULL;
    }
    args = Py_BuildValue("(ss)", swq_last_error(), swq_status_name(status));
    if (args) {
        PyErr_SetObject(QuantizationError, args);
        Py_DECREF(args);
    }
    return NULL;
}

/* After a failed PyArg_ParseTuple: an integer too large for its C type is a ValueError, as every other
 * out-of-range argument is (not an OverflowError). Returns NULL. */
static PyObject *parse_error(void) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        PyErr_SetString(PyExc_ValueError, "an integer argument is out of range");
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
    }
    return NULL;
}

static int parse_scheme(PyObject *tuple, swq_scheme *scheme) {
    if (!PyTuple_Check(tuple) || PyTuple_Size(tuple) != 7) {
        PyErr_SetString(PyExc_TypeError, "scheme must be a 7-tuple of ints");
        return 0;
    }
    if (!PyArg_ParseTuple(tuple, "iiiiiii", &scheme->bits, &scheme->grid, &scheme->symmetric,
                          &scheme->granularity, &scheme->axis, &scheme->group_size, &scheme->scale_dtype)) {
        parse_error();
        return 0;
    }
    return 1;
}

/* The buffers one call borrows, released together by buffers_release whatever happened. */
typedef struct {
    Py_buffer views[8];
    int count;
} buffers;

static void buffers_release(buffers *set) {
    while (set->count > 0) PyBuffer_Release(&set->views[--set->count]);
}

/* Borrows a C-contiguous buffer of exactly `count` items of `itemsize` bytes (writable if asked) into
 * *buf; 0 with an exception set when the object is not such a buffer. */
static int buffers_add(buffers *set, PyObject *object, Py_ssize_t itemsize, long long count, int writable,
                       const char *name, void **buf) {
    Py_buffer *view = &set->views[set->count];
    if (PyUnicode_Check(object)) {
        PyErr_Format(PyExc_TypeError, "%s must be an array, not str", name);
        return 0;
    }
    if (count < 0 || count > PY_SSIZE_T_MAX / itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: %lld items of %zd bytes do not fit memory", name, count, itemsize);
        return 0;
    }
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) != 0) return 0;
    set->count++;
    if (view->itemsize != itemsize || view->len != (Py_ssize_t)count * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s must hold %lld items of %zd bytes, got %zd bytes of %zd-byte items",
                     name, count, itemsize, view->len, view->itemsize);
        return 0;
    }
    *buf = view->buf;
    return 1;
}

/* buffers_add, where None stands for a NULL pointer. */
static int buffers_add_optional(buffers *set, PyObject *object, Py_ssize_t itemsize, long long count, int writable,
                                const char *name, void **buf) {
    *buf = NULL;
    return object == Py_None || buffers_add(set, object, itemsize, count, writable, name, buf);
}

/* rows * cols for positive dimensions whose product fits; else 0 with ValueError set. */
static long long element_count(long long rows, long long cols) {
    if (rows <= 0 || cols <= 0 || rows > LLONG_MAX / cols) {
        PyErr_Format(PyExc_ValueError, "dimensions must be positive and fit 64 bits, got [%lld, %lld]", rows, cols);
        return 0;
    }
    return rows * cols;
}

static Py_ssize_t dtype_size(int dtype) { return dtype == SWQ_DTYPE_F32 ? 4 : 2; }

static swq_qtensor *tensor_from_capsule(PyObject *capsule) {
    return (swq_qtensor *)PyCapsule_GetPointer(capsule, CAPSULE_NAME);
}

static void capsule_free(PyObject *capsule) { swq_qtensor_free(tensor_from_capsule(capsule)); }

/* A capsule owning `tensor` after a successful call; frees it when the capsule cannot be made. */
static PyObject *wrap_tensor(swq_status status, swq_qtensor *tensor) {
    PyObject *capsule;
    if (status != SWQ_OK) return raise_status(status);
    capsule = PyCapsule_New(tensor, CAPSULE_NAME, capsule_free);
    if (!capsule) swq_qtensor_free(tensor);
    return capsule;
}

/* None after a successful call, else the exception of its status. */
static PyObject *none_or_raise(swq_status status) {
    if (status != SWQ_OK) return raise_status(status);
    Py_RETURN_NONE;
}

/* A swq_*_serialize call on one handle, adapted to one signature. */
typedef swq_status (*serializer)(const void *handle, uint8_t *out, int64_t capacity, int64_t *size);

static swq_status serialize_tensor(const void *handle, uint8_t *out, int64_t capacity, int64_t *size) {
    return swq_qtensor_serialize(handle, out, capacity, size);
}

static swq_status serialize_observer(const void *handle, uint8_t *out, int64_t capacity, int64_t *size) {
    return swq_observer_serialize(handle, out, capacity, size);
}

static swq_status serialize_stats(const void *handle, uint8_t *out, int64_t capacity, int64_t *size) {
    return swq_layer_stats_serialize(handle, out, capacity, size);
}

/* The handle's state as a bytes object: asks for the size, then fills a bytes object of that size. */
static PyObject *serialized_bytes(const void *handle, serializer serialize) {
    int64_t size = 0;
    PyObject *bytes;
    swq_status status = serialize(handle, NULL, 0, &size);
    if (status != SWQ_OK) return raise_status(status);
    if (!(bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size))) return NULL;
    status = serialize(handle, (uint8_t *)PyBytes_AsString(bytes), size, &size);
    if (status != SWQ_OK) {
        Py_DECREF(bytes);
        return raise_status(status);
    }
    return bytes;
}

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
    (void)self;
    if (!PyArg_ParseTuple(args, "i", &count)) return parse_error();
    return none_or_raise(swq_set_num_threads(count));
}

static PyObject *py_get_num_threads(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromLong(swq_get_num_threads());
}

/* quantize(data, dtype, rows, cols, scheme, importance_or_None, clip_search) -> capsule */
static PyObject *py_quantize(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *importance_obj;
    int dtype, clip_search;
    long long rows, cols, n;
    swq_scheme scheme;
    swq_qtensor *tensor = NULL;
    swq_status status = SWQ_OK;
    buffers set = {0};
    void *data, *importance;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOp", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &importance_obj, &clip_search))
        return parse_error();
    if (!parse_scheme(scheme_tuple, &scheme) || !(n = element_count(rows, cols))) return NULL;
    if (!buffers_add(&set, data_obj, dtype_size(dtype), n, 0, "data", &data) ||
        !buffers_add_optional(&set, importance_obj, 4, cols, 0, "importance", &importance)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = clip_search ? swq_quantize_clip_search(data, dtype, rows, cols, &scheme, importance, &tensor)
                         : swq_quantize(data, dtype, rows, cols, &scheme, &tensor);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return wrap_tensor(status, tensor);
}

/* qtensor_from_parts(rows, cols, scheme, packed, scales, zero_points_or_None) -> capsule. The core checks
 * every size against the scheme: the parameter count is the number of scales. */
static PyObject *py_qtensor_from_parts(PyObject *self, PyObject *args) {
    PyObject *scheme_tuple, *packed_obj, *scales_obj, *zeros_obj;
    long long rows, cols, count;
    swq_scheme scheme;
    swq_qtensor *tensor = NULL;
    swq_status status;
    buffers set = {0};
    void *zeros;
    Py_buffer *packed = &set.views[0], *scales = &set.views[1];
    (void)self;
    if (!PyArg_ParseTuple(args, "LLOOOO", &rows, &cols, &scheme_tuple, &packed_obj, &scales_obj, &zeros_obj)) return parse_error();
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    if (PyObject_GetBuffer(packed_obj, packed, PyBUF_C_CONTIGUOUS) != 0) return NULL;
    set.count = 1;
    if (PyObject_GetBuffer(scales_obj, scales, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) goto fail;
    set.count = 2;
    if (scales->itemsize != 4) {
        PyErr_SetString(PyExc_ValueError, "scales must be float32");
        goto fail;
    }
    count = scales->len / 4;
    if (!buffers_add_optional(&set, zeros_obj, 4, count, 0, "zero_points", &zeros)) goto fail;
    status = swq_qtensor_from_parts(rows, cols, &scheme, packed->buf, packed->len, scales->buf, zeros, count, &tensor);
    buffers_release(&set);
    return wrap_tensor(status, tensor);
fail:
    buffers_release(&set);
    return NULL;
}

/* qtensor_serialize(capsule) -> bytes */
static PyObject *py_qtensor_serialize(PyObject *self, PyObject *capsule) {
    swq_qtensor *tensor = tensor_from_capsule(capsule);
    (void)self;
    return tensor ? serialized_bytes(tensor, serialize_tensor) : NULL;
}

/* qtensor_deserialize(bytes) -> capsule */
static PyObject *py_qtensor_deserialize(PyObject *self, PyObject *data_obj) {
    Py_buffer data;
    swq_qtensor *tensor = NULL;
    swq_status status;
    (void)self;
    if (PyObject_GetBuffer(data_obj, &data, PyBUF_C_CONTIGUOUS) != 0) return NULL;
    status = swq_qtensor_deserialize(data.buf, data.len, &tensor);
    PyBuffer_Release(&data);
    return wrap_tensor(status, tensor);
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
    swq_qtensor *tensor;
    int64_t count;
    swq_status status = SWQ_OK;
    buffers set = {0};
    void *scales, *zeros;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &capsule, &scales_obj, &zeros_obj)) return parse_error();
    if (!(tensor = tensor_from_capsule(capsule))) return NULL;
    swq_qtensor_qparams_count(tensor, &count);
    if (buffers_add(&set, scales_obj, 4, count, 1, "scales", &scales) &&
        buffers_add(&set, zeros_obj, 4, count, 1, "zero_points", &zeros)) {
        status = swq_qtensor_scales(tensor, scales, count);
        if (status == SWQ_OK) status = swq_qtensor_zero_points(tensor, zeros, count);
    }
    buffers_release(&set);
    return PyErr_Occurred() ? NULL : none_or_raise(status);
}

/* dequantize(capsule, out_dtype, out) */
static PyObject *py_dequantize(PyObject *self, PyObject *args) {
    PyObject *capsule, *out_obj;
    int out_dtype;
    swq_qtensor *tensor;
    int64_t rows, cols;
    swq_status status;
    buffers set = {0};
    void *out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiO", &capsule, &out_dtype, &out_obj)) return parse_error();
    if (!(tensor = tensor_from_capsule(capsule))) return NULL;
    swq_qtensor_shape(tensor, &rows, &cols);
    if (!buffers_add(&set, out_obj, dtype_size(out_dtype), rows * cols, 1, "out", &out)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_dequantize(tensor, out_dtype, out, rows * cols);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

/* compute_qparams(data, dtype, rows, cols, scheme, scales_out, zero_points_out) */
static PyObject *py_compute_qparams(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *scales_obj, *zeros_obj;
    int dtype;
    long long rows, cols, n;
    int64_t count;
    swq_scheme scheme;
    swq_status status;
    buffers set = {0};
    void *data, *scales, *zeros;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOO", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &scales_obj, &zeros_obj))
        return parse_error();
    if (!parse_scheme(scheme_tuple, &scheme) || !(n = element_count(rows, cols))) return NULL;
    status = swq_qparams_count(&scheme, rows, cols, &count);
    if (status != SWQ_OK) return raise_status(status);
    if (!buffers_add(&set, data_obj, dtype_size(dtype), n, 0, "data", &data) ||
        !buffers_add(&set, scales_obj, 4, count, 1, "scales", &scales) ||
        !buffers_add(&set, zeros_obj, 4, count, 1, "zero_points", &zeros)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_compute_qparams(data, dtype, rows, cols, &scheme, scales, zeros, count);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

/* qparams_from_range(scheme, min, max) -> (scale, zero_point) */
static PyObject *py_qparams_from_range(PyObject *self, PyObject *args) {
    PyObject *scheme_tuple;
    float low, high, scale;
    int32_t zero;
    swq_scheme scheme;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "Off", &scheme_tuple, &low, &high)) return parse_error();
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    status = swq_qparams_from_range(&scheme, low, high, &scale, &zero);
    if (status != SWQ_OK) return raise_status(status);
    return Py_BuildValue("(fi)", scale, zero);
}

/* qparams_count(scheme, rows, cols) -> int */
static PyObject *py_qparams_count(PyObject *self, PyObject *args) {
    PyObject *scheme_tuple;
    long long rows, cols;
    int64_t count;
    swq_scheme scheme;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "OLL", &scheme_tuple, &rows, &cols)) return parse_error();
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    status = swq_qparams_count(&scheme, rows, cols, &count);
    if (status != SWQ_OK) return raise_status(status);
    return PyLong_FromLongLong((long long)count);
}

/* round_zero_points(scheme, values, zero_points_out) */
static PyObject *py_round_zero_points(PyObject *self, PyObject *args) {
    PyObject *scheme_tuple, *values_obj, *out_obj;
    swq_scheme scheme;
    swq_status status;
    buffers set = {0};
    void *values, *out;
    Py_ssize_t count;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &scheme_tuple, &values_obj, &out_obj)) return parse_error();
    if (!parse_scheme(scheme_tuple, &scheme)) return NULL;
    if (PyObject_GetBuffer(values_obj, &set.views[0], PyBUF_C_CONTIGUOUS) != 0) return NULL;
    set.count = 1;
    values = set.views[0].buf;
    count = set.views[0].len / 4;
    if (set.views[0].itemsize != 4 || !buffers_add(&set, out_obj, 4, count, 1, "zero_points", &out)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "values must be float32");
        buffers_release(&set);
        return NULL;
    }
    status = swq_round_zero_points(&scheme, values, out, count);
    buffers_release(&set);
    return none_or_raise(status);
}

/* The arguments fake_quantize, quantize_codes and fake_quantize_grad share:
 * (data, dtype, rows, cols, scheme, scales, zero_points_or_None), with the buffers borrowed into `set`. */
typedef struct {
    int dtype;
    long long rows, cols, elements;
    int64_t qparam_count;
    swq_scheme scheme;
    void *data, *scales, *zeros;
} fake_quant_args;

static int parse_fake_quant_args(PyObject *data_obj, int dtype, long long rows, long long cols, PyObject *scheme_tuple,
                                 PyObject *scales_obj, PyObject *zeros_obj, buffers *set, fake_quant_args *a) {
    swq_status status;
    a->dtype = dtype;
    a->rows = rows;
    a->cols = cols;
    if (!parse_scheme(scheme_tuple, &a->scheme) || !(a->elements = element_count(rows, cols))) return 0;
    status = swq_qparams_count(&a->scheme, rows, cols, &a->qparam_count);
    if (status != SWQ_OK) {
        raise_status(status);
        return 0;
    }
    return buffers_add(set, data_obj, dtype_size(dtype), a->elements, 0, "x", &a->data) &&
           buffers_add(set, scales_obj, 4, a->qparam_count, 0, "scale", &a->scales) &&
           buffers_add_optional(set, zeros_obj, 4, a->qparam_count, 0, "zero_point", &a->zeros);
}

/* fake_quantize(data, dtype, rows, cols, scheme, scales, zero_points, out, out_dtype) */
static PyObject *py_fake_quantize(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *scales_obj, *zeros_obj, *out_obj;
    int dtype, out_dtype;
    long long rows, cols;
    fake_quant_args a;
    swq_status status;
    buffers set = {0};
    void *out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOOOi", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &scales_obj,
                          &zeros_obj, &out_obj, &out_dtype))
        return parse_error();
    if (!parse_fake_quant_args(data_obj, dtype, rows, cols, scheme_tuple, scales_obj, zeros_obj, &set, &a) ||
        !buffers_add(&set, out_obj, dtype_size(out_dtype), a.elements, 1, "out", &out)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_fake_quantize(a.data, dtype, rows, cols, &a.scheme, a.scales, a.zeros, a.qparam_count, out, out_dtype);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

/* quantize_codes(data, dtype, rows, cols, scheme, scales, zero_points, codes) */
static PyObject *py_quantize_codes(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *scales_obj, *zeros_obj, *codes_obj;
    int dtype;
    long long rows, cols;
    fake_quant_args a;
    swq_status status;
    buffers set = {0};
    void *codes;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOOO", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &scales_obj, &zeros_obj,
                          &codes_obj))
        return parse_error();
    if (!parse_fake_quant_args(data_obj, dtype, rows, cols, scheme_tuple, scales_obj, zeros_obj, &set, &a) ||
        !buffers_add(&set, codes_obj, 1, a.elements, 1, "codes", &codes)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_quantize_codes(a.data, dtype, rows, cols, &a.scheme, a.scales, a.zeros, a.qparam_count, codes,
                                a.elements);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

/* fake_quantize_grad(data, dtype, rows, cols, scheme, scales, zero_points, grad_out, grad_in,
 *                    grad_scales, grad_zero_points, lsq_scaling) */
static PyObject *py_fake_quantize_grad(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *scales_obj, *zeros_obj, *gout_obj, *gin_obj, *gs_obj, *gz_obj;
    int dtype, lsq;
    long long rows, cols;
    fake_quant_args a;
    swq_status status;
    buffers set = {0};
    void *gout, *gin, *gs, *gz;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOOOOOOi", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &scales_obj,
                          &zeros_obj, &gout_obj, &gin_obj, &gs_obj, &gz_obj, &lsq))
        return parse_error();
    if (!parse_fake_quant_args(data_obj, dtype, rows, cols, scheme_tuple, scales_obj, zeros_obj, &set, &a) ||
        !buffers_add(&set, gout_obj, 4, a.elements, 0, "grad_out", &gout) ||
        !buffers_add(&set, gin_obj, 4, a.elements, 1, "grad_x", &gin) ||
        !buffers_add(&set, gs_obj, 4, a.qparam_count, 1, "grad_scale", &gs) ||
        !buffers_add(&set, gz_obj, 4, a.qparam_count, 1, "grad_zero_point", &gz)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_fake_quantize_grad(a.data, dtype, rows, cols, &a.scheme, a.scales, a.zeros, a.qparam_count, gout, gin,
                                    gs, gz, lsq);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

/* error_metrics(reference, approx, count) -> (mse, sqnr_db, max_abs_error) */
static PyObject *py_error_metrics(PyObject *self, PyObject *args) {
    PyObject *a_obj, *b_obj;
    long long count;
    swq_metrics metrics;
    swq_status status;
    buffers set = {0};
    void *a, *b;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOL", &a_obj, &b_obj, &count)) return parse_error();
    if (!buffers_add(&set, a_obj, 4, count, 0, "reference", &a) ||
        !buffers_add(&set, b_obj, 4, count, 0, "approx", &b)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_error_metrics(a, b, count, &metrics);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
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
    buffers set = {0};
    void *x, *bias, *y;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOLOOi", &capsule, &x_obj, &m, &bias_obj, &y_obj, &path)) return parse_error();
    if (!(tensor = tensor_from_capsule(capsule))) return NULL;
    swq_qtensor_shape(tensor, &rows, &cols);
    if (!element_count(m, cols) || !element_count(m, rows)) return NULL;
    if (!buffers_add(&set, x_obj, 4, m * cols, 0, "x", &x) ||
        !buffers_add_optional(&set, bias_obj, 4, rows, 0, "bias", &bias) ||
        !buffers_add(&set, y_obj, 4, m * rows, 1, "y", &y)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_matmul(tensor, x, m, cols, bias, y, m * rows, path);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
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
    buffers set = {0};
    void *a, *bias, *out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOLfiOifiO", &capsule, &a_obj, &m, &a_scale, &a_zero, &bias_obj, &output, &out_scale,
                          &out_zero, &out_obj))
        return parse_error();
    if (!(tensor = tensor_from_capsule(capsule))) return NULL;
    swq_qtensor_shape(tensor, &rows, &cols);
    if (!element_count(m, cols) || !element_count(m, rows)) return NULL;
    if (!buffers_add(&set, a_obj, 1, m * cols, 0, "a", &a) ||
        !buffers_add_optional(&set, bias_obj, 4, rows, 0, "bias", &bias) ||
        !buffers_add(&set, out_obj, output == SWQ_OUTPUT_UINT8 ? 1 : 4, m * rows, 1, "out", &out)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_matmul_static_int8(tensor, a, m, cols, a_scale, a_zero, bias, output, out_scale, out_zero, out, m * rows);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
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
    long long rows, cols, n;
    void *handle, *data;
    swq_status status;
    buffers set = {0};
    if (!PyArg_ParseTuple(args, "OOiLL", &capsule, &data_obj, &dtype, &rows, &cols)) return parse_error();
    if (!(handle = accumulator_from_capsule(capsule, kind)) || !(n = element_count(rows, cols))) return NULL;
    if (!buffers_add(&set, data_obj, dtype_size(dtype), n, 0, "x", &data)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = kind == OBSERVER ? swq_observer_observe(handle, data, dtype, rows, cols)
                              : swq_layer_stats_observe(handle, data, dtype, rows, cols);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

/* (into, other): folds `other` into `into`. */
static PyObject *accumulator_merge(PyObject *args, accumulator_kind kind) {
    PyObject *into_obj, *other_obj;
    void *into, *other;
    swq_status status;
    if (!PyArg_ParseTuple(args, "OO", &into_obj, &other_obj)) return parse_error();
    if (!(into = accumulator_from_capsule(into_obj, kind)) || !(other = accumulator_from_capsule(other_obj, kind)))
        return NULL;
    status = kind == OBSERVER ? swq_observer_merge(into, other) : swq_layer_stats_merge(into, other);
    return none_or_raise(status);
}

/* capsule -> bytes */
static PyObject *accumulator_serialize(PyObject *capsule, accumulator_kind kind) {
    void *handle = accumulator_from_capsule(capsule, kind);
    if (!handle) return NULL;
    return serialized_bytes(handle, kind == OBSERVER ? serialize_observer : serialize_stats);
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
    if (!PyArg_ParseTuple(args, "idiiii", &method, &parameter, &bits, &symmetric, &axis, &bins)) return parse_error();
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

/* observer_config(capsule) -> (method, parameter, bits, symmetric, axis, bins) */
static PyObject *py_observer_config(PyObject *self, PyObject *capsule) {
    swq_observer *observer = observer_from_capsule(capsule);
    int32_t method, bits, symmetric, axis, bins;
    double parameter;
    swq_status status;
    (void)self;
    if (!observer) return NULL;
    status = swq_observer_config(observer, &method, &parameter, &bits, &symmetric, &axis, &bins);
    if (status != SWQ_OK) return raise_status(status);
    return Py_BuildValue("(idiiii)", method, parameter, bits, symmetric, axis, bins);
}

/* observer_range(capsule, low_out, high_out) and observer_qparams(capsule, grid, scales_out, zeros_out):
 * two per-channel float32/int32 outputs. */
static PyObject *observer_outputs(PyObject *capsule, int grid, PyObject *first_obj, PyObject *second_obj, int range) {
    swq_observer *observer;
    int64_t count;
    swq_status status;
    buffers set = {0};
    void *first, *second;
    if (!(observer = observer_from_capsule(capsule))) return NULL;
    status = swq_observer_channels(observer, &count);
    if (status != SWQ_OK) return raise_status(status);
    if (!buffers_add(&set, first_obj, 4, count, 1, range ? "low" : "scales", &first) ||
        !buffers_add(&set, second_obj, 4, count, 1, range ? "high" : "zero_points", &second)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = range ? swq_observer_range(observer, first, second, count)
                   : swq_observer_qparams(observer, grid, first, second, count);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

static PyObject *py_observer_range(PyObject *self, PyObject *args) {
    PyObject *capsule, *low_obj, *high_obj;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &capsule, &low_obj, &high_obj)) return parse_error();
    return observer_outputs(capsule, -1, low_obj, high_obj, 1);
}

static PyObject *py_observer_qparams(PyObject *self, PyObject *args) {
    PyObject *capsule, *scales_obj, *zeros_obj;
    int grid;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiOO", &capsule, &grid, &scales_obj, &zeros_obj)) return parse_error();
    return observer_outputs(capsule, grid, scales_obj, zeros_obj, 0);
}

/* ---- layer statistics ---- */

/* layer_stats_new(in_features) -> capsule */
static PyObject *py_layer_stats_new(PyObject *self, PyObject *args) {
    long long in_features;
    swq_layer_stats *stats = NULL;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "L", &in_features)) return parse_error();
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
    int64_t in_features;
    buffers set = {0};
    void *scales;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &scales_obj)) return parse_error();
    if (!(stats = stats_from_capsule(capsule))) return NULL;
    swq_layer_stats_in_features(stats, &in_features);
    if (!buffers_add(&set, scales_obj, 4, in_features, 0, "scales", &scales)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_layer_stats_scaled(stats, scales, &scaled);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    if (status != SWQ_OK) return raise_status(status);
    return wrap_accumulator(scaled, LAYER_STATS);
}

/* layer_stats_in_features(capsule) -> int */
static PyObject *py_layer_stats_in_features(PyObject *self, PyObject *capsule) {
    swq_layer_stats *stats = stats_from_capsule(capsule);
    int64_t in_features;
    swq_status status;
    (void)self;
    if (!stats) return NULL;
    status = swq_layer_stats_in_features(stats, &in_features);
    if (status != SWQ_OK) return raise_status(status);
    return PyLong_FromLongLong((long long)in_features);
}

/* layer_stats_read(capsule, gram_out, mean_abs_out, mean_sq_out) -> rows observed; the buffers must hold
 * the statistics' own in_features (squared for gram). */
static PyObject *py_layer_stats_read(PyObject *self, PyObject *args) {
    PyObject *capsule, *gram_obj, *abs_obj, *sq_obj;
    swq_layer_stats *stats;
    swq_status status = SWQ_OK;
    int64_t k, rows = 0;
    buffers set = {0};
    void *gram, *mean_abs, *mean_sq;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOO", &capsule, &gram_obj, &abs_obj, &sq_obj)) return parse_error();
    if (!(stats = stats_from_capsule(capsule))) return NULL;
    swq_layer_stats_in_features(stats, &k);
    if (!buffers_add(&set, gram_obj, 8, k * k, 1, "gram", &gram) ||
        !buffers_add(&set, abs_obj, 8, k, 1, "mean_abs", &mean_abs) ||
        !buffers_add(&set, sq_obj, 8, k, 1, "mean_sq", &mean_sq)) {
        buffers_release(&set);
        return NULL;
    }
    status = swq_layer_stats_read(stats, gram, k * k, mean_abs, mean_sq);
    if (status == SWQ_OK) status = swq_layer_stats_count(stats, &rows);
    buffers_release(&set);
    if (status != SWQ_OK) return raise_status(status);
    return PyLong_FromLongLong((long long)rows);
}

/* gptq(data, dtype, rows, cols, scheme, stats_capsule, damp, act_order, clip_search) -> tensor capsule */
static PyObject *py_gptq(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *stats_obj;
    int dtype, act_order, clip_search;
    long long rows, cols, n;
    double damp;
    swq_scheme scheme;
    swq_layer_stats *stats;
    swq_qtensor *tensor = NULL;
    swq_status status;
    buffers set = {0};
    void *data;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOdii", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &stats_obj, &damp,
                          &act_order, &clip_search))
        return parse_error();
    if (!parse_scheme(scheme_tuple, &scheme) || !(stats = stats_from_capsule(stats_obj)) ||
        !(n = element_count(rows, cols)))
        return NULL;
    if (!buffers_add(&set, data_obj, dtype_size(dtype), n, 0, "w", &data)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_gptq_v2(data, dtype, rows, cols, &scheme, stats, damp, act_order, clip_search, &tensor);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return wrap_tensor(status, tensor);
}

/* awq(data, dtype, rows, cols, scheme, stats_capsule, grid, clip_search, duo_scaling, scales_out)
 *     -> (capsule, alpha) */
static PyObject *py_awq(PyObject *self, PyObject *args) {
    PyObject *data_obj, *scheme_tuple, *stats_obj, *scales_obj, *capsule;
    int dtype, grid, clip_search, duo_scaling;
    long long rows, cols, n;
    double alpha = 0;
    swq_scheme scheme;
    swq_layer_stats *stats;
    swq_qtensor *tensor = NULL;
    swq_status status;
    buffers set = {0};
    void *data, *scales;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiLLOOiiiO", &data_obj, &dtype, &rows, &cols, &scheme_tuple, &stats_obj, &grid,
                          &clip_search, &duo_scaling, &scales_obj))
        return parse_error();
    if (!parse_scheme(scheme_tuple, &scheme) || !(stats = stats_from_capsule(stats_obj)) ||
        !(n = element_count(rows, cols)))
        return NULL;
    if (!buffers_add(&set, data_obj, dtype_size(dtype), n, 0, "w", &data) ||
        !buffers_add(&set, scales_obj, 4, cols, 1, "channel_scales", &scales)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_awq_v2(data, dtype, rows, cols, &scheme, stats, grid, clip_search, duo_scaling, scales, &alpha, &tensor);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    if (!(capsule = wrap_tensor(status, tensor))) return NULL;
    return Py_BuildValue("(Nd)", capsule, alpha);
}

/* smoothquant_scales(act_absmax, weights, dtype, rows, cols, alpha, scales_out) */
static PyObject *py_smoothquant_scales(PyObject *self, PyObject *args) {
    PyObject *act_obj, *w_obj, *out_obj;
    int dtype;
    long long rows, cols, n;
    double alpha;
    swq_status status;
    buffers set = {0};
    void *act, *w, *out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOiLLdO", &act_obj, &w_obj, &dtype, &rows, &cols, &alpha, &out_obj)) return parse_error();
    if (!(n = element_count(rows, cols))) return NULL;
    if (!buffers_add(&set, act_obj, 4, cols, 0, "act_absmax", &act) ||
        !buffers_add(&set, w_obj, dtype_size(dtype), n, 0, "w", &w) ||
        !buffers_add(&set, out_obj, 4, cols, 1, "scales", &out)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_smoothquant_scales(act, w, dtype, rows, cols, alpha, out);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

static PyObject *py_cpu_features(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyUnicode_FromString(swq_cpu_features());
}

/* ggml_types() -> [(name, id, block_length, block_bytes, has_codec, uses_importance), ...] */
static PyObject *py_ggml_types(PyObject *self, PyObject *args) {
    PyObject *list = PyList_New(0);
    int32_t type;
    (void)self;
    (void)args;
    if (!list) return NULL;
    for (type = 0; type < SWQ_GGML_TYPE_COUNT; type++) {
        swq_ggml_type_info info;
        PyObject *row;
        if (swq_ggml_type_info_get(type, &info) != SWQ_OK) continue; /* a removed number */
        row = Py_BuildValue("(siiiii)", info.name, (int)type, (int)info.block_length, (int)info.block_bytes,
                            (int)info.has_codec, (int)info.uses_importance);
        if (!row || PyList_Append(list, row) != 0) {
            Py_XDECREF(row);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(row);
    }
    return list;
}

/* ggml_row_size(type, cols) -> bytes */
static PyObject *py_ggml_row_size(PyObject *self, PyObject *args) {
    int type;
    long long cols;
    int64_t bytes;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "iL", &type, &cols)) return parse_error();
    status = swq_ggml_row_size(type, cols, &bytes);
    if (status != SWQ_OK) return raise_status(status);
    return PyLong_FromLongLong(bytes);
}

/* ggml_quantize(type, data, dtype, rows, cols, importance_or_None, out) */
static PyObject *py_ggml_quantize(PyObject *self, PyObject *args) {
    PyObject *data_obj, *importance_obj, *out_obj;
    int type, dtype;
    long long rows, cols, count;
    int64_t row_bytes;
    swq_status status;
    buffers set = {0};
    void *data, *importance, *out;
    (void)self;
    if (!PyArg_ParseTuple(args, "iOiLLOO", &type, &data_obj, &dtype, &rows, &cols, &importance_obj, &out_obj))
        return parse_error();
    if (!(count = element_count(rows, cols))) return NULL;
    status = swq_ggml_row_size(type, cols, &row_bytes);
    if (status != SWQ_OK) return raise_status(status);
    if (row_bytes > LLONG_MAX / rows) return PyErr_Format(PyExc_ValueError, "the blocks do not fit 64 bits");
    if (!buffers_add(&set, data_obj, dtype_size(dtype), count, 0, "data", &data) ||
        !buffers_add_optional(&set, importance_obj, 4, cols, 0, "importance", &importance) ||
        !buffers_add(&set, out_obj, 1, rows * row_bytes, 1, "out", &out)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_ggml_quantize(type, data, dtype, rows, cols, importance, out, rows * row_bytes);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

/* ggml_dequantize(type, blocks, rows, cols, out) */
static PyObject *py_ggml_dequantize(PyObject *self, PyObject *args) {
    PyObject *blocks_obj, *out_obj;
    int type;
    long long rows, cols, count;
    int64_t row_bytes;
    swq_status status;
    buffers set = {0};
    void *blocks, *out;
    (void)self;
    if (!PyArg_ParseTuple(args, "iOLLO", &type, &blocks_obj, &rows, &cols, &out_obj)) return parse_error();
    if (!(count = element_count(rows, cols))) return NULL;
    status = swq_ggml_row_size(type, cols, &row_bytes);
    if (status != SWQ_OK) return raise_status(status);
    if (row_bytes > LLONG_MAX / rows) return PyErr_Format(PyExc_ValueError, "the blocks do not fit 64 bits");
    if (!buffers_add(&set, blocks_obj, 1, rows * row_bytes, 0, "blocks", &blocks) ||
        !buffers_add(&set, out_obj, 4, count, 1, "out", &out)) {
        buffers_release(&set);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_ggml_dequantize(type, blocks, rows * row_bytes, rows, cols, out, count);
    Py_END_ALLOW_THREADS
    buffers_release(&set);
    return none_or_raise(status);
}

/* ---- model files ----
 * A reader capsule ("swquant.model") and a writer capsule ("swquant.model_writer"), each owning one
 * handle. Tensor bytes are not exposed here: the Python layer maps the files itself for zero-copy
 * views, so that no view can outlive a mapping. */

static const char *const MODEL_CAPSULE = "swquant.model";
static const char *const WRITER_CAPSULE = "swquant.model_writer";

static swq_model *model_from_capsule(PyObject *capsule) { return PyCapsule_GetPointer(capsule, MODEL_CAPSULE); }

static swq_model_writer *writer_from_capsule(PyObject *capsule) { return PyCapsule_GetPointer(capsule, WRITER_CAPSULE); }

static void model_capsule_free(PyObject *capsule) { swq_model_free(model_from_capsule(capsule)); }

static void writer_capsule_free(PyObject *capsule) { swq_model_writer_free(writer_from_capsule(capsule)); }

/* model_open(path) -> capsule */
static PyObject *py_model_open(PyObject *self, PyObject *args) {
    const char *path;
    swq_model *model = NULL;
    swq_status status;
    PyObject *capsule;
    (void)self;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = swq_model_open(path, &model);
    Py_END_ALLOW_THREADS
    if (status != SWQ_OK) return raise_status(status);
    capsule = PyCapsule_New(model, MODEL_CAPSULE, model_capsule_free);
    if (!capsule) swq_model_free(model);
    return capsule;
}

/* model_describe(capsule) -> (format, [file paths], [(name, type, ggml_type, shape, nbytes, file, offset)]) */
static PyObject *py_model_describe(PyObject *self, PyObject *args) {
    PyObject *capsule, *paths = NULL, *tensors = NULL, *result = NULL;
    swq_model *model;
    int32_t format, file_count, f;
    int64_t count, i;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "O", &capsule) || !(model = model_from_capsule(capsule))) return NULL;
    if ((status = swq_model_summary(model, &format, &count, &file_count)) != SWQ_OK) return raise_status(status);
    if (!(paths = PyList_New(file_count)) || !(tensors = PyList_New((Py_ssize_t)count))) goto done;
    for (f = 0; f < file_count; f++) {
        const char *path;
        PyObject *text;
        if ((status = swq_model_file_path(model, f, &path)) != SWQ_OK) { raise_status(status); goto done; }
        if (!(text = PyUnicode_DecodeFSDefault(path))) goto done;
        PyList_SetItem(paths, f, text);
    }
    for (i = 0; i < count; i++) {
        swq_tensor_info info;
        PyObject *shape, *row;
        int d;
        if ((status = swq_model_tensor_info(model, i, &info)) != SWQ_OK) { raise_status(status); goto done; }
        if (!(shape = PyTuple_New(info.n_dims))) goto done;
        for (d = 0; d < info.n_dims; d++) {
            PyObject *n = PyLong_FromLongLong(info.shape[d]);
            if (!n) { Py_DECREF(shape); goto done; }
            PyTuple_SetItem(shape, d, n);
        }
        row = Py_BuildValue("(ssiNLiL)", info.name, info.type, (int)info.ggml_type, shape, (long long)info.nbytes,
                            (int)info.file_index, (long long)info.file_offset);
        if (!row) goto done;
        PyList_SetItem(tensors, (Py_ssize_t)i, row);
    }
    result = Py_BuildValue("(iOO)", (int)format, paths, tensors);
done:
    Py_XDECREF(paths);
    Py_XDECREF(tensors);
    return result;
}

static swq_status serialize_metadata(const void *handle, uint8_t *out, int64_t capacity, int64_t *size) {
    return swq_model_metadata_json(handle, (char *)out, capacity, size);
}

/* model_metadata_json(capsule) -> bytes (UTF-8 JSON) */
static PyObject *py_model_metadata_json(PyObject *self, PyObject *args) {
    PyObject *capsule;
    swq_model *model;
    (void)self;
    if (!PyArg_ParseTuple(args, "O", &capsule) || !(model = model_from_capsule(capsule))) return NULL;
    return serialized_bytes(model, serialize_metadata);
}

/* model_tensor_to_f32(capsule, index, out) */
static PyObject *py_model_tensor_to_f32(PyObject *self, PyObject *args) {
    PyObject *capsule, *out_obj;
    swq_model *model;
    long long index;
    swq_status status;
    Py_buffer view;
    (void)self;
    if (!PyArg_ParseTuple(args, "OLO", &capsule, &index, &out_obj)) return parse_error();
    if (!(model = model_from_capsule(capsule))) return NULL;
    if (PyObject_GetBuffer(out_obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) return NULL;
    if (view.itemsize != 4) {
        PyBuffer_Release(&view);
        return PyErr_Format(PyExc_ValueError, "out must hold float32 values");
    }
    Py_BEGIN_ALLOW_THREADS
    status = swq_model_tensor_to_f32(model, index, view.buf, view.len / 4);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return none_or_raise(status);
}

/* model_writer_new(path, format) -> capsule */
static PyObject *py_model_writer_new(PyObject *self, PyObject *args) {
    const char *path;
    int format;
    swq_model_writer *writer = NULL;
    swq_status status;
    PyObject *capsule;
    (void)self;
    if (!PyArg_ParseTuple(args, "si", &path, &format)) return parse_error();
    if ((status = swq_model_writer_new(path, format, &writer)) != SWQ_OK) return raise_status(status);
    capsule = PyCapsule_New(writer, WRITER_CAPSULE, writer_capsule_free);
    if (!capsule) swq_model_writer_free(writer);
    return capsule;
}

/* model_writer_set_metadata(capsule, key, typed_json) */
static PyObject *py_model_writer_set_metadata(PyObject *self, PyObject *args) {
    PyObject *capsule;
    const char *key, *json;
    swq_model_writer *writer;
    (void)self;
    if (!PyArg_ParseTuple(args, "Oss", &capsule, &key, &json) || !(writer = writer_from_capsule(capsule))) return NULL;
    return none_or_raise(swq_model_writer_set_metadata(writer, key, json));
}

/* The shape tuple of a tensor into shape[8]; the dimension count, or -1 with an exception set. */
static int parse_shape(PyObject *tuple, int64_t shape[8]) {
    Py_ssize_t n_dims = PyTuple_Size(tuple), d;
    if (n_dims > 8) {
        PyErr_Format(PyExc_ValueError, "a tensor has at most 8 dimensions, got %zd", n_dims);
        return -1;
    }
    for (d = 0; d < n_dims; d++) {
        shape[d] = PyLong_AsLongLong(PyTuple_GetItem(tuple, d));
        if (shape[d] == -1 && PyErr_Occurred()) {
            parse_error();
            return -1;
        }
    }
    return (int)n_dims;
}

/* model_writer_add_tensor(capsule, name, type, shape, data) */
static PyObject *py_model_writer_add_tensor(PyObject *self, PyObject *args) {
    PyObject *capsule, *shape_obj, *data_obj;
    const char *name, *type;
    swq_model_writer *writer;
    int64_t shape[8];
    int n_dims;
    Py_buffer view;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "OssO!O", &capsule, &name, &type, &PyTuple_Type, &shape_obj, &data_obj)) return NULL;
    if (!(writer = writer_from_capsule(capsule)) || (n_dims = parse_shape(shape_obj, shape)) < 0) return NULL;
    if (PyObject_GetBuffer(data_obj, &view, PyBUF_C_CONTIGUOUS) != 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = swq_model_writer_add_tensor(writer, name, type, n_dims, shape, view.buf, view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return none_or_raise(status);
}

/* model_writer_declare_tensor(capsule, name, type, shape) */
static PyObject *py_model_writer_declare_tensor(PyObject *self, PyObject *args) {
    PyObject *capsule, *shape_obj;
    const char *name, *type;
    swq_model_writer *writer;
    int64_t shape[8];
    int n_dims;
    (void)self;
    if (!PyArg_ParseTuple(args, "OssO!", &capsule, &name, &type, &PyTuple_Type, &shape_obj)) return NULL;
    if (!(writer = writer_from_capsule(capsule)) || (n_dims = parse_shape(shape_obj, shape)) < 0) return NULL;
    return none_or_raise(swq_model_writer_declare_tensor(writer, name, type, n_dims, shape));
}

/* model_writer_write_tensor_data(capsule, data) */
static PyObject *py_model_writer_write_tensor_data(PyObject *self, PyObject *args) {
    PyObject *capsule, *data_obj;
    swq_model_writer *writer;
    Py_buffer view;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &data_obj) || !(writer = writer_from_capsule(capsule))) return NULL;
    if (PyObject_GetBuffer(data_obj, &view, PyBUF_C_CONTIGUOUS) != 0) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = swq_model_writer_write_tensor_data(writer, view.buf, view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return none_or_raise(status);
}

/* model_writer_commit(capsule) */
static PyObject *py_model_writer_commit(PyObject *self, PyObject *args) {
    PyObject *capsule;
    swq_model_writer *writer;
    swq_status status;
    (void)self;
    if (!PyArg_ParseTuple(args, "O", &capsule) || !(writer = writer_from_capsule(capsule))) return NULL;
    Py_BEGIN_ALLOW_THREADS
    status = swq_model_writer_commit(writer);
    Py_END_ALLOW_THREADS
    return none_or_raise(status);
}

static PyMethodDef methods[] = {
    {"abi_version", py_abi_version, METH_NOARGS, "ABI version of the loaded libswquant."},
    {"version", py_version, METH_NOARGS, "Version of the loaded libswquant."},
    {"set_num_threads", py_set_num_threads, METH_VARARGS, "Set the worker thread count (0: default)."},
    {"get_num_threads", py_get_num_threads, METH_NOARGS, "The worker thread count."},
    {"quantize", py_quantize, METH_VARARGS,
     "quantize(data, dtype, rows, cols, scheme, importance_or_None, clip_search) -> capsule"},
    {"qtensor_from_parts", py_qtensor_from_parts, METH_VARARGS,
     "qtensor_from_parts(rows, cols, scheme, packed, scales, zero_points) -> capsule"},
    {"qtensor_serialize", py_qtensor_serialize, METH_O, "qtensor_serialize(capsule) -> bytes"},
    {"qtensor_deserialize", py_qtensor_deserialize, METH_O, "qtensor_deserialize(bytes) -> capsule"},
    {"info", py_info, METH_O, "info(capsule) -> (rows, cols, scheme, qparam_count, row_stride, nbytes, bpw)"},
    {"packed", py_packed, METH_O, "packed(capsule) -> bytes"},
    {"qparams", py_qparams, METH_VARARGS, "qparams(capsule, scales_out, zero_points_out)"},
    {"dequantize", py_dequantize, METH_VARARGS, "dequantize(capsule, out_dtype, out)"},
    {"compute_qparams", py_compute_qparams, METH_VARARGS,
     "compute_qparams(data, dtype, rows, cols, scheme, scales_out, zero_points_out)"},
    {"qparams_from_range", py_qparams_from_range, METH_VARARGS, "qparams_from_range(scheme, min, max)"},
    {"qparams_count", py_qparams_count, METH_VARARGS, "qparams_count(scheme, rows, cols) -> int"},
    {"round_zero_points", py_round_zero_points, METH_VARARGS, "round_zero_points(scheme, values, zero_points_out)"},
    {"fake_quantize", py_fake_quantize, METH_VARARGS,
     "fake_quantize(data, dtype, rows, cols, scheme, scales, zero_points, out, out_dtype)"},
    {"error_metrics", py_error_metrics, METH_VARARGS, "error_metrics(reference, approx, count)"},
    {"model_open", py_model_open, METH_VARARGS, "model_open(path) -> capsule"},
    {"model_describe", py_model_describe, METH_VARARGS, "model_describe(capsule) -> (format, paths, tensors)"},
    {"model_metadata_json", py_model_metadata_json, METH_VARARGS, "model_metadata_json(capsule) -> bytes"},
    {"model_tensor_to_f32", py_model_tensor_to_f32, METH_VARARGS, "model_tensor_to_f32(capsule, index, out)"},
    {"model_writer_new", py_model_writer_new, METH_VARARGS, "model_writer_new(path, format) -> capsule"},
    {"model_writer_set_metadata", py_model_writer_set_metadata, METH_VARARGS, "model_writer_set_metadata(capsule, key, typed_json)"},
    {"model_writer_add_tensor", py_model_writer_add_tensor, METH_VARARGS, "model_writer_add_tensor(capsule, name, type, shape, data)"},
    {"model_writer_declare_tensor", py_model_writer_declare_tensor, METH_VARARGS, "model_writer_declare_tensor(capsule, name, type, shape)"},
    {"model_writer_write_tensor_data", py_model_writer_write_tensor_data, METH_VARARGS, "model_writer_write_tensor_data(capsule, data)"},
    {"model_writer_commit", py_model_writer_commit, METH_VARARGS, "model_writer_commit(capsule)"},
    {"ggml_types", py_ggml_types, METH_NOARGS, "ggml_types() -> [(name, id, block_length, block_bytes, has_codec, uses_importance)]"},
    {"ggml_row_size", py_ggml_row_size, METH_VARARGS, "ggml_row_size(type, cols) -> bytes"},
    {"ggml_quantize", py_ggml_quantize, METH_VARARGS, "ggml_quantize(type, data, dtype, rows, cols, importance, out)"},
    {"ggml_dequantize", py_ggml_dequantize, METH_VARARGS, "ggml_dequantize(type, blocks, rows, cols, out)"},
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
    {"layer_stats_in_features", py_layer_stats_in_features, METH_O, "layer_stats_in_features(capsule) -> int"},
    {"layer_stats_read", py_layer_stats_read, METH_VARARGS, "layer_stats_read(capsule, gram, mean_abs, mean_sq) -> rows"},
    {"layer_stats_serialize", py_layer_stats_serialize, METH_O, "layer_stats_serialize(capsule) -> bytes"},
    {"layer_stats_deserialize", py_layer_stats_deserialize, METH_O, "layer_stats_deserialize(bytes) -> capsule"},
    {"layer_stats_scaled", py_layer_stats_scaled, METH_VARARGS, "layer_stats_scaled(capsule, scales) -> capsule"},
    {"observer_new", py_observer_new, METH_VARARGS, "observer_new(method, parameter, bits, symmetric, axis, bins)"},
    {"observer_observe", py_observer_observe, METH_VARARGS, "observer_observe(capsule, data, dtype, rows, cols)"},
    {"observer_merge", py_observer_merge, METH_VARARGS, "observer_merge(into, other)"},
    {"observer_channels", py_observer_channels, METH_O, "observer_channels(capsule) -> int"},
    {"observer_config", py_observer_config, METH_O,
     "observer_config(capsule) -> (method, parameter, bits, symmetric, axis, bins)"},
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
