package dev.llmrt.agent.gpu;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Reads a node's GPUs and their processes' memory now and then, off the actor threads (nvidia-smi
 * is a process), and tells its parent each reading. A failed reading is logged and skipped: the
 * parent keeps the last one.
 */
public final class GpuMonitor {

    /** One reading: the GPUs and the processes using their memory. */
    public record Reading(List<GpuDevice> devices, List<NvidiaSmi.GpuProcess> processes) {}

    private sealed interface Command {}

    private enum Tick implements Command { INSTANCE }

    private record Read(Reading reading, Throwable error) implements Command {}

    private GpuMonitor() {}

    /**
     * @param every            how often to read (the first reading is taken at once)
     * @param blockingDispatcher where nvidia-smi is waited for
     * @param report           wraps a reading as a message of the parent's protocol
     */
    public static <T> Behavior<?> create(GpuInventory inventory, Duration every, String blockingDispatcher,
                                            ActorRef<T> parent, Function<Reading, T> report) {
        return Behaviors.<Command>setup(ctx -> Behaviors.withTimers(timers -> {
            Executor blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(blockingDispatcher));
            Runnable read = () -> ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> {
                try {
                    return new Reading(inventory.devices(), inventory.processes());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, blocking), Read::new);
            read.run();
            timers.startTimerWithFixedDelay(Tick.INSTANCE, every);
            return Behaviors.receive(Command.class)
                    .onMessageEquals(Tick.INSTANCE, () -> {
                        read.run();
                        return Behaviors.same();
                    })
                    .onMessage(Read.class, r -> {
                        if (r.error() != null) {
                            Throwable cause = r.error().getCause() != null ? r.error().getCause() : r.error();
                            ctx.getLog().warn("reading the GPUs failed, keeping the last reading: {}", cause.getMessage());
                        } else {
                            parent.tell(report.apply(r.reading()));
                        }
                        return Behaviors.same();
                    })
                    .build();
        }));
    }
}
