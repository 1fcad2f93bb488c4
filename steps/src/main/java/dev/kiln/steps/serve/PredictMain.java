package dev.kiln.steps.serve;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.engine.artifact.ArtifactStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;

/**
 * The entry point of a model image: {@code java -cp ... dev.kiln.steps.serve.PredictMain DIR [PORT
 * [HOST]]} serves the model in DIR ({@value ModelInfo#FILE} beside its artifact) on HOST:PORT
 * (default 0.0.0.0:8080) until the container is stopped. The artifact's sha256 is checked first, so
 * a corrupted image does not serve.
 */
public final class PredictMain {
  /** The line the server prints once it listens; a deployment reads the port from it. */
  static final Pattern LISTENING = Pattern.compile("kiln-predict listening on [^ ]+:(\\d+)");

  private PredictMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 3) {
      System.err.println("usage: PredictMain MODEL_DIR [PORT [HOST]]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 8080;
    String host = args.length > 2 ? args[2] : "0.0.0.0";
    ModelInfo info;
    ServedModel model;
    try {
      info = readInfo(dir);
      model = load(dir, info);
    } catch (IOException e) {
      System.err.println("kiln predict: " + e.getMessage());
      System.exit(2);
      return;
    }
    PredictServer server = PredictServer.start(info, model, host, port);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stop.countDown();
                }));
    System.out.println(
        "serving "
            + info.ref()
            + " ("
            + info.flavour()
            + "); kiln-predict listening on "
            + host
            + ":"
            + server.port());
    stop.await();
  }

  static ModelInfo readInfo(Path dir) throws IOException {
    Path f = dir.resolve(ModelInfo.FILE);
    if (!Files.isRegularFile(f)) {
      throw new IOException("no " + f);
    }
    Map<String, Object> m =
        new ObjectMapper().readValue(f.toFile(), new TypeReference<Map<String, Object>>() {});
    return ModelInfo.fromJson(m);
  }

  /** The model in dir after checking its sha256 against the recorded one. */
  static ServedModel load(Path dir, ModelInfo info) throws IOException {
    Path artifact = dir.resolve(info.artifact());
    if (!Files.isRegularFile(artifact)) {
      throw new IOException("no model artifact " + artifact);
    }
    String sha = ArtifactStore.sha256(artifact);
    if (!sha.equals(info.sha256())) {
      throw new IOException(
          "artifact " + artifact + " has sha256 " + sha + ", the registry says " + info.sha256());
    }
    return Flavours.load(info.flavour(), artifact);
  }
}
