/* C tests of the ggml block types and the model-file reader and writers: hand-worked blocks, a GGUF and
 * a safetensors file written and read back through the ABI (both ways of adding tensors), crafted
 * files, and ownership (every handle freed, a writer freed without commit leaves nothing). Built with
 * -fsanitize=address,undefined by the README's test command. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "swquant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static uint16_t half_bits(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Q8_0 of 0, 1, ..., 31: d = 31/127 (float16 0x33D0), codes roundf(x * 127/31). */
static void test_hand_worked_q8_0(void) {
    float x[32], back[32];
    uint8_t block[34];
    int64_t bytes = 0;
    int i, codes_ok = 1;
    for (i = 0; i < 32; i++) x[i] = (float)i;
    CHECK(swq_ggml_row_size(SWQ_GGML_Q8_0, 32, &bytes) == SWQ_OK && bytes == 34);
    CHECK(swq_ggml_quantize(SWQ_GGML_Q8_0, x, SWQ_DTYPE_F32, 1, 32, NULL, block, sizeof block) == SWQ_OK);
    CHECK(half_bits(block) == 0x33D0);
    for (i = 0; i < 32; i++) codes_ok &= (int8_t)block[2 + i] == (int8_t)roundf((float)i * (1.0f / (31.0f / 127.0f)));
    CHECK(codes_ok);
    CHECK(swq_ggml_dequantize(SWQ_GGML_Q8_0, block, sizeof block, 1, 32, back, 32) == SWQ_OK);
    CHECK(fabsf(back[31] - 31.0f) < 0.02f && back[0] == 0.0f);
}

/* Q4_0 of a block whose largest magnitude is -8: d = 1, codes x + 8, nibbles j and j + 16 paired. */
static void test_hand_worked_q4_0(void) {
    float x[32];
    uint8_t block[18];
    int i, ok = 1;
    for (i = 0; i < 32; i++) x[i] = (float)(i % 16) - 8.0f;
    CHECK(swq_ggml_quantize(SWQ_GGML_Q4_0, x, SWQ_DTYPE_F32, 1, 32, NULL, block, sizeof block) == SWQ_OK);
    CHECK(half_bits(block) == 0x3C00); /* d = max / -8 = 1.0 */
    for (i = 0; i < 16; i++) ok &= block[2 + i] == (uint8_t)(i | i << 4);
    CHECK(ok);
}

