package dev.llmrt.deploy.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load from the bench's own client, where wrk can't go (a Unix socket) or isn't installed: {@code c}
 * threads, each on one keep-alive connection, for a while.
 */
final class Load {
    private Load() {}

    static Wrk.Figures run(RawHttp.Target target, byte[] body, int c, double seconds) throws InterruptedException {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long[][] perThread = new long[c][];
        AtomicLong errors = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < c; i++) {
            int index = i;
            threads.add(new Thread(() -> {
                long[] lat = new long[1024];
                int n = 0;
                try (RawHttp client = new RawHttp(target)) {
                    while (System.nanoTime() < end) {
                        RawHttp.Timing timing = client.post("/v1/chat/completions", body);
                        if (timing.status() != 200) {
                            errors.incrementAndGet();
                            continue;
                        }
                        if (n == lat.length) {
                            lat = Arrays.copyOf(lat, n * 2);
                        }
                        lat[n++] = timing.totalNanos();
                    }
                } catch (Exception e) {
                    errors.incrementAndGet();
                }
                perThread[index] = Arrays.copyOf(lat, n);
            }, "bench-load-" + i));
        }
        long t0 = System.nanoTime();
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long[] all = Arrays.stream(perThread).flatMapToLong(Arrays::stream).sorted().toArray();
        return new Wrk.Figures(all.length / secs, Report.pct(all, 0.5) / 1e6, Report.pct(all, 0.99) / 1e6, errors.get());
    }
}
