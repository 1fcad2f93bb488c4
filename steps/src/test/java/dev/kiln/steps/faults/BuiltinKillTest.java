package dev.kiln.steps.faults;

import static dev.kiln.workers.Pipelines.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.Sql;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Kiln;
import dev.kiln.workers.Pipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code kiln worker} process SIGKILLed after its built-in steps did their side effects and
 * before their results were recorded: the worker that takes the steps over does not register,
 * promote or start a child run a second time.
 */
class BuiltinKillTest {
  @TempDir Path home;
  @TempDir Path base;
  TestDb.Url url;
  Kiln kiln;
  Engine engine;

  @BeforeEach
  void setUp() {
    url = TestDb.freshUrl();
    kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(), "KILN_DB_URL", url.url(), "KILN_DB_USER", url.user()),
            base);
    engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(url.url(), url.user(), url.password(), 4));
  }

  @AfterEach
  void tearDown() {
    engine.close();
  }

  long count(String sql, Object... args) {
    return engine
        .db()
        .tx()
        .inTransaction(c -> Sql.one(c, sql, rs -> rs.getLong(1), args).orElseThrow());
  }

  @Test
  void aWorkerKilledBetweenEffectAndRecordIsNotRepeatedByTheNext() throws Exception {
    Files.writeString(base.resolve("model.bin"), "weights");
    Files.writeString(base.resolve("child.yaml"), "name: child\nsteps:\n  one: { run: 'true' }\n");
    ArtifactStore.Stored old = engine.artifacts().put(base.resolve("model.bin"));
    engine
        .models()
        .register(
            new ModelRegistry.NewVersion(
                "old",
                old.sha256(),
                old.size(),
                "file",
                null,
                null,
                null,
                Map.of(),
                null,
                "test",
                null));
    Pipeline p =
        PipelineParser.parse(
                base.resolve("effects.yaml").toString(),
                """
                name: effects
                steps:
                  register: { uses: model/register, with: { name: m, artifact: model.bin } }
                  promote: { uses: model/promote, with: { name: old, version: 1, alias: prod } }
                  child: { uses: pipeline/run, with: { pipeline: child.yaml } }
                """)
            .orThrow();
    long run = engine.runs().createRun(p, Map.of(), "manual", base.toString());

    Process first;
    // Holding the run's row lock lets the built-ins do their effects (they do not take it) but
    // stops their results from being recorded (RunService.complete locks the run row first).
    try (Connection lock = engine.db().dataSource().getConnection()) {
      lock.setAutoCommit(false);
      try (PreparedStatement ps =
          lock.prepareStatement("select id from runs where id = ? for no key update")) {
        ps.setLong(1, run);
        ps.executeQuery().close();
      }
      first = kiln.start("worker", "--slots", "4", "--lease", "30s");
      await(
          () ->
              count(
                      "select count(*) from side_effects e join tasks t on t.id = e.task_id"
                          + " where t.run_id = ?",
                      run)
                  == 3,
          Duration.ofSeconds(90),
          "the three side effects");
      assertThat(count("select count(*) from tasks where run_id = ? and status = 'running'", run))
          .isEqualTo(3);
      first.destroyForcibly(); // SIGKILL
      assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
      lock.rollback();
    }
    assertThat(count("select count(*) from model_versions where name = 'm'")).isEqualTo(1);
    long runsAfterEffects = count("select count(*) from runs");

    Process second = kiln.start("worker", "--slots", "4", "--lease", "30s");
    try {
      RunRecord r = Pipelines.awaitEnd(engine, run, Duration.ofSeconds(120));
      assertThat(r.status()).as("%s", engine.store().tasks(run)).isEqualTo(RunStatus.SUCCEEDED);
    } finally {
      second.destroy();
      second.waitFor(30, TimeUnit.SECONDS);
    }
    assertThat(count("select count(*) from model_versions where name = 'm'")).isEqualTo(1);
    assertThat(count("select count(*) from model_alias_events where name = 'old'")).isEqualTo(1);
    assertThat(count("select count(*) from runs")).isEqualTo(runsAfterEffects).isEqualTo(2);
    // Every step ran twice: the first attempt lost with its worker, the second took its result.
    List<String> attempts =
        engine
            .db()
            .tx()
            .inTransaction(
                c ->
                    Sql.query(
                        c,
                        """
                        select t.step_id || ':' || a.attempt || ':' || a.status
                          from task_attempts a join tasks t on t.id = a.task_id
                         where t.run_id = ? order by 1""",
                        rs -> rs.getString(1),
                        run));
    assertThat(attempts)
        .containsExactly(
            "child:1:lost",
            "child:2:succeeded",
            "promote:1:lost",
            "promote:2:succeeded",
            "register:1:lost",
            "register:2:succeeded");
  }
}
