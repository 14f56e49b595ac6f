package dev.jvq.runtime;

import dev.jvq.backend.Backend;
import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/** A linear layer stored as a dense f32, f16 or bf16 matrix (for example straight from a checkpoint). */
public record DenseLinear(Tensor weight) implements Linear {

    public DenseLinear {
        if (weight.rank() != 2 || weight.dtype().nativeCode < 0) {
            throw new IllegalArgumentException(weight + ": a dense linear needs a 2-D f32/f16/bf16 matrix");
        }
    }

    public DType dtype() {
        return weight.dtype();
    }

    @Override
    public long rows() {
        return weight.dim(0);
    }

    @Override
    public long cols() {
        return weight.dim(1);
    }

    @Override
    public void gemv(Backend backend, MemorySegment x, MemorySegment y) {
        backend.gemv(weight.dtype(), weight.data(), x, y, rows(), cols());
    }

    @Override
    public void gemm(Backend backend, MemorySegment x, MemorySegment y, long n) {
        backend.gemm(weight.dtype(), weight.data(), x, y, n, rows(), cols());
    }

    @Override
    public long storageBytes() {
        return weight.data().byteSize();
    }
}
