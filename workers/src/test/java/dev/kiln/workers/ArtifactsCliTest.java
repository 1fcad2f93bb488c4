package dev.kiln.workers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** kiln artifacts list|get against a real run's artifacts, as a separate process. */
class ArtifactsCliTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void getCopiesAFileOrFolderArtifactOutAndRefusesUnknownOnesAndExistingTargets() throws Exception {
    TestDb.Url db = TestDb.freshUrl();
    long run;
    try (Engine engine =
            new Engine(
                KilnConfig.from(Map.of("KILN_HOME", home.toString())),
                Database.connect(db.url(), db.user(), db.password(), 6));
        WorkerRuntime.Handle worker =
            WorkerRuntime.load()
                .start(
                    engine,
                    new WorkerRuntime.Options(
                        "w", List.of("default"), 1, Duration.ofSeconds(30), null))) {
      run =
          Pipelines.start(
              engine,
              """
              name: arts
              steps:
                train:
                  run: |
                    echo weights > "$KILN_ARTIFACTS/model.bin"
                    mkdir "$KILN_ARTIFACTS/report" && echo ok > "$KILN_ARTIFACTS/report/a.txt"
              """,
              Map.of());
      assertThat(Pipelines.awaitEnd(engine, run, Duration.ofSeconds(60)).status())
          .isEqualTo(RunStatus.SUCCEEDED);
    }
    Kiln kiln =
        new Kiln(
            Map.of(
                "KILN_HOME", home.toString(),
                "KILN_DB_URL", db.url(),
                "KILN_DB_USER", db.user()),
            dir);
    String id = String.valueOf(run);
    Kiln.Result file = kiln.run("artifacts", "get", id, "train", "model.bin");
    assertThat(file.exit()).as(file.err()).isZero();
    assertThat(Files.readString(dir.resolve("model.bin"))).isEqualTo("weights\n");

    Kiln.Result folder = kiln.run("artifacts", "get", id, "train", "report", "-o", "out/r");
    assertThat(folder.exit()).as(folder.err()).isZero();
    assertThat(Files.readString(dir.resolve("out/r/a.txt"))).isEqualTo("ok\n");

    Kiln.Result exists = kiln.run("artifacts", "get", id, "train", "model.bin");
    assertThat(exists.exit()).isEqualTo(2);
    assertThat(exists.err().strip())
        .isEqualTo("kiln: model.bin exists: choose another path with -o");

    Kiln.Result unknown = kiln.run("artifacts", "get", id, "train", "modle.bin");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err().strip())
        .isEqualTo(
            "kiln: run "
                + id
                + " has no artifact 'modle.bin' of step 'train' (it has [train/model.bin,"
                + " train/report]; see 'kiln artifacts list')");

    Kiln.Result list = kiln.run("artifacts", "list", id);
    assertThat(list.out()).contains("model.bin").contains("report");
  }
}
