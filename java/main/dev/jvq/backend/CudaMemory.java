package dev.jvq.backend;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8;

import dev.jvq.JvqException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;

/**
 * Device memory of the CUDA backend: a cache of weights and a per-call staging area for activations.
 *
 * <p><b>Weights.</b> A read-only host segment (a memory-mapped checkpoint or model file, or any
 * segment passed through {@link MemorySegment#asReadOnly()}) is taken as a promise that its bytes do
 * not change while its scope is alive. Its device copy is kept, keyed by address and size, and reused
 * by later calls; an entry whose scope has closed, or whose key reappears under another scope, is
 * dropped. When the device runs out of memory the least recently used weights not needed by the
 * current call are freed. Writable segments are copied on every call.
 *
 * <p><b>Activations.</b> Each backend call opens a {@link Call}; its buffers are carved from one
 * scratch allocation (grown to the largest call seen, so steady-state calls allocate nothing), inputs
 * are copied in when requested, outputs copied back by {@link Call#finish()}. A segment requested
 * twice in one call (rmsnorm's out == x) gets the same device buffer.
 *
 * <p>Every device buffer is padded with at least {@link #PAD} bytes (zeroed for cached weights) and
 * sized to a multiple of {@link #ALIGN}, so a kernel may read a little past the data — the VQ kernels
 * load the code stream in whole 32-bit words — without leaving the allocation. Host copies go in
 * chunks of at most 1 GiB: JCuda addresses host memory through {@link java.nio.ByteBuffer}s, which
 * end at 2 GiB.
 */
final class CudaMemory implements AutoCloseable {

    static final long ALIGN = 256;
    static final long PAD = 16;
    static final long CHUNK = 1L << 30;

    private record Key(long address, long size) {}

    private static final class Cached {
        final CUdeviceptr ptr;
        final long bytes;
        final MemorySegment.Scope scope;

        Cached(CUdeviceptr ptr, long bytes, MemorySegment.Scope scope) {
            this.ptr = ptr;
            this.bytes = bytes;
            this.scope = scope;
        }
    }

    /** Access-ordered: iteration starts at the least recently used weight. */
    private final LinkedHashMap<Key, Cached> weights = new LinkedHashMap<>(64, 0.75f, true);
    private final Set<Key> pinned = new HashSet<>();
    private long weightBytes;
    private final long weightBudget;

    private CUdeviceptr scratch;
    private long scratchBytes;

    private Call open;

    /** @param weightBudget most bytes the weight cache may hold before evicting (on top of OOM eviction) */
    CudaMemory(long weightBudget) {
        this.weightBudget = weightBudget;
    }

    static long padded(long bytes) {
        return (bytes + PAD + ALIGN - 1) / ALIGN * ALIGN;
    }

    long cachedWeightBytes() {
        return weightBytes;
    }

