package dev.llmrt.gateway.routing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Watches the runners a gateway sends requests to straight: when one stops (it drained, was
 * unloaded, or its node is gone), the lanes that used it hear of it and send its unanswered
 * requests again through the model's replica.
 */
final class RunnerWatch {
    private RunnerWatch() {}

    /** Run {@code gone} once {@code runner} stops (at once if it already has). Local only. */
    record Watch(ActorRef<?> runner, Runnable gone) {}

    static Behavior<Watch> create() {
        return Behaviors.setup(ctx -> {
            Map<ActorRef<?>, List<Runnable>> watched = new HashMap<>();
            return Behaviors.receive(Watch.class)
                    .onMessage(Watch.class, w -> {
                        watched.computeIfAbsent(w.runner(), r -> {
                            ctx.watch(r);
                            return new ArrayList<>();
                        }).add(w.gone());
                        return Behaviors.same();
                    })
                    .onSignal(Terminated.class, t -> {
                        List<Runnable> gone = watched.remove(t.getRef());
                        if (gone != null) {
                            gone.forEach(Runnable::run);
                        }
                        return Behaviors.same();
                    })
                    .build();
        });
    }
}
