package dev.kiln.bench;

import com.github.dockerjava.api.exception.NotFoundException;
import com.sun.management.OperatingSystemMXBean;
import dev.kiln.engine.Engine;
import dev.kiln.engine.config.ConfigException;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.spi.WorkerRuntime;
import dev.kiln.workers.docker.DockerEngine;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "docker",
    mixinStandardHelpOptions = true,
    description = {
      "Measure Kiln's cost per container step against plain 'docker run'.",
      "Runs a chain of --steps steps, each 'true' in --image, through Kiln",
      "(in-process worker, docker executor), and a shell loop of as many",
      "'docker run --rm IMAGE true'; prints both wall times (median of --repeat,",
      "after a warm-up of both) and their ratio. Needs a Docker engine",
      "(DOCKER_HOST), the docker CLI and the image (deploy/images/build.sh).",
      "Results are recorded in docs/benchmarks.md."
    })
final class DockerBench implements Callable<Integer> {
  @Option(
      names = "--steps",
      defaultValue = "20",
      description = "steps in the chain and runs in the loop (default ${DEFAULT-VALUE})")
  int steps;

  @Option(
      names = "--repeat",
      defaultValue = "3",
      description = "measurements of each; the median is reported (default ${DEFAULT-VALUE})")
  int repeat;

  @Option(
      names = "--image",
      defaultValue = "kiln/busybox:1",
      description = "image to run 'true' in (default ${DEFAULT-VALUE})")
  String image;

  @Override
  public Integer call() throws Exception {
    if (steps < 1 || repeat < 1) {
      throw new ConfigException("--steps and --repeat must be at least 1");
    }
    if (!image.matches("[A-Za-z0-9][A-Za-z0-9._/:@-]*")) {
      throw new ConfigException("--image '" + image + "' is not an image reference");
    }
    DockerEngine docker = DockerEngine.fromEnvironment();
    String problem = docker.problem();
    if (problem != null) {
      throw new ConfigException(
          "the Docker engine at DOCKER_HOST=" + docker.host() + " is not reachable: " + problem);
    }
    try {
      docker.client().inspectImageCmd(image).exec();
    } catch (NotFoundException e) {
      throw new ConfigException(
          "image " + image + " is missing; build it with deploy/images/build.sh");
    }
    var chain = BenchRuns.parse(chainYaml(steps));
    var warmup = BenchRuns.parse(chainYaml(5));
    List<Double> kiln = new ArrayList<>();
    List<Double> loop = new ArrayList<>();
    List<Double> cpu = new ArrayList<>();
    var os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (Engine engine = Engine.open(KilnConfig.fromEnvironment(), 6)) {
      WorkerRuntime.Handle worker =
          WorkerRuntime.load()
              .start(
                  engine,
                  new WorkerRuntime.Options(
                      "bench-docker-" + ManagementFactory.getRuntimeMXBean().getName(),
                      List.of("default"),
                      1,
                      Duration.ofSeconds(30),
                      null));
      try {
        BenchRuns.runToEnd(engine, warmup);
        loopMillis(3);
        // Interleaved, so a slow phase of the machine hits both sides alike.
        for (int i = 0; i < repeat; i++) {
          long cpu0 = os.getProcessCpuTime();
          kiln.add(BenchRuns.runToEnd(engine, chain).millis());
          cpu.add((os.getProcessCpuTime() - cpu0) / 1e6);
          loop.add(loopMillis(steps));
        }
      } finally {
        worker.close();
      }
    }
    double k = Measure.median(kiln);
    double l = Measure.median(loop);
    double kBest = Measure.min(kiln);
    double lBest = Measure.min(loop);
    System.out.printf(
        "kiln chain of %d container steps:     %8.0f ms  (%.0f ms/step; best %.0f ms)%n",
        steps, k, k / steps, kBest);
    System.out.printf(
        "shell loop of %d 'docker run --rm':   %8.0f ms  (%.0f ms/run; best %.0f ms)%n",
        steps, l, l / steps, lBest);
    System.out.printf(
        "kiln JVM cpu during the chain:        %8.0f ms  (%.1f ms/step)%n",
        Measure.median(cpu), Measure.median(cpu) / steps);
    System.out.printf(
        "ratio kiln/loop: %s (median of %d; best-to-best %s; target at most 1.15)%n",
        Measure.ratio(k, l), repeat, Measure.ratio(kBest, lBest));
    return 0;
  }

  private String chainYaml(int n) {
    return BenchRuns.chainYaml("bench-docker", n, image);
  }

  private double loopMillis(int n) throws Exception {
    return Measure.millis(() -> loop(n));
  }

  private void loop(int n) throws Exception {
    Process p =
        new ProcessBuilder(
                "sh",
                "-c",
                "i=0; while [ $i -lt "
                    + n
                    + " ]; do docker run --rm \"$0\" true || exit 1; i=$((i+1)); done",
                image)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    if (p.waitFor() != 0) {
      throw new ConfigException("the 'docker run' loop failed (is the docker CLI installed?)");
    }
  }
}
