package dev.kiln.dsl.parse;

import java.util.Locale;

/** "Did you mean" by edit distance, the way git and cargo do it. */
final class Suggest {
  static final int MAX_DISTANCE = 2;

  private Suggest() {}

  /**
   * The candidate within {@link #MAX_DISTANCE} edits of {@code wrong} (first of the closest), or
   * null; never a candidate that shares nothing with it.
   */
  static String closest(String wrong, Iterable<String> candidates) {
    String best = null;
    int bestDistance = MAX_DISTANCE + 1;
    for (String c : candidates) {
      if (c.equals(wrong)) {
        continue;
      }
      int d = distance(wrong, c, bestDistance - 1);
      // A distance as long as the word itself means nothing is shared: 'zz' is not close to 'a'.
      if (d < bestDistance && d < wrong.length() && d < c.length()) {
        best = c;
        bestDistance = d;
      }
    }
    return best;
  }

  /**
   * Levenshtein distance, case-insensitive so that {@code Needs} finds {@code needs}; returns
   * {@code limit + 1} as soon as the distance must exceed {@code limit}.
   */
  static int distance(String a, String b, int limit) {
    if (Math.abs(a.length() - b.length()) > limit) {
      return limit + 1;
    }
    String s = a.toLowerCase(Locale.ROOT);
    String t = b.toLowerCase(Locale.ROOT);
    int[] prev = new int[t.length() + 1];
    int[] cur = new int[t.length() + 1];
    for (int j = 0; j <= t.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= s.length(); i++) {
      cur[0] = i;
      int rowMin = cur[0];
      for (int j = 1; j <= t.length(); j++) {
        int cost = s.charAt(i - 1) == t.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
        rowMin = Math.min(rowMin, cur[j]);
      }
      if (rowMin > limit) {
        return limit + 1;
      }
      int[] swap = prev;
      prev = cur;
      cur = swap;
    }
    return prev[t.length()];
  }
}
