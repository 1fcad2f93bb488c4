package dev.kiln.engine.server;

import dev.kiln.dsl.model.Pipeline;
import dev.kiln.dsl.model.Trigger;
import dev.kiln.engine.trigger.InvalidRequest;
import dev.kiln.engine.trigger.RunStarter;
import dev.kiln.engine.trigger.TriggerParams;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.component.file.GenericFile;
import org.apache.camel.component.file.GenericFileFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code files:} triggers as Camel file consumers. A file is taken once it is completely written
 * (the {@code changed} read lock: size and modification time stable for a second). It is then moved
 * to {@code DIR/.kiln/processed/} inside the transaction that creates its run, keyed by path, size
 * and modification time, so a restart never runs it twice; when the run cannot be created it goes
 * to {@code DIR/.kiln/failed/}.
 */
final class FileTriggers {
  private static final Logger log = LoggerFactory.getLogger(FileTriggers.class);

  private final CamelContext camel;
  private final RunStarter starter;
  private final PipelineRegistry registry;
  private final String baseDir;

  FileTriggers(CamelContext camel, RunStarter starter, PipelineRegistry registry, String baseDir) {
    this.camel = camel;
    this.starter = starter;
    this.registry = registry;
    this.baseDir = baseDir;
  }

  /** Replaces the file consumers of a pipeline with those of its current version. */
  synchronized void sync(Pipeline previous, Pipeline current) throws Exception {
    if (previous != null) {
      for (String id : routeIds(previous)) {
        camel.getRouteController().stopRoute(id);
        camel.removeRoute(id);
      }
    }
    List<Trigger.Files> files = current == null ? List.of() : files(current);
    for (int i = 0; i < files.size(); i++) {
      Trigger.Files t = files.get(i);
      Path dir = Path.of(t.dir()).toAbsolutePath().normalize();
      Files.createDirectories(dir.resolve(".kiln/processed"));
      Files.createDirectories(dir.resolve(".kiln/failed"));
      PathMatcher glob = FileSystems.getDefault().getPathMatcher("glob:" + t.glob());
      String filterName = "kiln-files-" + current.name() + "-" + i;
      GenericFileFilter<Object> filter =
          f -> !f.isDirectory() && glob.matches(Path.of(f.getFileNameOnly()));
      camel.getRegistry().bind(filterName, filter);
      String routeId = "files:" + current.name() + ":" + i;
      String name = current.name();
      // noop: this class moves the file itself, inside the run's transaction.
      String uri =
          "file:"
              + dir
              + "?noop=true&idempotent=false&recursive=false"
              + "&filter=#"
              + filterName
              + "&readLock=changed&readLockCheckInterval=1000"
              + "&readLockMinAge=1s&readLockTimeout=600000&readLockLoggingLevel=OFF&delay=250";
      camel.addRoutes(
          new RouteBuilder() {
            @Override
            public void configure() {
              from(uri).routeId(routeId).process(e -> arrived(name, dir, e));
            }
          });
      log.info("watching {} for {} (pipeline {})", dir, t.glob(), name);
    }
  }

  private void arrived(String pipelineName, Path dir, Exchange e) {
    GenericFile<?> f = e.getIn().getBody(GenericFile.class);
    Path src = Path.of(f.getAbsoluteFilePath());
    Pipeline p = registry.pipeline(pipelineName);
    if (p == null || !Files.exists(src)) {
      return;
    }
    long size = f.getFileLength();
    long modified = f.getLastModified();
    Path target = target(dir.resolve(".kiln/processed"), src.getFileName().toString(), modified);
    String key = "file:" + pipelineName + ":" + src + ":" + size + ":" + modified;
    try {
      var params = TriggerParams.forFile(p, target.toString());
      var outcome =
          starter.start(
              new RunStarter.Request(p, params, "files", baseDir, null, key),
              true,
              runId -> Files.move(src, target, StandardCopyOption.ATOMIC_MOVE));
      if (outcome instanceof RunStarter.Outcome.Started s) {
        if (!s.created() && Files.exists(src)) {
          Files.move(src, target, StandardCopyOption.ATOMIC_MOVE);
        }
        log.info("{}: run {} for {}", pipelineName, s.runId(), src);
      } else {
        fail(dir, src, ((RunStarter.Outcome.Skipped) outcome).reason());
      }
    } catch (InvalidRequest | RuntimeException | IOException ex) {
      fail(dir, src, ex.getMessage());
    }
  }

  private static void fail(Path dir, Path src, String why) {
    log.warn("no run for {}: {}", src, why);
    try {
      if (Files.exists(src)) {
        Files.move(
            src,
            target(
                dir.resolve(".kiln/failed"),
                src.getFileName().toString(),
                Files.getLastModifiedTime(src).toMillis()),
            StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException ex) {
      log.error("cannot move {} to .kiln/failed: {}", src, ex.getMessage());
    }
  }

  /** {@code NAME}, or {@code NAME.MTIME} when a file of that name was processed before. */
  private static Path target(Path folder, String name, long modified) {
    Path plain = folder.resolve(name);
    return Files.exists(plain) ? folder.resolve(name + "." + modified) : plain;
  }

  private static List<Trigger.Files> files(Pipeline p) {
    List<Trigger.Files> out = new ArrayList<>();
    p.triggers()
        .forEach(
            t -> {
              if (t instanceof Trigger.Files f) {
                out.add(f);
              }
            });
    return out;
  }

  private static List<String> routeIds(Pipeline p) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < files(p).size(); i++) {
      ids.add("files:" + p.name() + ":" + i);
    }
    return ids;
  }
}
