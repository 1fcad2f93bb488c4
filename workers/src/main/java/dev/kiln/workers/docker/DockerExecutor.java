package dev.kiln.workers.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Volume;
import dev.kiln.engine.spi.ExecutionResult;
import dev.kiln.engine.spi.Executor;
import dev.kiln.engine.spi.Invocation;
import dev.kiln.engine.spi.LogSink;
import dev.kiln.engine.task.Completion.Outcome;
import dev.kiln.engine.task.TaskSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Runs a step's command in a container on the local Docker engine ({@code DOCKER_HOST}): {@code sh
 * -c COMMAND} in the step's image, the attempt's work folder bind-mounted at the same absolute path
 * and used as working directory (so every KILN_* path is valid inside), with the step's env, cpu
 * and memory limits (no swap), network mode and user. Logs are followed line by line; timeout and
 * cancellation kill the container; the container is always removed.
 */
public final class DockerExecutor implements Executor {
  /** Labels on every container Kiln starts; leftovers are found by them. */
  static final String LABEL_TASK = "dev.kiln.task";

  static final String LABEL_ATTEMPT = "dev.kiln.attempt";
  static final String LABEL_STEP = "dev.kiln.step";

  /** The run's work folder: tells apart tasks of different stores (KILN_HOMEs) with equal ids. */
  static final String LABEL_RUN_DIR = "dev.kiln.run-dir";

  /** No registry may be reachable: a pull must give up rather than hold the step. */
  static final Duration PULL_TIMEOUT = Duration.ofSeconds(30);

  /** Most processes a container may hold, so a fork bomb stays inside its step. */
  static final long PIDS_LIMIT = 512;

  /**
   * The system property {@code --allow-host-network} of kiln server, worker and run sets: a step
   * with {@code network: host} shares the host's network, loopback services included.
   */
  public static final String ALLOW_HOST_NETWORK = "kiln.allowHostNetwork";

  private volatile DockerEngine engine;

  @Override
  public String name() {
    return "docker";
  }

  private DockerEngine engine() {
    DockerEngine e = engine;
    if (e == null) {
      synchronized (this) {
        if (engine == null) {
          engine = DockerEngine.fromEnvironment();
        }
        e = engine;
      }
    }
    return e;
  }

  @Override
  public boolean available() {
    return engine().problem() == null;
  }

  /**
   * The same look-up the run makes right after, whose answer is remembered for a few seconds, so
   * the key names the image the container is created from.
   */
  @Override
  public String imageId(TaskSpec spec, LogSink logs) throws InterruptedException {
    DockerEngine docker = engine();
    if (spec.image() == null || docker.problem() != null) {
      return null;
    }
    try {
      return Images.resolve(docker.client(), spec.image(), PULL_TIMEOUT, logs).id();
    } catch (Images.ImageException e) {
      return null;
    } catch (RuntimeException e) {
      docker.invalidate();
      return null;
    }
  }

