package dev.kiln.steps.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.engine.Engine;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.registry.ModelVersion;
import dev.kiln.engine.testing.TestDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRefsTest {
  @TempDir Path home;
  Engine engine;

  @BeforeEach
  void open() {
    engine = new Engine(KilnConfig.from(Map.of("KILN_HOME", home.toString())), TestDb.fresh());
  }

  @AfterEach
  void close() {
    engine.close();
  }

  @Test
  void resolvesVersionsAndAliasesAndRecordsTheSignatureFromTheArtifact() throws Exception {
    Models.register(engine, home.resolve("m"), "bc", 1, null);
    Models.register(engine, home.resolve("m"), "bc", 2, "production");
    assertThat(ModelRefs.resolve(engine.models(), "bc@1").version()).isEqualTo(1);
    ModelVersion prod = ModelRefs.resolve(engine.models(), "bc@production");
    assertThat(prod.version()).isEqualTo(2);
    ServingStore store = new ServingStore(engine.db());
    ModelInfo info = ModelRefs.info(store, engine.artifacts(), prod, null);
    assertThat(info.flavour()).isEqualTo("tribuo");
    assertThat(info.signature().names()).hasSize(30).contains("mean_radius", "worst_symmetry");
    assertThat(store.signature("bc", 2))
        .get()
        .extracting(ServingStore.Recorded::signature)
        .isEqualTo(info.signature());
  }

  @Test
  void badReferencesSayWhatIsWrong() throws Exception {
    Models.register(engine, home.resolve("m"), "bc", 1, null);
    assertThatThrownBy(() -> ModelRefs.resolve(engine.models(), "bc"))
        .hasMessage("'bc' is not NAME@VERSION or NAME@ALIAS");
    assertThatThrownBy(() -> ModelRefs.resolve(engine.models(), "nope@1"))
        .hasMessageStartingWith("no model 'nope'");
    assertThatThrownBy(() -> ModelRefs.resolve(engine.models(), "bc@7"))
        .hasMessage("model 'bc' has no version 7");
    assertThatThrownBy(() -> ModelRefs.resolve(engine.models(), "bc@production"))
        .hasMessageStartingWith("model 'bc' has no alias 'production'");
  }

  @Test
  void aCorruptedArtifactIsRefusedBeforeAnythingIsBuiltOrDownloaded() throws Exception {
    ModelVersion v = Models.register(engine, home.resolve("m"), "bc", 1, null);
    Path stored = engine.artifacts().path(v.artifactSha256());
    stored.toFile().setWritable(true);
    Files.write(stored, new byte[] {1, 2, 3});
    assertThatThrownBy(
            () -> ModelRefs.info(new ServingStore(engine.db()), engine.artifacts(), v, null))
        .isInstanceOf(ServeException.class)
        .hasMessageContaining("bc@1: its artifact is corrupted (sha256 ");
    Path out = home.resolve("download");
    assertThatThrownBy(() -> DownloadCommand.download(engine, v, out))
        .hasMessageContaining("corrupted");
    assertThat(out).doesNotExist();
  }

  @Test
  void anUnknownFlavourIsRefused() throws Exception {
    Path junk = home.resolve("junk.bin");
    Files.writeString(junk, "not a model");
    var s = engine.artifacts().put(junk);
    ModelVersion v =
        engine.models().register(ModelRegistry.NewVersion.ofFile(s, "junk", null, "t", null));
    assertThatThrownBy(
            () -> ModelRefs.info(new ServingStore(engine.db()), engine.artifacts(), v, null))
        .hasMessage("junk@1: unknown model flavour: not a Tribuo model nor a Python pickle");
  }

  @Test
  void downloadWritesTheArtifactAndItsDescription() throws Exception {
    ModelVersion v = Models.register(engine, home.resolve("m"), "bc", 1, "production");
    Path out = home.resolve("dl");
    Path file = DownloadCommand.download(engine, v, out);
    assertThat(file).isEqualTo(out.resolve("model.tribuo"));
    assertThat(dev.kiln.engine.artifact.ArtifactStore.sha256(file)).isEqualTo(v.artifactSha256());
    ModelInfo info = PredictMain.readInfo(out);
    assertThat(info.ref()).isEqualTo("bc@1");
    assertThat(PredictMain.load(out, info).signature().names()).hasSize(30);
  }
}
