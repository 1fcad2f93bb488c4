package dev.kiln.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.store.MonitorStore;
import dev.kiln.engine.store.Role;
import dev.kiln.engine.testing.Await;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The UI in a real headless Chromium (Debian's chromium and chromedriver; nothing is downloaded):
 * log in, start a run from the form and watch its graph change live, search a step's log, promote a
 * model and see the alias history grow, see the drift chart. Without Chromium the test is skipped,
 * unless KILN_REQUIRE_BROWSER=1 (CI), where that is a failure. With KILN_UI_SCREENSHOTS=DIR each
 * page is saved there as a PNG (docs/ui).
 */
class WebBrowserTest {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path DRIVER = Path.of("/usr/bin/chromedriver");
  @TempDir static Path home;
  static UiServer ui;
  static WebDriver browser;

  @BeforeAll
  static void start() throws Exception {
    if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
      String why =
          "no " + CHROMIUM + " or " + DRIVER + " (apt-get install chromium chromium-driver)";
      if ("1".equals(System.getenv("KILN_REQUIRE_BROWSER"))) {
        fail(why + " and KILN_REQUIRE_BROWSER=1");
      }
      Assumptions.abort(why);
    }
    ui = new UiServer(home, 4, Map.of());
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
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
        "--user-data-dir=" + Files.createDirectories(home.resolve("chromium-profile")));
    ChromeDriverService service =
        new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).build();
    browser = new ChromeDriver(service, options);
    browser.manage().timeouts().implicitlyWait(Duration.ZERO);
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (ui != null) {
      ui.close();
    }
  }

  private static void open(String path) {
    browser.get(ui.base + path);
  }

  private static void signIn(Role role) throws Exception {
    open("/login");
    browser.findElement(By.id("token")).sendKeys(ui.tokens.get(role));
    browser.findElement(By.id("sign-in")).click();
    // The click returns before the answer: wait for it, or the next page opens in the old session.
    Await.until(
        "signed in as " + role.db(),
        Duration.ofSeconds(10),
        () ->
            browser.findElements(By.id("who")).stream()
                .anyMatch(w -> w.getText().contains("ui-" + role.db())));
  }

  private static void shot(String name) throws Exception {
    String dir = System.getenv("KILN_UI_SCREENSHOTS");
    if (dir == null || dir.isEmpty()) {
      return;
    }
    File png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Path target = Path.of(dir).resolve(name + ".png");
    Files.createDirectories(target.getParent());
    Files.copy(png.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
  }

  private static Object js(String script) {
    return ((JavascriptExecutor) browser).executeScript(script);
  }

  @Test
  void anOperatorStartsARunAndWatchesItsGraphAndSearchesALog() throws Exception {
    signIn(Role.ADMIN);
    assertThat(browser.findElement(By.id("who")).getText()).contains("ui-admin");
    shot("login-runs");
    open("/pipelines/hello");
    WebElement pause = browser.findElement(By.name("p.pause"));
    pause.clear();
    pause.sendKeys("2");
    shot("pipeline");
    browser.findElement(By.id("run-start")).click();
    Await.until(
        "the run page",
        Duration.ofSeconds(10),
        () -> browser.getCurrentUrl().matches(".*/runs/\\d+$"));
    js("window.kilnSamePage = true");
    Set<String> seenLive = new HashSet<>();
    Await.until(
        "the graph shows the run finishing, live",
        Duration.ofSeconds(90),
        () -> {
          // One script call reads the node and the marker of the same document: the page
          // reloads itself when the run ends.
          Object state;
          try {
            state =
                js(
                    "var g = document.querySelector(\"g.node[data-step='finish']\");"
                        + " return g ? g.getAttribute('class') + '|'"
                        + " + (window.kilnSamePage === true) : null");
          } catch (WebDriverException navigating) {
            return false; // the page was reloading
          }
          if (state == null) {
            return false;
          }
          String[] parts = state.toString().split("\\|");
          String cls = parts[0];
          if (parts[1].equals("true")) {
            seenLive.add(cls);
          }
          return cls.contains("st-succeeded");
        });
    // The page that was loaded first went through several states: the script recoloured it.
    assertThat(seenLive).hasSizeGreaterThan(1);
    Await.until(
        "the finished run's timeline",
        Duration.ofSeconds(10),
        () -> !browser.findElements(By.cssSelector("svg.gantt")).isEmpty());
    assertThat(browser.findElement(By.id("run-status")).getText()).isEqualTo("succeeded");
    shot("run");

    browser.get(browser.getCurrentUrl() + "?task=greet");
    Await.until(
        "the log loads",
        Duration.ofSeconds(10),
        () -> browser.findElement(By.id("log")).getText().contains("hello, world"));
    browser.findElement(By.id("log-search")).sendKeys("needle");
    browser.findElement(By.id("log-go")).click();
    Await.until(
        "the search finds the line",
        Duration.ofSeconds(10),
        () -> {
          String text = browser.findElement(By.id("log")).getText();
          return text.contains("needle in the log") && !text.contains("hello, world");
        });
    shot("run-log");
  }

  @Test
  void aLiveStepsLogGrowsOnThePageOverServerSentEvents() throws Exception {
    Path gate = home.resolve("follow-gate");
    long run =
        ui.engine
            .runs()
            .createRun(
                PipelineParser.parse(ui.home.resolve("pipelines/follow.yaml")).pipeline(),
                Map.of("gate", gate.toString()),
                "manual",
                ui.home.toString());
    Await.until(
        "the step writes its first line",
        Duration.ofSeconds(60),
        () -> !ui.engine.store().logs(run, "wait").isEmpty());
    signIn(Role.VIEWER);
    open("/runs/" + run + "?task=wait");
    Await.until(
        "the page follows the log",
        Duration.ofSeconds(10),
        () -> {
          List<WebElement> live = browser.findElements(By.id("log-live"));
          return !live.isEmpty() && "true".equals(live.get(0).getAttribute("data-open"));
        });
    assertThat(browser.findElement(By.id("log")).getText())
        .contains("waiting for the gate")
        .doesNotContain("printed after the page loaded");
    js("window.kilnSamePage = true");
    Files.createFile(gate);
    Await.until(
        "the line printed after the page loaded appears",
        Duration.ofSeconds(30),
        () ->
            browser.findElement(By.id("log")).getText().contains("printed after the page loaded"));
    // As text: the HTML in the line is shown, not rendered.
    assertThat(browser.findElement(By.id("log")).getText()).contains("<b>x</b>");
    assertThat(browser.findElements(By.cssSelector("#log b"))).isEmpty();
    Await.until(
        "the stream ends with the step",
        Duration.ofSeconds(30),
        () -> {
          List<WebElement> live = browser.findElements(By.id("log-live"));
          return !live.isEmpty() && "true".equals(live.get(0).getAttribute("data-ended"));
        });
    // The lines came to the page that was loaded first, not to a reloaded one.
    assertThat(js("return window.kilnSamePage === true")).isEqualTo(true);
    shot("run-log-follow");
    Files.createFile(Path.of(gate + ".done"));
    Await.until("the run ends", Duration.ofSeconds(30), () -> ui.engine.store().ended(run));
  }

  @Test
  void anAdminPromotesAModelAndTheAliasHistoryGrows() throws Exception {
    long run =
        ui.engine
            .runs()
            .createRun(
                PipelineParser.parse(ui.home.resolve("pipelines/hello.yaml")).pipeline(),
                Map.of("who", "m", "score", 9L, "pause", 0.0),
                "manual",
                ui.home.toString());
    Await.until("the run ends", Duration.ofSeconds(60), () -> ui.engine.store().ended(run));
    ModelRegistry models = ui.engine.models();
    for (int i = 0; i < 3; i++) {
      models.register(
          new ModelRegistry.NewVersion(
              "churn-ui",
              Integer.toHexString(i).repeat(64).substring(0, 64),
              10,
              "file",
              run,
              "greet",
              "abc123",
              Map.of(),
              i == 0 ? "production" : null,
              "test",
              i == 0 ? "first" : null));
    }
    signIn(Role.ADMIN);
    open("/models/churn-ui");
    int before = browser.findElements(By.cssSelector("#alias-history tr.move")).size();
    browser.findElement(By.id("promote-version")).sendKeys("3");
    browser.findElement(By.id("promote-reason")).sendKeys("beats v1 on accuracy");
    browser.findElement(By.id("promote")).click();
    Await.until(
        "the history has the promotion",
        Duration.ofSeconds(10),
        () -> browser.findElements(By.cssSelector("#alias-history tr.move")).size() == before + 1);
    assertThat(browser.findElement(By.id("alias-history")).getText())
        .contains("beats v1 on accuracy", "ui:ui-admin");
    assertThat(browser.findElement(By.id("alias-production")).getText()).contains("v3");
    Await.until(
        "the metric chart is drawn",
        Duration.ofSeconds(10),
        () -> "true".equals(browser.findElement(By.id("model-chart")).getAttribute("data-drawn")));
    shot("model");
    open("/models");
    shot("models");
  }

  @Test
  void theDriftDashboardDrawsTheStoredReports() throws Exception {
    MonitorStore monitors = new MonitorStore(ui.engine.db());
    double[] shares = {0.0, 0.25, 0.5, 0.75};
    for (double share : shares) {
      monitors.record(
          new MonitorStore.Check(
              "churn-drift",
              "drift",
              null,
              null,
              share >= 0.5,
              share,
              Map.of("share_drifted", share),
              List.of(
                  new MonitorStore.Value("age", "ks", share / 2, 0.01, 0.05, share >= 0.5),
                  new MonitorStore.Value("plan", "chi2", share, 0.2, 0.05, false))));
    }
    signIn(Role.VIEWER);
    open("/monitoring");
    assertThat(browser.findElement(By.id("monitors")).getText()).contains("churn-drift");
    shot("monitoring");
    open("/monitoring/churn-drift");
    Await.until(
        "the drift share chart is drawn",
        Duration.ofSeconds(10),
        () ->
            "true".equals(browser.findElement(By.id("share-chart")).getAttribute("data-drawn"))
                && !browser.findElements(By.cssSelector("#share-chart canvas")).isEmpty());
    assertThat(browser.findElement(By.id("incidents")).getText()).contains("open");
    shot("monitor");
    open("/datasets");
    shot("datasets");
    open("/pipelines");
    shot("pipelines");
  }
}
