package dev.kiln.steps.serve;

import dev.kiln.engine.store.Database;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A Tribuo model served in this process the way a deployment serves it, for {@code kiln bench
 * serve}: the predict server, a deployment's proxy in front of it, and a second proxy that also
 * logs every request to the store (the live traffic log), so each layer's cost can be measured
 * apart.
 */
public final class LocalServing implements AutoCloseable {
  private final TribuoModel model;
  private final PredictServer server;
  private final Proxy proxy;
  private final Proxy logging;
  private final PredictionLog live;

  private LocalServing(
      TribuoModel model, PredictServer server, Proxy proxy, Proxy logging, PredictionLog live) {
    this.model = model;
    this.server = server;
    this.proxy = proxy;
    this.logging = logging;
    this.live = live;
  }

  /** Serves the model file as name@version 1 on loopback; live rows go to db under name@bench. */
  public static LocalServing start(Path tribuoModel, String name, Database db) throws Exception {
    TribuoModel model = TribuoModel.load(tribuoModel);
    ModelInfo info =
        new ModelInfo(
            name, 1, TribuoModel.FLAVOUR, "-", "model.tribuo", model.signature(), Map.of());
    PredictServer server = PredictServer.start(info, model, "127.0.0.1", 0);
    ServingContainers.Running backend =
        new ServingContainers.Running("in-process", "127.0.0.1", server.port(), 1);
    Proxy proxy = Proxy.start("127.0.0.1", 0);
    proxy.switchTo(backend);
    PredictionLog live = new PredictionLog(new ServingStore(db), name, "bench");
    Proxy logging = Proxy.start("127.0.0.1", 0, live.tap());
    logging.switchTo(backend);
    return new LocalServing(model, server, proxy, logging, live);
  }

  /** The model's own predict, without HTTP (the floor); rows must fit its signature. */
  public int predictInProcess(List<Map<String, Object>> rows) {
    return model.predict(rows).predictions().size();
  }

  /** The columns the model takes. */
  public List<String> columns() {
    return model.signature().names();
  }

  public String serverUrl() {
    return "http://127.0.0.1:" + server.port();
  }

  public String proxyUrl() {
    return "http://127.0.0.1:" + proxy.port();
  }

  public String loggingProxyUrl() {
    return "http://127.0.0.1:" + logging.port();
  }

  /** Rows the logging proxy's log wrote, and requests it left out. */
  public long logged() {
    return live.logged();
  }

  public long dropped() {
    return live.dropped();
  }

  @Override
  public void close() {
    logging.close();
    live.close();
    proxy.close();
    server.close();
  }
}
