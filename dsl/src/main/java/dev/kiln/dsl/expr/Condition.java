package dev.kiln.dsl.expr;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A step's {@code if:}: one expression, written as {@code ${{ expr }}} or bare. Text mixed with
 * {@code ${{ }}} is rejected rather than rendered, because a rendered string is always truthy and
 * the step would run whatever the expression says.
 */
public final class Condition {
  private final String source;
  private final Expr expr;
  private final List<Expr.Ref> refs;

  private Condition(String source, Expr expr) {
    this.source = source;
    this.expr = expr;
    List<Expr.Ref> found = new ArrayList<>();
    Template.collectRefs(expr, found);
    this.refs = List.copyOf(found);
  }

  public static Condition parse(String text) throws ExprException {
    if (text.isBlank()) {
      throw new ExprException("empty condition", 0);
    }
    int open = text.indexOf("${{");
    if (open < 0) {
      return new Condition(text, ExprParser.bare(text));
    }
    int lead = firstNonBlank(text, 0);
    if (lead < open) {
      throw mixed(lead);
    }
    ExprParser.Parsed parsed = ExprParser.inTemplate(text, open);
    int trail = firstNonBlank(text, parsed.end());
    if (trail < text.length()) {
      throw mixed(trail);
    }
    return new Condition(text, parsed.expr());
  }

  public boolean test(Resolver resolver) throws EvalException {
    return Values.truthy(expr.eval(resolver));
  }

  /** Every distinct reference path, in order of first appearance. */
  public List<List<String>> references() {
    Set<List<String>> paths = new LinkedHashSet<>();
    for (Expr.Ref r : refs) {
      paths.add(r.path());
    }
    return List.copyOf(paths);
  }

  /** Every reference with its 0-based column in the source text, for error messages. */
  public List<Expr.Ref> referenceSites() {
    return refs;
  }

  public Expr expr() {
    return expr;
  }

  public String source() {
    return source;
  }

  private static ExprException mixed(int column) {
    return new ExprException(
        "a condition is one expression: put all of it inside a single ${{ }}", column);
  }

  private static int firstNonBlank(String s, int from) {
    int i = from;
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
      i++;
    }
    return i;
  }

  @Override
  public String toString() {
    return source;
  }
}
