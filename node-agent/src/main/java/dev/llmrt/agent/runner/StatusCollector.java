package dev.llmrt.agent.runner;

import dev.llmrt.agent.CborSerializable;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Asks each runner for its live status (request counts change too often to be published) and
 * answers once all have replied or the timeout passed, a silent runner shown as last reported.
 * One short-lived actor per question, so a slow runner never holds up its node agent.
 */
public final class StatusCollector {
    private StatusCollector() {}

    private interface Command extends CborSerializable {}

    private record Got(RunnerStatus status) implements Command {}

    private enum Timeout implements Command { INSTANCE }

    /**
     * @param lastKnown each runner with its last reported status
     * @param complete  adds what only the agent knows (measured use) to a live status
     * @param reply     gets every status once
     */
    public static Behavior<?> create(Map<ActorRef<RunnerSupervisor.Command>, RunnerStatus> lastKnown, Duration timeout,
                                        UnaryOperator<RunnerStatus> complete, Consumer<List<RunnerStatus>> reply) {
        return Behaviors.<Command>setup(ctx -> Behaviors.withTimers(timers -> {
            Map<String, RunnerStatus> live = new HashMap<>();
            lastKnown.values().forEach(s -> live.put(s.runnerId(), complete.apply(s)));
            if (lastKnown.isEmpty()) {
                reply.accept(List.of());
                return Behaviors.stopped();
            }
            ActorRef<RunnerStatus> adapter = ctx.messageAdapter(RunnerStatus.class, Got::new);
            lastKnown.keySet().forEach(r -> r.tell(new RunnerSupervisor.GetStatus(adapter)));
            timers.startSingleTimer(Timeout.INSTANCE, timeout);
            Set<String> answered = new HashSet<>();
            return Behaviors.receive(Command.class)
                    .onMessage(Got.class, g -> {
                        live.put(g.status().runnerId(), complete.apply(g.status()));
                        answered.add(g.status().runnerId());
                        return answered.size() < lastKnown.size() ? Behaviors.same() : done(live.values(), reply);
                    })
                    .onMessageEquals(Timeout.INSTANCE, () -> done(live.values(), reply))
                    .build();
        }));
    }

    private static Behavior<Command> done(Collection<RunnerStatus> statuses, Consumer<List<RunnerStatus>> reply) {
        reply.accept(List.copyOf(statuses));
        return Behaviors.stopped();
    }
}
