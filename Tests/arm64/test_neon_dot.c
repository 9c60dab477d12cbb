/* The NEON tier of the int8 dot products against the scalar tier and a C reference, on aarch64 (under
 * qemu-aarch64 here): the integer sums are exact and the float scaling runs in the same order, so
 * all three must agree bit for bit. Built and run by Tests/arm64/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

float swq_check_int8_dot(int32_t bits, int32_t tier, const uint8_t *weights, const int8_t *activations,
                         const float *activation_scales, const float *group_scales, intptr_t blocks,
                         intptr_t blocks_per_group, int32_t is_signed);

static uint32_t state = 12345u;
static uint32_t next(void) { state = state * 1664525u + 1013904223u; return state >> 8; }

/* Block b's dot product: 4-bit codes pair with the interleaved activations (even codes at
 * (b / 2) * 64 + (b % 2) * 16, odd ones 32 later), 8-bit codes with 32 consecutive ones. */
static int32_t block_dot(int bits, const uint8_t *w, const int8_t *a, intptr_t b, int is_signed) {
    int32_t sum = 0;
    if (bits == 4) {
        const int8_t *even = a + (b >> 1) * 64 + (b & 1) * 16;
        uint8_t flip = is_signed ? 0x08 : 0;
        for (int i = 0; i < 16; i++) {
            uint8_t byte = w[b * 16 + i];
            sum += (int32_t)((byte & 0x0F) ^ flip) * even[i] + (int32_t)((byte >> 4) ^ flip) * even[32 + i];
        }
    } else {
        uint8_t flip = is_signed ? 0x80 : 0;
        for (int i = 0; i < 32; i++) sum += (int32_t)(uint8_t)(w[b * 32 + i] ^ flip) * a[b * 32 + i];
    }
    return sum;
}

int main(void) {
    enum { max_blocks = 12 };
    static uint8_t weights[max_blocks * 32];
    static int8_t activations[(max_blocks + 2) * 32];
    static float activation_scales[max_blocks], group_scales[max_blocks];
    int cases = 0;
    for (int bits = 4; bits <= 8; bits += 4)
        for (int is_signed = 0; is_signed <= 1; is_signed++)
            for (intptr_t blocks = 1; blocks <= max_blocks; blocks++)
                for (intptr_t per_group = 1; per_group <= blocks; per_group++)
                    for (int trial = 0; trial < 4; trial++) {
                        for (size_t i = 0; i < sizeof weights; i++) weights[i] = (uint8_t)next();
                        for (size_t i = 0; i < sizeof activations; i++) activations[i] = (int8_t)((int)(next() % 255) - 127);
                        for (int i = 0; i < max_blocks; i++) {
                            activation_scales[i] = (float)(next() % 1000 + 1) * 1e-4f;
                            group_scales[i] = (float)(next() % 1000 + 1) * 1e-3f;
                        }
                        float reference = 0;
                        for (intptr_t b = 0, g = 0; b < blocks; g++) {
                            float group_sum = 0;
                            for (intptr_t end = b + per_group < blocks ? b + per_group : blocks; b < end; b++)
                                group_sum += activation_scales[b] * (float)block_dot(bits, weights, activations, b, is_signed);
                            reference += group_scales[g] * group_sum;
                        }
                        float scalar = swq_check_int8_dot(bits, 0, weights, activations, activation_scales, group_scales,
                                                          blocks, per_group, is_signed);
                        float neon = swq_check_int8_dot(bits, 1, weights, activations, activation_scales, group_scales,
                                                        blocks, per_group, is_signed);
                        if (memcmp(&scalar, &reference, sizeof(float)) != 0 || memcmp(&neon, &reference, sizeof(float)) != 0) {
                            printf("FAIL bits %d signed %d blocks %ld per group %ld: reference %.9g scalar %.9g neon %.9g\n",
                                   bits, is_signed, (long)blocks, (long)per_group, reference, scalar, neon);
                            return 1;
                        }
                        cases++;
                    }
    printf("NEON int8 dot tier: %d cases bit-identical to the scalar tier and the C reference\n", cases);
    return 0;
}
