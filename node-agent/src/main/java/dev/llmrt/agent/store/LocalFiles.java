package dev.llmrt.agent.store;

import dev.llmrt.runtime.spi.BackendException;
import java.util.List;
import java.util.function.Supplier;

/**
 * Where a node's agent finds the files of the models it runs. Catalog files are where the catalog
 * says; a model pulled from a registry may still have to come to this node, from a peer or from its
 * registry, before its runner starts ({@link ModelFiles}).
 */
public interface LocalFiles {
    /** A model file that could not be brought to this node; worth trying again later. */
    final class Unavailable extends BackendException {
        public Unavailable(String message) {
            super(message);
        }
    }

    /** The path a memory estimate reads the model's header from: its file, or just its header. */
    String forEstimate(String model) throws Unavailable;

    /** Blocks until the model's file is on this node; returns its path. */
    String ensure(String model) throws Unavailable;

    /** The catalog models whose files this node holds (placement prefers it for them). */
    List<String> held();

    /** Bytes of the models this node keeps in its store (pulled from registries or peers). */
    default long storeBytes() {
        return 0;
    }

    /** Whether {@code path} is a file of the store (counted by {@link #storeBytes}). */
    default boolean inStore(String path) {
        return false;
    }

    /** Files that are where the catalog says, or nowhere. */
    static LocalFiles asConfigured(Supplier<List<String>> held) {
        return new LocalFiles() {
            @Override
            public String forEstimate(String model) {
                return model;
            }

            @Override
            public String ensure(String model) {
                return model;
            }

            @Override
            public List<String> held() {
                return held.get();
            }
        };
    }
}
