package dev.kiln.workers.docker;

import com.github.dockerjava.api.model.WaitResponse;

/** The engine's answer to "wait for this container": its exit status, or why there is none. */
final class ExitWait extends EngineStream<WaitResponse> {
  private volatile WaitResponse response;

  @Override
  public void onNext(WaitResponse r) {
    response = r;
  }

  /** The exit status; throws with the engine's reason when the wait ended without one. */
  int statusCode() {
    WaitResponse r = response;
    if (r == null || r.getStatusCode() == null) {
      String why = error() != null ? DockerEngine.oneLine(error()) : "no exit status";
      throw new IllegalStateException("waiting for the container failed: " + why);
    }
    return r.getStatusCode();
  }
}