static void test_types_and_errors(void) {
    swq_ggml_type_info info;
    int32_t type = -1;
    int64_t bytes;
    float x[256] = {0}, importance[256];
    uint8_t out[210];
    int i;
    for (i = 0; i < 256; i++) importance[i] = 1.0f;
    CHECK(swq_ggml_type_from_name("q6_k", &type) == SWQ_OK && type == SWQ_GGML_Q6_K);
    CHECK(swq_ggml_type_info_get(SWQ_GGML_Q6_K, &info) == SWQ_OK && strcmp(info.name, "Q6_K") == 0);
    CHECK(info.block_length == 256 && info.block_bytes == 210 && info.has_codec == 1 && info.uses_importance == 1);
    CHECK(swq_ggml_type_info_get(4, &info) == SWQ_ERR_INVALID_ARGUMENT); /* a removed ggml number */
    CHECK(swq_ggml_type_info_get(SWQ_GGML_IQ2_XXS, &info) == SWQ_OK && info.has_codec == 0);
    CHECK(swq_ggml_type_from_name("Q9_9", &type) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_ggml_row_size(SWQ_GGML_Q4_K, 576, &bytes) == SWQ_ERR_SHAPE);
    CHECK(swq_ggml_quantize(SWQ_GGML_Q6_K, x, SWQ_DTYPE_F32, 1, 256, importance, out, sizeof out) == SWQ_OK);
    CHECK(swq_ggml_quantize(SWQ_GGML_Q6_K, x, SWQ_DTYPE_F32, 1, 256, NULL, out, sizeof out - 1) == SWQ_ERR_BUFFER_TOO_SMALL);
    CHECK(swq_ggml_quantize(SWQ_GGML_Q6_K, NULL, SWQ_DTYPE_F32, 1, 256, NULL, out, sizeof out) == SWQ_ERR_NULL_POINTER);
    CHECK(swq_ggml_quantize(SWQ_GGML_IQ2_XXS, x, SWQ_DTYPE_F32, 1, 256, NULL, out, sizeof out) == SWQ_ERR_INVALID_ARGUMENT);
    x[7] = NAN;
    CHECK(swq_ggml_quantize(SWQ_GGML_Q6_K, x, SWQ_DTYPE_F32, 1, 256, NULL, out, sizeof out) == SWQ_ERR_NON_FINITE);
    CHECK(strstr(swq_last_error(), "column 7") != NULL);
    x[7] = 0;
    importance[3] = -1.0f;
    CHECK(swq_ggml_quantize(SWQ_GGML_Q6_K, x, SWQ_DTYPE_F32, 1, 256, importance, out, sizeof out) == SWQ_ERR_INVALID_ARGUMENT);
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Writes a GGUF with metadata, an F32 tensor and a Q4_K tensor (added with their data), reads it back. */
static void test_gguf_round_trip(const char *path) {
    float w[2 * 256], back[2 * 256], f32[3] = {1.5f, -2.0f, 0.25f};
    uint8_t blocks[2 * 144];
    int64_t shape[2] = {2, 256}, one[1] = {3}, count = 0, index = -1, size = 0;
    swq_model_writer *writer = NULL;
    swq_model *model = NULL;
    swq_tensor_info info;
    int32_t format = -1, files = 0;
    char *json;
    int i;
    for (i = 0; i < 2 * 256; i++) w[i] = sinf((float)i * 0.37f) * 3.0f;
    CHECK(swq_ggml_quantize(SWQ_GGML_Q4_K, w, SWQ_DTYPE_F32, 2, 256, NULL, blocks, sizeof blocks) == SWQ_OK);
    CHECK(swq_model_writer_new(path, SWQ_MODEL_GGUF, &writer) == SWQ_OK);
    CHECK(swq_model_writer_set_metadata(writer, "general.architecture", "[\"STRING\", \"llama\"]") == SWQ_OK);
    CHECK(swq_model_writer_set_metadata(writer, "x.ids", "[\"ARRAY\", \"UINT16\", [1, 2, 65535]]") == SWQ_OK);
    CHECK(swq_model_writer_set_metadata(writer, "x.bad", "[\"UINT8\", 256]") == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_model_writer_set_metadata(writer, "x.ids", "[\"UINT8\", 1]") == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_model_writer_add_tensor(writer, "v", "F32", 1, one, f32, sizeof f32) == SWQ_OK);
    CHECK(swq_model_writer_add_tensor(writer, "w", "Q4_K", 2, shape, blocks, sizeof blocks) == SWQ_OK);
    CHECK(swq_model_writer_add_tensor(writer, "short", "Q4_K", 2, shape, blocks, sizeof blocks - 1) == SWQ_ERR_SHAPE);
    CHECK(!file_exists(path));
    CHECK(swq_model_writer_commit(writer) == SWQ_OK);
    swq_model_writer_free(writer);

    CHECK(swq_model_open(path, &model) == SWQ_OK);
    CHECK(swq_model_summary(model, &format, &count, &files) == SWQ_OK && format == SWQ_MODEL_GGUF && count == 2 && files == 1);
    CHECK(swq_model_tensor_find(model, "w", &index) == SWQ_OK && index == 1);
    CHECK(swq_model_tensor_info(model, index, &info) == SWQ_OK);
    CHECK(strcmp(info.name, "w") == 0 && strcmp(info.type, "Q4_K") == 0 && info.ggml_type == SWQ_GGML_Q4_K);
    CHECK(info.n_dims == 2 && info.shape[0] == 2 && info.shape[1] == 256 && info.nbytes == (int64_t)sizeof blocks);
    CHECK(memcmp(info.data, blocks, sizeof blocks) == 0 && info.file_offset % 32 == 0);
    CHECK(swq_model_tensor_to_f32(model, index, back, 2 * 256) == SWQ_OK);
    {
        float expected[2 * 256];
        CHECK(swq_ggml_dequantize(SWQ_GGML_Q4_K, blocks, sizeof blocks, 2, 256, expected, 2 * 256) == SWQ_OK);
        CHECK(memcmp(back, expected, sizeof back) == 0);
    }
    CHECK(swq_model_tensor_info(model, 2, &info) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_model_tensor_find(model, "nope", &index) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_model_metadata_json(model, NULL, 0, &size) == SWQ_OK && size > 0);
    json = malloc((size_t)size + 1);
    CHECK(swq_model_metadata_json(model, json, size, &size) == SWQ_OK);
    json[size] = '\0';
    CHECK(strstr(json, "\"x.ids\":[\"ARRAY\",\"UINT16\",[1,2,65535]]") != NULL);
    free(json);
    swq_model_free(model);
}

/* Declared tensors, then their data in order: the header goes first, the data straight after it. */
static void test_safetensors_declared(const char *path) {
    uint16_t bf16[4] = {0x3F80, 0x4000, 0xC040, 0x0000}; /* 1, 2, -3, 0 */
    int8_t i8[6] = {-128, -1, 0, 1, 2, 127};
    int64_t s1[1] = {4}, s2[2] = {2, 3}, count = 0;
    float values[6];
    swq_model_writer *writer = NULL;
    swq_model *model = NULL;
    swq_tensor_info info;
    CHECK(swq_model_writer_new(path, SWQ_MODEL_SAFETENSORS, &writer) == SWQ_OK);
    CHECK(swq_model_writer_set_metadata(writer, "format", "[\"STRING\", \"pt\"]") == SWQ_OK);
    CHECK(swq_model_writer_set_metadata(writer, "n", "[\"UINT32\", 1]") == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_model_writer_declare_tensor(writer, "a", "BF16", 1, s1) == SWQ_OK);
    CHECK(swq_model_writer_declare_tensor(writer, "b", "I8", 2, s2) == SWQ_OK);
    CHECK(swq_model_writer_commit(writer) == SWQ_ERR_INVALID_ARGUMENT); /* data still due */
    CHECK(swq_model_writer_write_tensor_data(writer, bf16, sizeof bf16) == SWQ_OK);
    CHECK(swq_model_writer_add_tensor(writer, "c", "U8", 1, s1, i8, 4) == SWQ_ERR_INVALID_ARGUMENT); /* not mixed */
    CHECK(swq_model_writer_write_tensor_data(writer, i8, sizeof i8) == SWQ_OK);
    CHECK(swq_model_writer_write_tensor_data(writer, i8, sizeof i8) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_model_writer_commit(writer) == SWQ_OK);
    swq_model_writer_free(writer);
    CHECK(swq_model_open(path, &model) == SWQ_OK);
    CHECK(swq_model_summary(model, NULL, &count, NULL) == SWQ_OK && count == 2);
    CHECK(swq_model_tensor_info(model, 0, &info) == SWQ_OK && strcmp(info.type, "BF16") == 0 && info.ggml_type == -1);
    CHECK(swq_model_tensor_to_f32(model, 0, values, 4) == SWQ_OK && values[0] == 1.0f && values[2] == -3.0f);
    CHECK(swq_model_tensor_to_f32(model, 1, values, 5) == SWQ_ERR_BUFFER_TOO_SMALL);
    CHECK(swq_model_tensor_to_f32(model, 1, values, 6) == SWQ_OK && values[0] == -128.0f && values[5] == 127.0f);
    swq_model_free(model);
}

static void write_file(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
}

static void test_uncommitted_and_crafted(const char *dir) {
    char path[512];
    swq_model_writer *writer = NULL;
    swq_model *model = (swq_model *)&model;
    int64_t one[1] = {1};
    float v = 1.0f;
    /* GGUF v3, 0 tensors, 1 key whose string value claims 3 GiB */
    static const uint8_t huge_string[] = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                                          1, 0, 0, 0, 0, 0, 0, 0, 'k', 8, 0, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0};
    snprintf(path, sizeof path, "%s/uncommitted.gguf", dir);
    CHECK(swq_model_writer_new(path, SWQ_MODEL_GGUF, &writer) == SWQ_OK);
    CHECK(swq_model_writer_add_tensor(writer, "v", "F32", 1, one, &v, sizeof v) == SWQ_OK);
    swq_model_writer_free(writer);
    CHECK(!file_exists(path));
    CHECK(swq_model_writer_new(path, 7, &writer) == SWQ_ERR_INVALID_ARGUMENT && writer == NULL);

    snprintf(path, sizeof path, "%s/huge.gguf", dir);
    write_file(path, huge_string, sizeof huge_string);
    CHECK(swq_model_open(path, &model) == SWQ_ERR_INVALID_ARGUMENT && model == NULL);
    CHECK(strstr(swq_last_error(), "at byte 37") != NULL);
    snprintf(path, sizeof path, "%s/missing.gguf", dir);
    CHECK(swq_model_open(path, &model) == SWQ_ERR_INVALID_ARGUMENT);
    CHECK(swq_model_open(NULL, &model) == SWQ_ERR_NULL_POINTER);
    swq_model_free(NULL);
    swq_model_writer_free(NULL);
}

int main(void) {
    char dir[] = "/tmp/swquant-c-XXXXXX", gguf[600], st[600];
    if (!mkdtemp(dir)) return 2;
    snprintf(gguf, sizeof gguf, "%s/t.gguf", dir);
    snprintf(st, sizeof st, "%s/t.safetensors", dir);
    test_hand_worked_q8_0();
    test_hand_worked_q4_0();
    test_types_and_errors();
    test_gguf_round_trip(gguf);
    test_safetensors_declared(st);
    test_uncommitted_and_crafted(dir);
    unlink(gguf);
    unlink(st);
    {
        char path[600];
        snprintf(path, sizeof path, "%s/huge.gguf", dir);
        unlink(path);
    }
    rmdir(dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
