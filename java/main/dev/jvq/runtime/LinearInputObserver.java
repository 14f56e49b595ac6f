package dev.jvq.runtime;

import dev.jvq.model.LinearKind;
import java.lang.foreign.MemorySegment;

/**
 * Sees the activations entering the linear layers during a forward pass (for calibration
 * statistics). Called once per layer and {@link LinearKind#inputGroup() input group}: with
 * {@code Q} for the input shared by q, k and v, {@code O}, {@code GATE} for the input shared by gate
 * and up, and {@code DOWN}, in that order within a layer.
 */
@FunctionalInterface
public interface LinearInputObserver {
    /**
     * @param activations f32 row-major [nTokens x cols of the layer], host memory; valid only during
     *     the call (the buffer is reused)
     */
    void observe(int layer, LinearKind group, MemorySegment activations, int nTokens);
}
