package dev.tessera.nn.peft;

import dev.tessera.core.Tensor;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import java.util.List;
import java.util.Map;

/**
 * A linear layer wrapped by an adapter method (LoRA, IA3, bottleneck): the base layer as child
 * {@code base_layer}, any number of named adapters, one active at a time.
 */
sealed interface TunerLayer extends LinearLayer permits LoraLinear, Ia3Linear, BottleneckLinear {
    /** The wrapped layer. */
    LinearLayer baseLayer();

    /** Adapter names held by this layer, in the order they were added. */
    List<String> adapterNames();

    /** Makes {@code adapter} the one used by forward, or none when null or not held here. */
    void setActiveAdapter(String adapter);

    /** With adapters disabled the layer computes its base output (unmerging first). */
    void setAdaptersDisabled(boolean disabled);

    /** Drops {@code adapter} and frees its tensors. */
    void deleteAdapter(String adapter);

    /** The adapter's tensors by PEFT's key relative to this layer, without the adapter name ({@code lora_A.weight}). */
    Map<String, Tensor> adapterTensors(String adapter);

    /** Folds {@code adapter} into the base weight. */
    void mergeAdapter(String adapter);

    /** Takes every merged adapter back out of the base weight. */
    void unmergeAll();

    /** Names of the adapters merged into the base weight. */
    List<String> mergedAdapters();

    // The linear contract is the wrapped layer's: same shapes, and its weight (with merged adapters in it).

    @Override
    default int inFeatures() {
        return baseLayer().inFeatures();
    }

    @Override
    default int outFeatures() {
        return baseLayer().outFeatures();
    }

    @Override
    default Tensor weight() {
        return baseLayer().weight();
    }

    @Override
    default Tensor bias() {
        return baseLayer().bias();
    }

    @Override
    default void addToWeight(Tensor deltaOutIn) {
        baseLayer().addToWeight(deltaOutIn);
    }

    /** The module form of {@link #baseLayer()}. */
    default Module baseModule() {
        return (Module) baseLayer();
    }
}
