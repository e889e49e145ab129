package dev.llmrt.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The dashboard in a real headless browser (Debian's chromium, driven by playwright-core): a model
 * loaded while the page is open appears in it without a reload, with its event; the screenshot is
 * saved as target/dashboard.png.
 */
class DashboardTest {
    private static final Path SCRIPT_DIR = Path.of(System.getProperty("user.dir"), "src/test/dashboard");

    @Test
    void aModelLoadedWhileThePageIsOpenAppearsWithoutAReload() throws Exception {
        assertTrue(Files.isExecutable(Path.of("/usr/bin/chromium")),
                "chromium is not installed: run deploy/scripts/setup.sh (it installs Debian's chromium)");
        assertTrue(Files.isDirectory(SCRIPT_DIR.resolve("node_modules/playwright-core")),
                "playwright-core is not installed: run deploy/scripts/setup.sh (npm install in deploy/src/test/dashboard)");
        Path screenshot = Path.of(System.getProperty("user.dir"), "target", "dashboard.png");
        Files.deleteIfExists(screenshot);
        try (InJvmCluster cluster = new InJvmCluster("")) {
            int port = cluster.start("").port();
            Process check = new ProcessBuilder("node", "dashboard-check.mjs", "http://127.0.0.1:" + port, "sim/tiny",
                    screenshot.toString()).directory(SCRIPT_DIR.toFile()).redirectErrorStream(true).start();
            String out = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(check.waitFor(90, TimeUnit.SECONDS), "the browser check did not finish: " + out);
            assertEquals(0, check.exitValue(), out);
            assertTrue(out.contains("appeared live"), out);
        }
        assertTrue(Files.size(screenshot) > 10_000, "a screenshot of the page: " + screenshot);
    }
}
