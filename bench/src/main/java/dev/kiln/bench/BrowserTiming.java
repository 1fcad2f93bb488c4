package dev.kiln.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * A page's render time in a real headless Chromium driven through Selenium, read from the browser's
 * own clocks (Navigation Timing and Paint Timing): first byte, DOM content loaded, load event end
 * and first contentful paint, each from the start of the navigation. The session is made by the
 * login form, as a person signs in.
 */
final class BrowserTiming {
  private static final String READ =
      "var n = performance.getEntriesByType('navigation')[0];"
          + " var p = performance.getEntriesByName('first-contentful-paint')[0];"
          + " return {ttfb: n.responseStart, dcl: n.domContentLoadedEventEnd,"
          + " load: n.loadEventEnd, fcp: p ? p.startTime : -1, bytes: n.transferSize};";

  private BrowserTiming() {}

  static void report(
      Path chromium, Path driver, String base, String token, String url, String what, int rounds)
      throws Exception {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(chromium.toFile());
    Path profile = Files.createTempDirectory("kiln-bench-chromium");
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        "--user-data-dir=" + profile);
    ChromeDriverService service =
        new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile()).build();
    WebDriver browser = new ChromeDriver(service, options);
    try {
      browser.manage().timeouts().pageLoadTimeout(Duration.ofMinutes(2));
      browser.get(base + "/login");
      browser.findElement(By.id("token")).sendKeys(token);
      browser.findElement(By.id("sign-in")).click();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (browser.findElements(By.id("who")).isEmpty()) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the browser could not sign in");
        }
        Thread.onSpinWait();
      }
      List<Double> ttfb = new ArrayList<>();
      List<Double> dcl = new ArrayList<>();
      List<Double> load = new ArrayList<>();
      List<Double> fcp = new ArrayList<>();
      long bytes = 0;
      for (int i = 0; i < rounds + 1; i++) {
        browser.get(url); // returns once the load event has fired
        @SuppressWarnings("unchecked")
        Map<String, Object> t =
            (Map<String, Object>) ((JavascriptExecutor) browser).executeScript(READ);
        if (i == 0) {
          continue; // warm-up: the browser's caches of the scripts and styles
        }
        ttfb.add(number(t.get("ttfb")));
        dcl.add(number(t.get("dcl")));
        load.add(number(t.get("load")));
        fcp.add(number(t.get("fcp")));
        bytes = (long) number(t.get("bytes"));
      }
      System.out.printf(
          "%-52s first byte %7.1f ms, DOM loaded %7.1f ms, load %7.1f ms (p90 %.1f),"
              + " first contentful paint %7.1f ms (medians of %d), %d KiB%n",
          what,
          Measure.median(ttfb),
          Measure.median(dcl),
          Measure.median(load),
          Measure.percentile(load, 90),
          Measure.median(fcp),
          rounds,
          bytes / 1024);
    } finally {
      browser.quit();
      try (Stream<Path> all = Files.walk(profile)) {
        for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static double number(Object o) {
    return o instanceof Number n ? n.doubleValue() : -1;
  }
}
