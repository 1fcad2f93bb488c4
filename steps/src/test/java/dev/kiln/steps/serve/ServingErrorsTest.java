package dev.kiln.steps.serve;

import static dev.kiln.steps.serve.ClientErrors.assertError;
import static dev.kiln.steps.serve.ClientErrors.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.testing.TestDb;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client mistakes against the JVM predict server and a deployment's proxy in front of it, over real
 * HTTP on loopback (the scikit-learn server's: SklearnServingDockerTest).
 */
class ServingErrorsTest {
  @TempDir static Path dir;
  static PredictServer server;
  static Proxy proxy;

  @BeforeAll
  static void start() throws Exception {
    TribuoModel model = TribuoModel.load(TestModels.train(dir, 1));
    ModelInfo info =
        new ModelInfo("bc", 4, "tribuo", "x", "model.tribuo", model.signature(), Map.of());
    server = PredictServer.start(info, model, "127.0.0.1", 0);
    proxy = Proxy.start("127.0.0.1", 0);
    proxy.switchTo(new ServingContainers.Running("in-process", "127.0.0.1", server.port(), 4));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    server.close();
  }

  @Test
  void theServerAnswersEveryClientMistakeClearly() throws Exception {
    ClientErrors.assertClear("http://127.0.0.1:" + server.port(), 4);
  }

  @Test
  void theProxyPassesEveryClientMistakeThroughWithTheServersAnswer() throws Exception {
    ClientErrors.assertClear("http://127.0.0.1:" + proxy.port(), 4);
  }

  @Test
  void noVersionServingOrAServerGoneAreTheProxysOwnAnswers() throws Exception {
    try (Proxy empty = Proxy.start("127.0.0.1", 0)) {
      String base = "http://127.0.0.1:" + empty.port();
      assertError(send(base, "POST", "/predict", null, "{}"), 503, "no version is serving yet");
      int closed;
      try (ServerSocket s = new ServerSocket(0)) {
        closed = s.getLocalPort();
      }
      empty.switchTo(new ServingContainers.Running("gone", "127.0.0.1", closed, 1));
      assertError(
          send(base, "POST", "/predict", null, "{}"), 502, "the serving container did not answer");
    }
  }

  @Test
  void anUnknownModelIsNoDeploymentAndNothingListens() {
    try (Engine engine =
        new Engine(KilnConfig.from(Map.of("KILN_HOME", dir.toString())), TestDb.fresh())) {
      assertThatThrownBy(
              () ->
                  Deployment.open(
                      engine,
                      null,
                      "nope",
                      "production",
                      "127.0.0.1",
                      0,
                      Duration.ofSeconds(1),
                      line -> {}))
          .isInstanceOf(ServeException.class)
          .hasMessage("no model 'nope' (see 'kiln models list')");
      assertThat(new ServingStore(engine.db()).deployments()).isEmpty();
    }
  }
}
