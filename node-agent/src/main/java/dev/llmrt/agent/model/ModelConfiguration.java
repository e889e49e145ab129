package dev.llmrt.agent.model;

import dev.llmrt.agent.CborSerializable;
import dev.llmrt.runtime.spi.BackendConfiguration;
import java.util.Objects;

/**
 * How a model is run, set at run time through model-runner's {@code POST /engines/{backend}/_configure}
 * and held cluster-wide: it replaces the catalog entry's context size, runtime flags and speculative
 * settings where it sets them, and its keep-alive when one is given.
 *
 * @param mode            the mode the configuration was made for, which its preload starts
 * @param keepAliveMillis null to keep the catalog's; negative = never unload
 * @param updatedAt       epoch milliseconds of the request that set it
 */
public record ModelConfiguration(String model, String backend, String mode, BackendConfiguration config,
                                 Long keepAliveMillis, long updatedAt) implements CborSerializable {

    /** {@code spec} as this configuration runs it. */
    public ModelSpec applyTo(ModelSpec spec) {
        BackendConfiguration base = spec.config();
        BackendConfiguration merged = new BackendConfiguration(
                config.contextSize() != null ? config.contextSize() : base.contextSize(),
                !config.runtimeFlags().isEmpty() ? config.runtimeFlags() : base.runtimeFlags(),
                config.speculative() != null ? config.speculative() : base.speculative());
        return new ModelSpec(spec.name(), spec.backend(), spec.model(), merged,
                keepAliveMillis != null ? keepAliveMillis : spec.keepAliveMillis());
    }

    /** True when {@code other} would run the model the same way (the time it was set aside). */
    public boolean sameAs(ModelConfiguration other) {
        return other != null && model.equals(other.model) && backend.equals(other.backend) && mode.equals(other.mode)
                && config.equals(other.config) && Objects.equals(keepAliveMillis, other.keepAliveMillis);
    }
}
