package dev.kiln.steps.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.engine.util.DaemonThreads;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Live traffic to the store, off the request path: the proxy hands each answered {@code /predict}
 * (request and response bodies as received) to {@link #offer}, which only queues it; one writer
 * thread parses the bodies and writes the rows in batches (every {@value #FLUSH_MILLIS} ms or
 * {@value #BATCH_REQUESTS} requests). The queue is bounded by requests and by bytes: when the store
 * is slower than the traffic, requests are dropped from the log (counted, and said in the log every
 * minute), never delayed.
 */
final class PredictionLog implements AutoCloseable {
  static final int MAX_REQUESTS = 10_000;
  static final long MAX_BYTES = 64L * 1024 * 1024;
  static final int BATCH_REQUESTS = 500;
  static final long FLUSH_MILLIS = 200;
  private static final Logger log = LoggerFactory.getLogger(PredictionLog.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One answered request, as the proxy saw it. */
  record Served(int version, String requestId, Instant at, byte[] request, byte[] response) {}

  private final ServingStore store;
  private final String name;
  private final String alias;
  private final BlockingQueue<Served> queue;
  private final long maxBytes;
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicLong logged = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final Thread writer;
  private volatile boolean closing;

  PredictionLog(ServingStore store, String name, String alias) {
    this(store, name, alias, MAX_REQUESTS, MAX_BYTES);
  }

  PredictionLog(ServingStore store, String name, String alias, int maxRequests, long maxBytes) {
    this.queue = new ArrayBlockingQueue<>(maxRequests);
    this.maxBytes = maxBytes;
    this.store = store;
    this.name = name;
    this.alias = alias;
    this.writer = DaemonThreads.start("kiln-prediction-log-" + name + "@" + alias, this::write);
  }

  /** Queues a request for the log; false (and counted) when the queue is full. Never blocks. */
  boolean offer(Served s) {
    long size = s.request().length + (long) s.response().length;
    if (closing || queuedBytes.addAndGet(size) > maxBytes || !queue.offer(s)) {
      queuedBytes.addAndGet(-size);
      dropped.incrementAndGet();
      return false;
    }
    return true;
  }

  /** What the proxy calls: each answered predict request queued with its time. */
  Proxy.Tap tap() {
    return (b, id, request, response) ->
        offer(
            new Served(
                b.container.version(), id, Instant.now(), request.getBytes(), response.getBytes()));
  }

  /** Rows written so far. */
  long logged() {
    return logged.get();
  }

  /** Requests left out of the log so far (queue full, unreadable body, store refused). */
  long dropped() {
    return dropped.get();
  }

  private void write() {
    List<Served> batch = new ArrayList<>();
    long lastReport = System.nanoTime();
    long reportedDropped = 0;
    while (!closing || !queue.isEmpty()) {
      try {
        Served first = queue.poll(FLUSH_MILLIS, TimeUnit.MILLISECONDS);
        if (first != null) {
          batch.add(first);
          queue.drainTo(batch, BATCH_REQUESTS - 1);
          flush(batch);
          batch.clear();
        }
      } catch (InterruptedException e) {
        closing = true;
      }
      if (System.nanoTime() - lastReport > Duration.ofMinutes(1).toNanos()) {
        long d = dropped.get();
        if (d > reportedDropped) {
          log.warn("{}@{}: {} requests left out of the live log so far", name, alias, d);
          reportedDropped = d;
        }
        lastReport = System.nanoTime();
      }
    }
  }

  private void flush(List<Served> batch) {
    List<ServingStore.Logged> rows = new ArrayList<>();
    long bytes = 0;
    for (Served s : batch) {
      bytes += s.request().length + (long) s.response().length;
      try {
        rows.addAll(rows(s));
      } catch (IOException | ClassCastException e) {
        dropped.incrementAndGet();
      }
    }
    queuedBytes.addAndGet(-bytes);
    try {
      store.logPredictions(rows);
      logged.addAndGet(rows.size());
    } catch (RuntimeException e) {
      dropped.addAndGet(batch.size());
      log.warn("{}@{}: {} requests not logged: {}", name, alias, batch.size(), e.toString());
    }
  }

  @SuppressWarnings("unchecked")
  private List<ServingStore.Logged> rows(Served s) throws IOException {
    List<Map<String, Object>> in =
        (List<Map<String, Object>>) JSON.readValue(s.request(), Map.class).get("rows");
    Map<String, Object> out = JSON.readValue(s.response(), Map.class);
    List<Object> predictions = (List<Object>) out.get("predictions");
    List<Map<String, Object>> probabilities = (List<Map<String, Object>>) out.get("probabilities");
    List<ServingStore.Logged> rows = new ArrayList<>(in.size());
    for (int i = 0; i < in.size(); i++) {
      Map<String, Double> p = null;
      if (probabilities != null && i < probabilities.size()) {
        p = new LinkedHashMap<>();
        for (var e : probabilities.get(i).entrySet()) {
          p.put(e.getKey(), ((Number) e.getValue()).doubleValue());
        }
      }
      rows.add(
          new ServingStore.Logged(
              name,
              alias,
              s.version(),
              s.requestId(),
              i,
              in.size(),
              in.get(i),
              predictions != null && i < predictions.size() ? predictions.get(i) : null,
              p,
              s.at()));
    }
    return rows;
  }

  /** Writes what is queued (up to 10 s), then stops the writer. */
  @Override
  public void close() {
    closing = true;
    try {
      writer.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (!queue.isEmpty()) {
      log.warn("{}@{}: {} requests not logged at close", name, alias, queue.size());
    }
  }
}
