package dev.kiln.bench;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The tools Kiln's cost per step is compared with, run over the same DAGs in the same invocation:
 * make and snakemake, each step {@code sh -c true}. Each returns the median wall time in ms, or -1
 * when the tool is not installed.
 */
final class Baselines {
  private Baselines() {}

  /** {@code make -s -j2} over a chain or a fan-out of {@code steps} phony targets. */
  static double make(Path dir, boolean chain, int steps, int repeat) throws Exception {
    StringBuilder mk = new StringBuilder(".PHONY: all");
    for (int i = 0; i < steps; i++) {
      mk.append(" s").append(i);
    }
    mk.append("\nall:");
    if (chain) {
      mk.append(" s").append(steps - 1).append('\n');
    } else {
      for (int i = 0; i < steps; i++) {
        mk.append(" s").append(i);
      }
      mk.append('\n');
    }
    for (int i = 0; i < steps; i++) {
      mk.append('s').append(i).append(':');
      if (chain && i > 0) {
        mk.append(" s").append(i - 1);
      }
      mk.append("\n\t@sh -c true\n");
    }
    Path file = dir.resolve(chain ? "chain.mk" : "fanout.mk");
    Files.writeString(file, mk.toString());
    return timed(repeat, List.of("make", "-s", "-j2", "-f", file.toString()), dir);
  }

  /**
   * {@code snakemake --cores 2 --forceall} over the same DAG; each rule runs {@code sh -c true} and
   * touches its output file (snakemake tracks files, not phony targets).
   */
  static double snakemake(Path dir, boolean chain, int steps, int repeat) throws Exception {
    Path work = Files.createDirectories(dir.resolve(chain ? "smk-chain" : "smk-fanout"));
    StringBuilder smk = new StringBuilder("rule all:\n    input: ");
    if (chain) {
      smk.append("\"s").append(steps - 1).append("\"\n");
    } else {
      smk.append("[");
      for (int i = 0; i < steps; i++) {
        smk.append(i == 0 ? "" : ", ").append("\"s").append(i).append('"');
      }
      smk.append("]\n");
    }
    for (int i = 0; i < steps; i++) {
      smk.append("rule s").append(i).append(":\n");
      if (chain && i > 0) {
        smk.append("    input: \"s").append(i - 1).append("\"\n");
      }
      smk.append("    output: \"s").append(i).append("\"\n");
      smk.append("    shell: \"sh -c true && touch {output}\"\n");
    }
    Files.writeString(work.resolve("Snakefile"), smk.toString());
    return timed(
        repeat, List.of("snakemake", "--cores", "2", "--forceall", "--quiet", "all"), work);
  }

  private static double timed(int repeat, List<String> cmd, Path dir) throws Exception {
    try {
      // The first run is not timed: it reads the tool's own start-up files into the page cache.
      run(cmd, dir);
      return Measure.median(Measure.millis(repeat, () -> run(cmd, dir)));
    } catch (IOException notInstalled) {
      System.out.println(cmd.get(0) + " is not installed: no " + cmd.get(0) + " baseline");
      return -1;
    } catch (IllegalStateException failed) {
      System.out.println(failed.getMessage() + ": no " + cmd.get(0) + " baseline");
      return -1;
    }
  }

  private static void run(List<String> cmd, Path dir) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed in " + dir);
    }
  }
}
