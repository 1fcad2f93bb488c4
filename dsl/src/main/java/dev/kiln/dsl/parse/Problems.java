package dev.kiln.dsl.parse;

import dev.kiln.dsl.model.Location;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;

/** Collects problems while validation goes on; reports them sorted and without repeats. */
public final class Problems {
  /**
   * Suggestions compare against every candidate; past this many comparisons a file full of typos
   * (10,000 bad needs against 10,000 steps) stops paying for them and gets plain messages.
   */
  private static final long SUGGESTION_BUDGET = 2_000_000;

  private final String file;
  private final List<Problem> list = new ArrayList<>();
  private long suggestionsLeft = SUGGESTION_BUDGET;

  public Problems(String file) {
    this.file = file;
  }

  public String file() {
    return file;
  }

  public void add(Location location, String message) {
    list.add(new Problem(location, message));
  }

  public void add(YNode node, String message) {
    add(node.location(), message);
  }

  public void addFile(String message) {
    list.add(Problem.ofFile(file, message));
  }

  public boolean isEmpty() {
    return list.isEmpty();
  }

  /** A " — did you mean 'x'?" hint, or "" when nothing is close or the budget is spent. */
  public String suggest(String wrong, Collection<String> candidates) {
    String best = closest(wrong, candidates);
    return best == null ? "" : " — did you mean '" + best + "'?";
  }

  /** The closest candidate within two edits, or null (also when the budget is spent). */
  String closest(String wrong, Collection<String> candidates) {
    if (suggestionsLeft <= 0) {
      return null;
    }
    suggestionsLeft -= Math.max(1, candidates.size());
    return Suggest.closest(wrong, candidates);
  }

  /** Every problem once, by line and column. */
  public List<Problem> sorted() {
    List<Problem> copy = new ArrayList<>(new LinkedHashSet<>(list));
    copy.sort(
        Comparator.comparingInt((Problem p) -> p.location().line())
            .thenComparingInt(p -> p.location().column()));
    return copy;
  }
}
