package dev.kiln.steps.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import dev.kiln.engine.task.StepStatus;
import dev.kiln.engine.testing.TestDb;
import dev.kiln.workers.Kiln;
import dev.kiln.workers.Pipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code kiln run} works only on its own run, and on the runs its {@code pipeline/run} steps
 * start: a child it waits for is run by it (before, it stayed queued and the parent waited for
 * ever), while another run on the same queue is left alone.
 */
class ChildRunUnderKilnRunTest {
  @TempDir Path home;
  @TempDir Path dir;

  @Test
  void kilnRunRunsTheChildRunItsPipelineRunStepWaitsForAndNoOtherRun() throws Exception {
    Files.writeString(
        dir.resolve("child.yaml"),
        """
        name: child
        steps:
          work:
            run: echo "made=yes" >> "$KILN_OUTPUTS"
        """);
    Files.writeString(
        dir.resolve("parent.yaml"),
        """
        name: parent
        steps:
          start:
            uses: pipeline/run
            with: { pipeline: child.yaml, wait: true }
          after:
            needs: [start]
            run: echo "child=${{ steps.start.outputs.status }}" >> "$KILN_OUTPUTS"
        """);
    TestDb.Url db = TestDb.freshUrl();
    try (Engine engine =
        new Engine(
            KilnConfig.from(Map.of("KILN_HOME", home.toString())),
            Database.connect(db.url(), db.user(), db.password(), 4))) {
      long other =
          Pipelines.start(
              engine, "name: other\nsteps:\n  idle:\n    run: echo not yours\n", Map.of());
      Kiln kiln =
          new Kiln(
              Map.of(
                  "KILN_HOME", home.toString(),
                  "KILN_DB_URL", db.url(),
                  "KILN_DB_USER", db.user()),
              dir);
      Kiln.Result r = kiln.run("run", "parent.yaml");
      assertThat(r.exit()).as(r.out() + r.err()).isZero();

      List<RunRecord> runs = engine.store().runs("child", 10);
      assertThat(runs).hasSize(1);
      assertThat(runs.get(0).status()).isEqualTo(RunStatus.SUCCEEDED);
      assertThat(Pipelines.task(engine, runs.get(0).id(), "work").outputs())
          .containsEntry("made", "yes");
      RunRecord parent = engine.store().runs("parent", 10).get(0);
      assertThat(Pipelines.task(engine, parent.id(), "after").outputs())
          .containsEntry("child", "succeeded");

      assertThat(engine.store().tasks(other))
          .extracting(TaskRecord::status)
          .containsExactly(StepStatus.QUEUED);
    }
  }
}