    /** Allocates, evicting unpinned weights while the device is out of memory. */
    CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        while (true) {
            int rc = cuMemAlloc(p, bytes);
            if (rc == CUresult.CUDA_SUCCESS) {
                return p;
            }
            if (rc != CUresult.CUDA_ERROR_OUT_OF_MEMORY || !evictOne()) {
                if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                    throw new JvqException(String.format("CUDA device out of memory: %.1f MiB requested, %.1f MiB of"
                            + " weights cached and pinned by this call", bytes / 1048576.0, weightBytes / 1048576.0));
                }
                CudaBackend.check(rc, "cuMemAlloc of " + bytes + " bytes");
            }
        }
    }

    private boolean evictOne() {
        for (Iterator<Map.Entry<Key, Cached>> it = weights.entrySet().iterator(); it.hasNext();) {
            Map.Entry<Key, Cached> e = it.next();
            if (!pinned.contains(e.getKey())) {
                cuMemFree(e.getValue().ptr);
                weightBytes -= e.getValue().bytes;
                it.remove();
                return true;
            }
        }
        return false;
    }

    private void dropDeadWeights() {
        for (Iterator<Map.Entry<Key, Cached>> it = weights.entrySet().iterator(); it.hasNext();) {
            Map.Entry<Key, Cached> e = it.next();
            if (!e.getValue().scope.isAlive() && !pinned.contains(e.getKey())) {
                cuMemFree(e.getValue().ptr);
                weightBytes -= e.getValue().bytes;
                it.remove();
            }
        }
    }

    /** Starts the staging of one backend call. Calls do not nest. */
    Call call() {
        if (open != null) {
            throw new IllegalStateException("CUDA backend used by two callers at once (it is thread-compatible only)");
        }
        open = new Call();
        return open;
    }

    /** Copies bytes [0, bytes) of a host segment to the device. */
    static void copyIn(CUdeviceptr dst, MemorySegment src, long bytes) {
        if (bytes == 0) {
            return;
        }
        for (long off = 0; off < bytes; off += CHUNK) {
            long len = Math.min(CHUNK, bytes - off);
            CudaBackend.check(cuMemcpyHtoD(dst.withByteOffset(off), Pointer.to(src.asSlice(off, len).asByteBuffer()), len),
                    "copy to device");
        }
    }

    /** Copies bytes [0, bytes) of a device buffer into a host segment. */
    static void copyOut(MemorySegment dst, CUdeviceptr src, long bytes) {
        if (bytes == 0) {
            return;
        }
        for (long off = 0; off < bytes; off += CHUNK) {
            long len = Math.min(CHUNK, bytes - off);
            CudaBackend.check(cuMemcpyDtoH(Pointer.to(dst.asSlice(off, len).asByteBuffer()), src.withByteOffset(off), len),
                    "copy from device");
        }
    }

    /** Zeroes the padding after `bytes` of a buffer allocated with {@link #padded}. */
    private static void zeroTail(CUdeviceptr p, long bytes) {
        CudaBackend.check(cuMemsetD8(p.withByteOffset(bytes), (byte) 0, padded(bytes) - bytes), "cuMemsetD8");
    }

    /** The device buffers of one backend call. */
    final class Call implements AutoCloseable {
        private record Staged(MemorySegment host, long bytes, CUdeviceptr ptr, boolean copiedIn, boolean copyBack) {}

        private final List<Staged> staged = new ArrayList<>();
        private final List<CUdeviceptr> extra = new ArrayList<>();
        private final List<Key> pins = new ArrayList<>();
        private long used;
        private long wanted;
        private boolean closed;

        /** Device copy of a segment the kernel only reads; cached when it is a read-only weight. */
        CUdeviceptr weight(MemorySegment seg) {
            if (seg.equals(MemorySegment.NULL)) {
                return new CUdeviceptr();
            }
            if (!seg.isReadOnly()) {
                return in(seg, seg.byteSize());
            }
            Key key = new Key(seg.address(), seg.byteSize());
            Cached c = weights.get(key);
            if (c != null && (!c.scope.isAlive() || !c.scope.equals(seg.scope()))) {
                if (pinned.contains(key)) {
                    throw new IllegalStateException("weight at 0x" + Long.toHexString(key.address()) + " changed scope"
                            + " within one call");
                }
                cuMemFree(c.ptr);
                weightBytes -= c.bytes;
                weights.remove(key);
                c = null;
            }
            if (c == null) {
                dropDeadWeights();
                long bytes = padded(seg.byteSize());
                while (weightBytes + bytes > weightBudget && evictOne()) {
                    // make room within the budget, least recently used first
                }
                CUdeviceptr p = alloc(bytes);
                try {
                    copyIn(p, seg, seg.byteSize());
                    zeroTail(p, seg.byteSize());
                } catch (RuntimeException e) {
                    cuMemFree(p);
                    throw e;
                }
                c = new Cached(p, bytes, seg.scope());
                weights.put(key, c);
                weightBytes += bytes;
            }
            if (pinned.add(key)) {
                pins.add(key);
            }
            return c.ptr;
        }

        /** Device buffer holding a copy of bytes [0, bytes) of seg. */
        CUdeviceptr in(MemorySegment seg, long bytes) {
            return stage(seg, bytes, true, false);
        }

        /** Device buffer whose bytes [0, bytes) are copied into seg by {@link #finish()}. */
        CUdeviceptr out(MemorySegment seg, long bytes) {
            return stage(seg, bytes, false, true);
        }

        /** Both: copied in now and back by {@link #finish()}. */
        CUdeviceptr inOut(MemorySegment seg, long bytes) {
            return stage(seg, bytes, true, true);
        }

        /** Device scratch the kernel uses and nobody reads back. */
        CUdeviceptr temp(long bytes) {
            return carve(bytes);
        }

        private CUdeviceptr stage(MemorySegment seg, long bytes, boolean copyIn, boolean copyBack) {
            if (seg.equals(MemorySegment.NULL)) {
                return new CUdeviceptr();
            }
            if (seg.byteSize() < bytes) {
                throw new IllegalArgumentException("segment of " + seg.byteSize() + " bytes where " + bytes + " are needed");
            }
            for (int i = 0; i < staged.size(); i++) {
                Staged s = staged.get(i);
                if (s.bytes() == bytes && sameMemory(s.host(), seg)) {
                    if (copyIn && !s.copiedIn()) {
                        copyIn(s.ptr(), seg, bytes); // first staged as an output, now also read
                    }
                    staged.set(i, new Staged(s.host(), bytes, s.ptr(), s.copiedIn() || copyIn, s.copyBack() || copyBack));
                    return s.ptr();
                }
            }
            CUdeviceptr p = carve(bytes);
            if (copyIn) {
                copyIn(p, seg, bytes);
            }
            staged.add(new Staged(seg, bytes, p, copyIn, copyBack));
            return p;
        }

        private static boolean sameMemory(MemorySegment a, MemorySegment b) {
            return a.address() == b.address(); // off-heap only (SegmentChecks rejects heap segments)
        }

        private CUdeviceptr carve(long bytes) {
            long size = padded(bytes);
            wanted += size;
            if (scratch != null && used + size <= scratchBytes) {
                CUdeviceptr p = scratch.withByteOffset(used);
                used += size;
                return p;
            }
            // Does not fit this time: a buffer of its own; the scratch grows to `wanted` at close.
            CUdeviceptr p = alloc(size);
            extra.add(p);
            return p;
        }

        /** Copies the outputs back to the host. Call after the kernels (copies wait for them). */
        void finish() {
            for (Staged s : staged) {
                if (s.copyBack()) {
                    copyOut(s.host(), s.ptr(), s.bytes());
                }
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            for (Key k : pins) {
                pinned.remove(k);
            }
            for (CUdeviceptr p : extra) {
                cuMemFree(p);
            }
            if (wanted > scratchBytes) {
                if (scratch != null) {
                    cuMemFree(scratch);
                    scratch = null;
                    scratchBytes = 0;
                }
                long size = Math.max(wanted + wanted / 4, 1L << 20);
                try {
                    scratch = alloc(size);
                    scratchBytes = size;
                } catch (RuntimeException e) {
                    // No room to grow: later calls of this size get buffers of their own again.
                }
            }
            open = null;
        }
    }

    @Override
    public void close() {
        for (Cached c : weights.values()) {
            cuMemFree(c.ptr);
        }
        weights.clear();
        weightBytes = 0;
        if (scratch != null) {
            cuMemFree(scratch);
            scratch = null;
            scratchBytes = 0;
        }
    }
}
