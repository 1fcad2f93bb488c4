package dev.kiln.bench;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.parse.PipelineParser;
import dev.kiln.engine.Engine;
import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.RunRecord;
import dev.kiln.engine.store.TaskRecord;
import dev.kiln.engine.task.RunStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kiln bench registry}: dataset/version of a generated file against sha256sum of the same
 * file, and the latency of looking up the version under an alias. Its artifacts go to a scratch
 * KILN_HOME that is removed afterwards; its runs, data set and model stay in the database under the
 * name bench-registry.
 */
@Command(
    name = "registry",
    mixinStandardHelpOptions = true,
    description = {
      "Measure dataset/version against sha256sum, and alias lookups.",
      "'uses: dataset/version' of a generated file against 'sha256sum' of the same file",
      "(same invocation), and the median and p99 latency of looking up the model version",
      "under an alias. See docs/benchmarks.md."
    })
final class RegistryBench implements Callable<Integer> {
  @Option(
      names = "--mib",
      defaultValue = "1024",
      description = "size of the generated file in MiB (default ${DEFAULT-VALUE})")
  int mib;

  @Option(
      names = "--rounds",
      defaultValue = "3",
      description = "timed rounds of each; medians are reported (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(
      names = "--lookups",
      defaultValue = "10000",
      description = "alias lookups timed (default ${DEFAULT-VALUE})")
  int lookups;

  @Override
  public Integer call() throws Exception {
    if (mib < 1 || lookups < 1 || rounds < 1) {
      System.err.println("kiln: --mib, --rounds and --lookups must be at least 1");
      return 2;
    }
    KilnConfig config = KilnConfig.fromEnvironment();
    Path scratch =
        Files.createTempDirectory(
            config.home().getParent() == null
                ? Path.of(System.getProperty("java.io.tmpdir"))
                : ensure(config.home()),
            "bench-registry-");
    KilnConfig benchConfig =
        new KilnConfig(scratch, config.dbUrl(), config.dbUser(), config.dbPassword());
    try (Engine engine = new Engine(benchConfig, Database.open(config, 6))) {
      Path file = scratch.resolve("data.bin");
      long t0 = System.nanoTime();
      generate(file, (long) mib << 20);
      System.out.printf(
          Locale.ROOT, "generated %d MiB in %.2fs: %s%n", mib, Measure.secondsSince(t0), file);

      // Interleaved rounds, medians: the machine is shared, so a single pair would mostly measure
      // its neighbours. The stored copy is removed between rounds so every round stores it anew.
      double[] sums = new double[rounds];
      double[] kilns = new double[rounds];
      double[] steps = new double[rounds];
      for (int i = 0; i < rounds; i++) {
        Timed sum = sha256sum(file);
        Timed kiln = datasetVersion(engine, file);
        if (!kiln.sha().equals(sum.sha())) {
          System.err.println(
              "kiln: sha256 differs: sha256sum " + sum.sha() + ", kiln " + kiln.sha());
          return 3;
        }
        Files.deleteIfExists(engine.artifacts().path(kiln.sha()));
        sums[i] = sum.seconds();
        kilns[i] = kiln.seconds();
        steps[i] = kiln.stepSeconds();
        System.out.printf(
            Locale.ROOT,
            "round %d: sha256sum %.3fs, dataset/version %.3fs (step %.3fs)%n",
            i + 1,
            sum.seconds(),
            kiln.seconds(),
            kiln.stepSeconds());
      }
      double sum = Measure.median(sums);
      double kiln = Measure.median(kilns);
      System.out.printf(
          Locale.ROOT, "sha256sum          median %.3fs  %.0f MiB/s%n", sum, mib / sum);
      System.out.printf(
          Locale.ROOT,
          "dataset/version    median %.3fs  %.0f MiB/s (whole run; the step itself %.3fs)%n",
          kiln,
          mib / kiln,
          Measure.median(steps));
      System.out.println("speed vs sha256sum " + Measure.ratio(sum, kiln) + "x (target >= 0.80)");

      lookupLatency(engine, scratch);
      return 0;
    } finally {
      ArtifactStore.deleteTree(scratch);
    }
  }

  record Timed(double seconds, double stepSeconds, String sha) {}

  private static Path ensure(Path dir) throws IOException {
    Files.createDirectories(dir);
    return dir;
  }

  private static void generate(Path file, long bytes) throws IOException {
    SplittableRandom rnd = new SplittableRandom(System.nanoTime());
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      for (long written = 0; written < bytes; written += buf.capacity()) {
        buf.clear();
        while (buf.remaining() >= 8) {
          buf.putLong(rnd.nextLong());
        }
        buf.flip();
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
    }
  }

  private static Timed sha256sum(Path file) throws Exception {
    long t0 = System.nanoTime();
    Process p =
        new ProcessBuilder("sha256sum", file.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
      throw new IllegalStateException("sha256sum failed");
    }
    double s = Measure.secondsSince(t0);
    return new Timed(s, s, out.split("\\s+")[0]);
  }

  private static Timed datasetVersion(Engine engine, Path file) throws Exception {
    Pipeline p =
        PipelineParser.parse(
                "bench-registry.yaml",
                """
        name: bench-registry
        steps:
          snapshot:
            uses: dataset/version
            with: { name: bench-registry, path: "%s" }
        """
                    .formatted(file.toString().replace("\"", "\\\"")))
            .orThrow();
    try (WorkerRuntime.Handle worker =
        WorkerRuntime.load()
            .start(
                engine,
                new WorkerRuntime.Options(
                    "bench-registry", List.of("default"), 1, Duration.ofMinutes(5), null))) {
      long t0 = System.nanoTime();
      long run = engine.runs().createRun(p, Map.of(), "bench", file.getParent().toString());
      RunRecord r = awaitEnd(engine, run);
      double s = Measure.secondsSince(t0);
      TaskRecord t = engine.store().tasks(run).get(0);
      if (r.status() != RunStatus.SUCCEEDED) {
        throw new IllegalStateException("the dataset/version run failed: " + t.error());
      }
      double step = Duration.between(t.startedAt(), t.finishedAt()).toNanos() / 1e9;
      return new Timed(s, step, t.outputs().get("sha256"));
    }
  }

  private static RunRecord awaitEnd(Engine engine, long run) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (engine.store().ended(run)) {
        return engine.store().run(run).orElseThrow();
      }
      Thread.sleep(5);
    }
    throw new IllegalStateException("the dataset/version run did not end within 10 minutes");
  }

  private void lookupLatency(Engine engine, Path scratch) throws Exception {
    Path model = scratch.resolve("model.bin");
    Files.writeString(model, "bench model " + System.nanoTime());
    ArtifactStore.Stored s = engine.artifacts().put(model);
    ModelRegistry registry = engine.models();
    for (int i = 0; i < 3; i++) {
      registry.register(
          ModelRegistry.NewVersion.ofFile(
              s, "bench-registry", i == 1 ? "production" : null, "bench", "bench-registry"));
    }
    for (int i = 0; i < Math.min(1000, lookups); i++) {
      registry.lookup("bench-registry", "production").orElseThrow();
    }
    List<Double> ms =
        Measure.millis(
            lookups, () -> registry.lookup("bench-registry", "production").orElseThrow());
    System.out.printf(
        Locale.ROOT,
        "alias lookup       median %.3f ms, p99 %.3f ms, max %.3f ms over %d lookups%n",
        Measure.median(ms),
        Measure.percentile(ms, 99),
        Measure.percentile(ms, 100),
        lookups);
  }
}
