package dev.kiln.engine;

import dev.kiln.engine.artifact.ArtifactStore;
import dev.kiln.engine.cache.ResultCache;
import dev.kiln.engine.config.KilnConfig;
import dev.kiln.engine.registry.DatasetRegistry;
import dev.kiln.engine.registry.Experiments;
import dev.kiln.engine.registry.ModelRegistry;
import dev.kiln.engine.run.Leases;
import dev.kiln.engine.run.RunService;
import dev.kiln.engine.store.Database;
import dev.kiln.engine.store.RunStore;
import dev.kiln.engine.store.SideEffects;
import dev.kiln.engine.store.TaskQueue;

/** The services of one kiln process over one state store. */
public final class Engine implements AutoCloseable {
  private final KilnConfig config;
  private final Database db;
  private final ArtifactStore artifacts;
  private final RunService runs;
  private final Leases leases;
  private final RunStore store;
  private final TaskQueue queue;
  private final DatasetRegistry datasets;
  private final ModelRegistry models;
  private final Experiments experiments;
  private final ResultCache cache;
  private final SideEffects sideEffects;

  public Engine(KilnConfig config, Database db) {
    this.config = config;
    this.db = db;
    this.artifacts = ArtifactStore.open(config);
    this.runs = new RunService(db, artifacts);
    this.leases = new Leases(db, runs);
    this.store = new RunStore(db);
    this.queue = new TaskQueue(db);
    this.datasets = new DatasetRegistry(db);
    this.models = new ModelRegistry(db);
    this.experiments = new Experiments(db);
    this.cache = new ResultCache(db, artifacts);
    this.sideEffects = new SideEffects(db);
  }

  public static Engine open(KilnConfig config, int poolSize) {
    return new Engine(config, Database.open(config, poolSize));
  }

  /**
   * The engine of a command that makes a few statements and exits ({@code kiln runs}, {@code kiln
   * models list}, ...): over one plain connection ({@link Database#openForCommand}).
   */
  public static Engine forCommand(KilnConfig config) {
    return new Engine(config, Database.openForCommand(config));
  }

  public KilnConfig config() {
    return config;
  }

  public Database db() {
    return db;
  }

  public ArtifactStore artifacts() {
    return artifacts;
  }

  public RunService runs() {
    return runs;
  }

  /** Reaping and releasing tasks, and the drivers of runs. */
  public Leases leases() {
    return leases;
  }

  /** Exactly-once effects of built-in steps (model versions, alias moves, child runs). */
  public SideEffects sideEffects() {
    return sideEffects;
  }

  public RunStore store() {
    return store;
  }

  public TaskQueue queue() {
    return queue;
  }

  public DatasetRegistry datasets() {
    return datasets;
  }

  public ModelRegistry models() {
    return models;
  }

  public ResultCache cache() {
    return cache;
  }

  public Experiments experiments() {
    return experiments;
  }

  @Override
  public void close() {
    artifacts.close();
    db.close();
  }
}
