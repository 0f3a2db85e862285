package dev.tessera.cuda.backend;

import static dev.tessera.cuda.backend.Kernel.Param.DIMS;
import static dev.tessera.cuda.backend.Kernel.Param.F32;
import static dev.tessera.cuda.backend.Kernel.Param.I32;
import static dev.tessera.cuda.backend.Kernel.Param.I64;
import static dev.tessera.cuda.backend.Kernel.Param.PTR;
import static dev.tessera.cuda.backend.Kernel.Param.STRIDES;

import java.util.List;

/**
 * Every kernel the backend launches: its {@code extern "C"} entry name, the {@code .cu} file
 * (module) under {@code dev/tessera/cuda/kernels/} that defines it, and its parameter list. A
 * launch is checked against the list, and a test checks the list against the compiled PTX, so a
 * host/device signature mismatch fails loudly instead of corrupting memory.
 */
enum Kernel {
    COPY_CAST("elementwise", "copy_cast", PTR, I32, PTR, I32, I64, DIMS, STRIDES, STRIDES, I32),
    FILL_BITS("elementwise", "fill_bits", PTR, I32, I64, I64),
    UNARY_F32("elementwise", "unary_f32", I32, PTR, PTR, I64, F32, F32),
    UNARY_BACKWARD_F32("elementwise", "unary_backward_f32", I32, PTR, PTR, PTR, I64, F32, F32),
    BINARY_F32("elementwise", "binary_f32", I32, PTR, PTR, PTR, I64, DIMS, STRIDES, STRIDES, STRIDES),
    COMPARE("elementwise", "compare", I32, I32, PTR, PTR, PTR, I64, DIMS, STRIDES, STRIDES, STRIDES),
    WHERE_F32("elementwise", "where_f32", PTR, PTR, PTR, PTR, I64, DIMS, STRIDES, STRIDES, STRIDES, STRIDES),
    REDUCE_ROWS("reduce", "reduce_rows", I32, PTR, PTR, I32, I32),
    REDUCE_COLS("reduce", "reduce_cols", I32, PTR, PTR, I32, I32, I32),
    SOFTMAX_ROWS("softmax", "softmax_rows", PTR, PTR, I32, I32, I32),
    SOFTMAX_BACKWARD_ROWS("softmax", "softmax_backward_rows", PTR, PTR, PTR, I32, I32, I32),
    LAYERNORM_ROWS("norms", "layernorm_rows", PTR, PTR, PTR, F32, PTR, PTR, PTR, I32, I32),
    LAYERNORM_BACKWARD_DX("norms", "layernorm_backward_dx", PTR, PTR, PTR, PTR, PTR, PTR, I32, I32),
    LAYERNORM_BACKWARD_PARAMS("norms", "layernorm_backward_params", PTR, PTR, PTR, PTR, PTR, PTR, I32, I32),
    RMSNORM_ROWS("norms", "rmsnorm_rows", PTR, PTR, F32, PTR, PTR, I32, I32),
    RMSNORM_BACKWARD_DX("norms", "rmsnorm_backward_dx", PTR, PTR, PTR, PTR, PTR, I32, I32),
    RMSNORM_BACKWARD_DW("norms", "rmsnorm_backward_dw", PTR, PTR, PTR, PTR, I32, I32),
    CROSS_ENTROPY_ROWS("loss", "cross_entropy_rows", PTR, PTR, I64, PTR, PTR, I32, I32, PTR),
    CROSS_ENTROPY_BACKWARD_ROWS("loss", "cross_entropy_backward_rows", PTR, PTR, PTR, I64, F32, PTR, I32, I32, PTR),
    EMBEDDING_FORWARD("embedding", "embedding_forward", PTR, I32, PTR, PTR, I32, I32, I64, PTR),
    EMBEDDING_BACKWARD("embedding", "embedding_backward", PTR, PTR, PTR, I32, I32, I64, PTR),
    INDEX_SELECT("embedding", "index_select", PTR, PTR, PTR, I32, I32, I32, I32, PTR),
    INDEX_ADD("embedding", "index_add", PTR, PTR, PTR, I32, I32, I32, I32, PTR),
    ADAMW_STEP("adamw", "adamw_step", PTR, PTR, PTR, PTR, I64, F32, F32, F32, F32, F32, F32, F32),
    DEQUANT_4BIT("nf4", "dequant_4bit", PTR, PTR, PTR, PTR, I64, I32),
    DEQUANT_4BIT_TILE("nf4", "dequant_4bit_tile", PTR, PTR, I32, PTR, PTR, PTR, PTR, I32, F32, I32, I64, I64, I64, I64,
            PTR, I32),
    GEMV_4BIT("nf4", "gemv_4bit", PTR, PTR, I32, PTR, PTR, PTR, PTR, I32, F32, I32, PTR, PTR, I32, I32),
    QUANTIZE_4BIT("nf4", "quantize_4bit", PTR, PTR, I32, I32, PTR, PTR, I64, PTR),
    ABSMAX_MEAN("nf4", "absmax_mean", PTR, I64, PTR),
    QUANTIZE_8BIT("quant8", "quantize_8bit", PTR, PTR, I32, PTR, PTR, I64, PTR),
    DEQUANTIZE_8BIT("quant8", "dequantize_8bit", PTR, PTR, PTR, I32, PTR, I64),
    ADAMW8BIT_STEP("adamw", "adamw8bit_step", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I64, F32, F32, F32, F32, F32,
            F32, F32, PTR);

    /** How one kernel parameter is passed; sizes are the bytes cuLaunchKernel copies. */
    enum Param {
        /** A device address as {@code long} (0 for a null pointer). */
        PTR(8),
        I64(8),
        I32(4),
        F32(4),
        /** {@code struct Dims} of common.cuh as {@code long[9]}. */
        DIMS(8 * (StridedLayout.MAX_DIMS + 1)),
        /** {@code struct Strides} of common.cuh as {@code long[8]}. */
        STRIDES(8 * StridedLayout.MAX_DIMS);

        final int bytes;

        Param(int bytes) {
            this.bytes = bytes;
        }
    }

    /** Folder of the kernel sources and build-time PTX, as a class-path resource prefix. */
    static final String RESOURCE_DIR = "/dev/tessera/cuda/kernels/";

    /** Headers the kernel sources include, handed to NVRTC by name. */
    static final List<String> HEADERS = List.of("common.cuh");

    final String module;
    final String entry;
    final List<Param> params;

    Kernel(String module, String entry, Param... params) {
        this.module = module;
        this.entry = entry;
        this.params = List.of(params);
    }

    /** The module names, one per .cu file. */
    static List<String> modules() {
        return java.util.Arrays.stream(values()).map(k -> k.module).distinct().toList();
    }
}