  @Override
  public ExecutionResult execute(Invocation inv) throws InterruptedException {
    TaskSpec spec = inv.task().spec();
    if (spec.image() == null) {
      return failed("the docker executor needs an image: give the step (or defaults) an 'image'");
    }
    String refused = refused(spec);
    if (refused != null) {
      return failed(refused);
    }
    DockerEngine docker = engine();
    String problem = docker.problem();
    if (problem != null) {
      return failed(
          "the step needs image "
              + spec.image()
              + " but the Docker engine at DOCKER_HOST="
              + docker.host()
              + " is not reachable ("
              + problem
              + "); start Docker, point DOCKER_HOST"
              + " at one, or run with --executor process");
    }
    DockerClient c = docker.client();
    Images.Resolved image;
    try {
      removeLeftovers(c, inv);
      image = Images.resolve(c, spec.image(), PULL_TIMEOUT, inv.logs());
    } catch (Images.ImageException e) {
      return failed(e.getMessage());
    } catch (RuntimeException e) {
      docker.invalidate();
      return failed("docker: " + DockerEngine.oneLine(e));
    }
    String user = spec.user() != null ? spec.user() : image.user();
    try {
      if (!isRoot(user)) {
        openToAll(inv.workDir());
      }
    } catch (IOException e) {
      return failed("cannot make the work folder writable for user " + user + ": " + e.getMessage())
          .withImageDigest(image.digest());
    }
    if (inv.cancellation().isCancelled()) {
      return new ExecutionResult(
          Outcome.CANCELLED, null, inv.cancellation().reason(), image.digest());
    }
    // Auto-removal unless a memory limit is set: an out-of-memory kill shows only on inspection.
    boolean autoRemove = spec.memoryBytes() == null;
    String id = null;
    ContainerRun run = null;
    try {
      var create =
          c.createContainerCmd(image.id())
              .withEntrypoint("sh")
              .withCmd("-c", inv.command())
              .withEnv(env(inv.env()))
              .withWorkingDir(inv.workDir().toString())
              .withLabels(labels(inv))
              .withHostConfig(hostConfig(inv.workDir(), spec).withAutoRemove(autoRemove));
      if (spec.user() != null) {
        create.withUser(spec.user());
      }
      try {
        id = create.exec().getId();
      } catch (NotFoundException gone) {
        // The remembered image was removed since: look it up (or pull it) once more.
        Images.forget(spec.image());
        image = Images.resolve(c, spec.image(), PULL_TIMEOUT, inv.logs());
        id = create.withImage(image.id()).exec().getId();
      }
      run = new ContainerRun(c, id, inv, autoRemove);
      return run.run().withImageDigest(image.digest());
    } catch (InterruptedException e) {
      kill(c, id);
      throw e;
    } catch (Images.ImageException e) {
      return failed(e.getMessage());
    } catch (RuntimeException e) {
      docker.invalidate();
      return failed("docker: " + DockerEngine.oneLine(e)).withImageDigest(image.digest());
    } finally {
      if (id != null && (run == null || !run.gone())) {
        remove(c, id, inv.logs());
      }
    }
  }

  /** Why the step may not run here, or null. */
  static String refused(TaskSpec spec) {
    if ("host".equals(spec.network()) && !Boolean.getBoolean(ALLOW_HOST_NETWORK)) {
      return "network: host is refused: start the server, worker or kiln run with"
          + " --allow-host-network to allow it";
    }
    for (String cap : spec.capabilities()) {
      try {
        Capability.valueOf(cap);
      } catch (IllegalArgumentException e) {
        return "unknown capability '" + cap + "' in capabilities:";
      }
    }
    return null;
  }

  private static HostConfig hostConfig(Path work, TaskSpec spec) {
    List<Bind> binds = new ArrayList<>();
    binds.add(new Bind(work.toString(), new Volume(work.toString())));
    // Read-only, at the same paths, so the step's code and ${{ steps.X.artifacts.Y }} resolve.
    if (spec.pipelineDir() != null && Files.isDirectory(Path.of(spec.pipelineDir()))) {
      binds.add(new Bind(spec.pipelineDir(), new Volume(spec.pipelineDir()), AccessMode.ro));
    }
    for (Map<String, String> artifacts : spec.inputs().values()) {
      for (String stored : artifacts.values()) {
        binds.add(new Bind(stored, new Volume(stored), AccessMode.ro));
      }
    }
    HostConfig hc = HostConfig.newHostConfig().withBinds(binds);
    if (spec.cpus() != null) {
      hc.withNanoCPUs(Math.round(spec.cpus() * 1e9));
    }
    if (spec.memoryBytes() != null) {
      // Swap equal to memory: the container cannot swap, so the limit is a real limit.
      hc.withMemory(spec.memoryBytes()).withMemorySwap(spec.memoryBytes());
    }
    if (spec.network() != null) {
      hc.withNetworkMode(spec.network());
    }
    // Least privilege (docs/security.md): no setuid escalation, no capabilities but the listed.
    hc.withSecurityOpts(List.of("no-new-privileges")).withCapDrop(Capability.ALL);
    hc.withPidsLimit(PIDS_LIMIT);
    if (!spec.capabilities().isEmpty()) {
      hc.withCapAdd(
          spec.capabilities().stream().map(Capability::valueOf).toArray(Capability[]::new));
    }
    return hc;
  }

