/* Quantizes a weight matrix to 4 bits in groups of 128, dequantizes it and reports the error.
 * Build: cc -std=c99 quantize_demo.c -lswquant -lm */
#include <swquant.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const int64_t rows = 64, cols = 576; /* 576 = 4 x 128 + 64: the last group of each row is shorter */
    swq_scheme scheme = {4, SWQ_GRID_UNSIGNED, 0, SWQ_PER_GROUP, 0, 128, SWQ_DTYPE_F16};
    float *weights = malloc(sizeof(float) * (size_t)(rows * cols));
    float *restored = malloc(sizeof(float) * (size_t)(rows * cols));
    swq_qtensor *tensor = NULL;
    swq_metrics metrics;
    int64_t nbytes = 0, i;
    double bits_per_weight = 0;
    int status = 1;

    if (!weights || !restored) goto done;
    for (i = 0; i < rows * cols; i++) weights[i] = 0.02f * (float)sin(0.37 * (double)i) * (float)(1 + i % 7);

    if (swq_quantize(weights, SWQ_DTYPE_F32, rows, cols, &scheme, &tensor) != SWQ_OK ||
        swq_dequantize(tensor, SWQ_DTYPE_F32, restored, rows * cols) != SWQ_OK ||
        swq_qtensor_storage(tensor, &nbytes, &bits_per_weight) != SWQ_OK ||
        swq_error_metrics(weights, restored, rows * cols, &metrics) != SWQ_OK) {
        fprintf(stderr, "swquant: %s\n", swq_last_error());
        goto done;
    }
    printf("swquant %s: %lld x %lld weights, 4-bit groups of 128, fp16 scales\n", swq_version(),
           (long long)rows, (long long)cols);
    printf("  %lld bytes, %.4f bits per weight\n", (long long)nbytes, bits_per_weight);
    printf("  SQNR %.2f dB, MSE %.3g, max abs error %.3g\n", metrics.sqnr_db, metrics.mse, metrics.max_abs_error);
    status = 0;
done:
    swq_qtensor_free(tensor);
    free(weights);
    free(restored);
    return status;
}
