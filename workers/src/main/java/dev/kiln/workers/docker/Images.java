package dev.kiln.workers.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.command.PullImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import dev.kiln.engine.spi.LogSink;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Finds a step's image locally, pulling it (bounded in time) when it is missing. A found image is
 * remembered for {@link #REMEMBER} so a chain of steps in one image asks the engine once; the
 * container is created from the remembered id, so the recorded digest is always what ran.
 */
final class Images {
  static final Duration REMEMBER = Duration.ofSeconds(5);
  private static final ConcurrentHashMap<String, Remembered> FOUND = new ConcurrentHashMap<>();

  private record Remembered(Resolved image, long at) {}

  private Images() {}

  /**
   * @param id the image id the container is created from (so what ran is what was recorded)
   * @param digest for lineage: the repository digest if the image has one, else its id
   * @param user the image's default user, or null
   */
  record Resolved(String id, String digest, String user) {}

  /** The image cannot be had; the message is the step's one-line error. */
  static final class ImageException extends Exception {
    ImageException(String message) {
      super(message);
    }
  }

  static Resolved resolve(DockerClient c, String image, Duration pullTimeout, LogSink logs)
      throws ImageException, InterruptedException {
    Remembered r = FOUND.get(image);
    if (r != null && System.nanoTime() - r.at() < REMEMBER.toNanos()) {
      return r.image();
    }
    Resolved resolved = lookUp(c, image, pullTimeout, logs);
    FOUND.put(image, new Remembered(resolved, System.nanoTime()));
    return resolved;
  }

  static void forget(String image) {
    FOUND.remove(image);
  }

  private static Resolved lookUp(DockerClient c, String image, Duration pullTimeout, LogSink logs)
      throws ImageException, InterruptedException {
    InspectImageResponse found = inspect(c, image);
    if (found == null) {
      logs.line("system", "image " + image + " not found locally; pulling it");
      String why = pull(c, image, pullTimeout);
      found = why == null ? inspect(c, image) : null;
      if (found == null) {
        throw new ImageException(
            "image "
                + image
                + " not found locally and could not be pulled ("
                + (why == null ? "the pull ended without it" : why)
                + "); "
                + howToBuild(image));
      }
    }
    List<String> repoDigests = found.getRepoDigests();
    String digest =
        repoDigests != null && !repoDigests.isEmpty() ? repoDigests.get(0) : found.getId();
    String user = found.getConfig() == null ? null : found.getConfig().getUser();
    return new Resolved(found.getId(), digest, user == null || user.isBlank() ? null : user);
  }

  /** Kiln's own images are built from deploy/images; any other the user builds or loads. */
  static String howToBuild(String image) {
    String dir = KILN_IMAGES.get(image);
    if (dir != null) {
      return "build it with deploy/images/build.sh"
          + (dir.equals("all") ? " all" : "")
          + " (or deploy/images/"
          + image.substring("kiln/".length(), image.indexOf(':'))
          + "/build.sh "
          + image
          + ")";
    }
    return "build it here (docker build -t " + image + " DIR) or load it (docker load -i FILE)";
  }

  /** The images deploy/images/build.sh makes, and whether they need its 'all' argument. */
  private static final Map<String, String> KILN_IMAGES =
      Map.of(
          "kiln/busybox:1", "",
          "kiln/python-ml:1", "",
          "kiln/jre:1", "",
          "kiln/kiln:1", "all",
          "kiln/postgres:1", "all",
          "kiln/s3proxy:1", "all");

  private static InspectImageResponse inspect(DockerClient c, String image) {
    try {
      return c.inspectImageCmd(image).exec();
    } catch (NotFoundException e) {
      return null;
    }
  }

  /** Null when the pull finished, else why it did not (including running out of time). */
  private static String pull(DockerClient c, String image, Duration timeout)
      throws InterruptedException {
    QuietPull cb = new QuietPull();
    try (cb) {
      c.pullImageCmd(image).exec(cb);
      if (!cb.awaitCompletion(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        return "no answer within " + timeout.toSeconds() + "s";
      }
      return cb.error == null ? null : DockerEngine.oneLine(cb.error);
    } catch (IOException | RuntimeException e) {
      return DockerEngine.oneLine(e);
    }
  }

  /**
   * Keeps the pull's error for the step's message instead of logging it with a stack trace (the
   * template's default): a missing image is the user's mistake, not the engine's.
   */
  private static final class QuietPull extends PullImageResultCallback {
    private volatile Throwable error;

    @Override
    public void onError(Throwable t) {
      error = t;
      try {
        close();
      } catch (IOException e) {
        error.addSuppressed(e);
      }
    }
  }
}
