package dev.kiln.engine.util;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {
  @Test
  void startRunsTheTaskOnAStartedDaemonThreadOfThatName() throws Exception {
    CompletableFuture<Thread> ran = new CompletableFuture<>();
    Thread t = DaemonThreads.start("kiln-test-start", () -> ran.complete(Thread.currentThread()));
    assertThat(ran.get(10, TimeUnit.SECONDS)).isSameAs(t);
    assertThat(t.isDaemon()).isTrue();
    assertThat(t.getName()).isEqualTo("kiln-test-start");
  }

  @Test
  void namedGivesAnExecutorDaemonThreadsOfThatName() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2, DaemonThreads.named("kiln-test-pool"));
    try {
      Thread t = pool.submit(Thread::currentThread).get(10, TimeUnit.SECONDS);
      assertThat(t.isDaemon()).isTrue();
      assertThat(t.getName()).isEqualTo("kiln-test-pool");
    } finally {
      pool.shutdownNow();
    }
  }
}
