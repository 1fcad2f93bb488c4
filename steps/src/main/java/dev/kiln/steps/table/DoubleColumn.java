package dev.kiln.steps.table;

import java.util.ArrayList;
import java.util.List;

/**
 * A numeric column's non-null values as {@link Table#scan} read them: blocks that double in size up
 * to {@link #MAX_BLOCK}, so that growing never copies what is already there and the column needs no
 * row count up front. A reader copies the values out once ({@link #copyTo}) and lets the column go.
 */
public final class DoubleColumn {
  /**
   * 256 KB: under half of G1's smallest region, so a block is never a humongous object, and over
   * the 128 KB above which the launcher has {@code kiln drift}'s collector place new arrays
   * straight in the old generation, so the blocks of a large column are never copied by a young
   * collection.
   */
  private static final int MAX_BLOCK = 1 << 15;

  private final List<double[]> full = new ArrayList<>();
  private double[] block = new double[1 << 10];
  private int used;
  private int size;

  void add(double v) {
    if (used == block.length) {
      if (size > Integer.MAX_VALUE - MAX_BLOCK) {
        throw new IllegalStateException("more than " + size + " values in one column");
      }
      full.add(block);
      block = new double[Math.min(MAX_BLOCK, block.length * 2)];
      used = 0;
    }
    block[used++] = v;
    size++;
  }

  /** The number of values. */
  public int size() {
    return size;
  }

  /** Copies the values, in the order read, to the start of {@code dest}. */
  public void copyTo(double[] dest) {
    int at = 0;
    for (double[] b : full) {
      System.arraycopy(b, 0, dest, at, b.length);
      at += b.length;
    }
    System.arraycopy(block, 0, dest, at, used);
  }

  /** The values as a new array of {@link #size} values. */
  public double[] toArray() {
    double[] out = new double[size];
    copyTo(out);
    return out;
  }
}
