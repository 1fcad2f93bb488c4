package dev.kiln.deploy;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.StreamType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Containers on one user-defined Docker network made for a test: each is a host of its own (own
 * network namespace, own file system), reachable from the others by its name and from the test by
 * its address on the network. Closing removes every container, the network and the images it built,
 * after saving each container's log under {@code logs}.
 */
final class Hosts implements AutoCloseable {
  private final DockerClient docker;
  private final String network;
  private final Path logs;
  private final Map<String, String> ids = new LinkedHashMap<>();
  private final List<String> images = new ArrayList<>();

  Hosts(DockerClient docker, String network, Path logs) throws IOException {
    this.docker = docker;
    this.network = network;
    this.logs = Files.createDirectories(logs);
    docker.createNetworkCmd().withName(network).withDriver("bridge").exec();
  }

  /** Builds {@code tag} from the folder {@code context} (a Dockerfile and what it copies). */
  void build(String tag, Path context) {
    KilnImages.build(docker, tag, context);
    images.add(tag);
  }

  /**
   * Starts host {@code name} from {@code image} with {@code env} and arguments {@code args}, after
   * copying each of {@code files} (host file to container folder) into it.
   */
  void start(
      String name,
      String image,
      Map<String, String> env,
      List<String> args,
      Map<Path, String> files) {
    String id =
        docker
            .createContainerCmd(image)
            .withName(network + "-" + name)
            .withHostName(name)
            .withAliases(name)
            .withEnv(env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList())
            .withCmd(args)
            .withHostConfig(HostConfig.newHostConfig().withNetworkMode(network))
            .exec()
            .getId();
    ids.put(name, id);
    files.forEach(
        (file, folder) ->
            docker
                .copyArchiveToContainerCmd(id)
                .withHostResource(file.toString())
                .withRemotePath(folder)
                .exec());
    docker.startContainerCmd(id).exec();
  }

  /** The address of host {@code name} on the network. */
  String ip(String name) {
    return docker
        .inspectContainerCmd(id(name))
        .exec()
        .getNetworkSettings()
        .getNetworks()
        .get(network)
        .getIpAddress();
  }

  /** Runs {@code command} in host {@code name}; its standard output, or an error with both. */
  String exec(String name, String... command) throws InterruptedException {
    String exec =
        docker
            .execCreateCmd(id(name))
            .withCmd(command)
            .withAttachStdout(true)
            .withAttachStderr(true)
            .exec()
            .getId();
    StringBuilder out = new StringBuilder();
    StringBuilder err = new StringBuilder();
    docker
        .execStartCmd(exec)
        .exec(
            new ResultCallback.Adapter<Frame>() {
              @Override
              public void onNext(Frame f) {
                String text = new String(f.getPayload(), StandardCharsets.UTF_8);
                (f.getStreamType() == StreamType.STDERR ? err : out).append(text);
              }
            })
        .awaitCompletion(2, TimeUnit.MINUTES);
    Long code = docker.inspectExecCmd(exec).exec().getExitCodeLong();
    if (code == null || code != 0) {
      throw new IllegalStateException(
          String.join(" ", command) + " in " + name + " exited " + code + ": " + err + out);
    }
    return out.toString();
  }

  /** SIGKILLs host {@code name}'s first process: the host is gone, with what it held. */
  void kill(String name) {
    docker.killContainerCmd(id(name)).exec();
  }

  boolean running(String name) {
    return Boolean.TRUE.equals(docker.inspectContainerCmd(id(name)).exec().getState().getRunning());
  }

  private String id(String name) {
    String id = ids.get(name);
    if (id == null) {
      throw new IllegalArgumentException("no host " + name + " among " + ids.keySet());
    }
    return id;
  }

  @Override
  public void close() throws Exception {
    for (Map.Entry<String, String> e : ids.entrySet()) {
      saveLog(e.getKey(), e.getValue());
      docker.removeContainerCmd(e.getValue()).withForce(true).withRemoveVolumes(true).exec();
    }
    docker.removeNetworkCmd(network).exec();
    for (String image : images) {
      docker.removeImageCmd(image).withForce(true).exec();
    }
  }

  private void saveLog(String name, String id) throws Exception {
    StringBuilder log = new StringBuilder();
    docker
        .logContainerCmd(id)
        .withStdOut(true)
        .withStdErr(true)
        .withTail(500)
        .exec(
            new ResultCallback.Adapter<Frame>() {
              @Override
              public void onNext(Frame f) {
                log.append(new String(f.getPayload(), StandardCharsets.UTF_8));
              }
            })
        .awaitCompletion(30, TimeUnit.SECONDS);
    Files.writeString(logs.resolve(name + ".log"), log);
  }
}