  private static List<String> env(Map<String, String> env) {
    List<String> out = new ArrayList<>(env.size());
    env.forEach((k, v) -> out.add(k + "=" + v));
    return out;
  }

  private static Map<String, String> labels(Invocation inv) {
    Map<String, String> l = new LinkedHashMap<>();
    l.put(LABEL_TASK, String.valueOf(inv.task().id()));
    l.put(LABEL_ATTEMPT, String.valueOf(inv.task().attempt()));
    l.put(LABEL_STEP, inv.task().stepId());
    l.put(LABEL_RUN_DIR, inv.workDir().getParent().toString());
    return l;
  }

  /**
   * Containers of earlier attempts of this task (their worker died before removing them): the lease
   * reaper has already given the task to us, so they are ours to remove.
   */
  private static void removeLeftovers(DockerClient c, Invocation inv) {
    if (inv.task().attempt() <= 1) {
      return;
    }
    List<Container> old =
        c.listContainersCmd()
            .withShowAll(true)
            .withLabelFilter(
                Map.of(
                    LABEL_TASK,
                    String.valueOf(inv.task().id()),
                    LABEL_RUN_DIR,
                    inv.workDir().getParent().toString()))
            .exec();
    for (Container x : old) {
      if (!String.valueOf(inv.task().attempt()).equals(x.getLabels().get(LABEL_ATTEMPT))) {
        inv.logs()
            .line(
                "system",
                "removing container "
                    + x.getId().substring(0, 12)
                    + " left by attempt "
                    + x.getLabels().get(LABEL_ATTEMPT));
        remove(c, x.getId(), inv.logs());
      }
    }
  }

  static void kill(DockerClient c, String id) {
    if (id == null) {
      return;
    }
    try {
      c.killContainerCmd(id).exec();
    } catch (RuntimeException alreadyStopped) {
      // Not running (exited on its own, or never started): the removal that follows cleans up.
    }
  }

  private static void remove(DockerClient c, String id, LogSink logs) {
    try {
      c.removeContainerCmd(id).withForce(true).withRemoveVolumes(true).exec();
    } catch (NotFoundException gone) {
      // Already removed.
    } catch (RuntimeException e) {
      logs.line(
          "system",
          "could not remove container " + id.substring(0, 12) + ": " + DockerEngine.oneLine(e));
    }
  }

  static boolean isRoot(String user) {
    return user == null
        || user.isBlank()
        || user.equals("root")
        || user.equals("0")
        || user.startsWith("0:")
        || user.startsWith("root:");
  }

  /** A container user other than ours must write outputs, metrics and artifacts. */
  private static void openToAll(Path work) throws IOException {
    try (Stream<Path> all = Files.walk(work)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        Set<PosixFilePermission> perms = EnumSet.copyOf(Files.getPosixFilePermissions(p));
        perms.addAll(
            List.of(
                PosixFilePermission.GROUP_READ,
                PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.OTHERS_READ,
                PosixFilePermission.OTHERS_WRITE));
        if (Files.isDirectory(p) || perms.contains(PosixFilePermission.OWNER_EXECUTE)) {
          perms.addAll(
              List.of(PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_EXECUTE));
        }
        Files.setPosixFilePermissions(p, perms);
      }
    }
  }

  static String bytes(Long n) {
    if (n == null) {
      return "none";
    }
    long mib = 1L << 20;
    long gib = 1L << 30;
    if (n % gib == 0) {
      return n / gib + " GiB";
    }
    if (n % mib == 0) {
      return n / mib + " MiB";
    }
    return n + " bytes";
  }

  private static ExecutionResult failed(String error) {
    return new ExecutionResult(Outcome.FAILED, null, error);
  }
}
