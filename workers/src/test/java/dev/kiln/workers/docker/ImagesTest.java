package dev.kiln.workers.docker;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What a missing image's message says to do, without a Docker engine. */
class ImagesTest {
  @Test
  void kilnImagesPointAtTheirBuildScriptAndOthersAtDockerBuildOrLoad() {
    assertThat(Images.howToBuild("kiln/python-ml:1"))
        .isEqualTo(
            "build it with deploy/images/build.sh (or deploy/images/python-ml/build.sh"
                + " kiln/python-ml:1)");
    assertThat(Images.howToBuild("kiln/postgres:1"))
        .startsWith("build it with deploy/images/build.sh all (");
    assertThat(Images.howToBuild("acme/train:2"))
        .isEqualTo(
            "build it here (docker build -t acme/train:2 DIR) or load it (docker load -i FILE)");
  }
}
