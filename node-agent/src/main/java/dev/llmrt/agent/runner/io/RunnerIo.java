package dev.llmrt.agent.runner.io;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The node's runner I/O: a few {@link IoLoop}s (one thread each, {@code llmrt.agent.runner-client.io-threads},
 * 0 = a quarter of the cores, at least one) that every runner's client shares, each with one read
 * buffer. Closed when the actor system terminates.
 */
public final class RunnerIo implements Extension {
    private static final int READ_BUFFER_BYTES = 64 * 1024;

    private final IoLoop[] loops;
    private final ByteBuffer[] buffers;
    private final AtomicInteger next = new AtomicInteger();

    private RunnerIo(ActorSystem<?> system) {
        int configured = system.settings().config().getInt("llmrt.agent.runner-client.io-threads");
        int n = configured > 0 ? configured : Math.max(1, Runtime.getRuntime().availableProcessors() / 4);
        loops = new IoLoop[n];
        buffers = new ByteBuffer[n];
        for (int i = 0; i < n; i++) {
            loops[i] = new IoLoop(system.name() + "-runner-io-" + i);
            buffers[i] = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
        }
        system.getWhenTerminated().whenCompleteAsync((done, e) -> {
            for (IoLoop loop : loops) {
                loop.close();
            }
        }, Runnable::run);
    }

    /** A client for one runner's socket, on the next loop in turn. */
    public RunnerHttpClient client(Path socket, RunnerHttpClient.Limits limits) {
        int i = Math.floorMod(next.getAndIncrement(), loops.length);
        return new RunnerHttpClient(loops[i], socket, limits, buffers[i]);
    }

    public static RunnerIo get(ActorSystem<?> system) {
        return Id.INSTANCE.apply(system);
    }

    private static final class Id extends ExtensionId<RunnerIo> {
        static final Id INSTANCE = new Id();

        @Override
        public RunnerIo createExtension(ActorSystem<?> system) {
            return new RunnerIo(system);
        }
    }
}
