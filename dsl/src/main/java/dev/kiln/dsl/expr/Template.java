package dev.kiln.dsl.expr;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A string that may embed any number of {@code ${{ expr }}}: a {@code run} command, a {@code with}
 * value, an env value. Immutable and safe to share; parse once, render per run.
 */
public final class Template {
  private static final String OPEN = "${{";

  private sealed interface Part {}

  private record Text(String text) implements Part {}

  private record Code(Expr expr) implements Part {}

  private final String source;
  private final List<Part> parts;
  private final List<Expr.Ref> refs;

  private Template(String source, List<Part> parts, List<Expr.Ref> refs) {
    this.source = source;
    this.parts = parts;
    this.refs = refs;
  }

  public static Template parse(String text) throws ExprException {
    List<Part> parts = new ArrayList<>();
    List<Expr.Ref> refs = new ArrayList<>();
    int pos = 0;
    while (true) {
      int open = text.indexOf(OPEN, pos);
      if (open < 0) {
        if (pos < text.length()) {
          parts.add(new Text(text.substring(pos)));
        }
        break;
      }
      if (open > pos) {
        parts.add(new Text(text.substring(pos, open)));
      }
      ExprParser.Parsed parsed = ExprParser.inTemplate(text, open);
      parts.add(new Code(parsed.expr()));
      collectRefs(parsed.expr(), refs);
      pos = parsed.end();
    }
    return new Template(text, List.copyOf(parts), List.copyOf(refs));
  }

  /** The text with every expression replaced by its value (see {@link Values#toText}). */
  public String render(Resolver resolver) throws EvalException {
    if (parts.size() == 1 && parts.get(0) instanceof Text t) {
      return t.text();
    }
    StringBuilder sb = new StringBuilder();
    for (Part part : parts) {
      if (part instanceof Text t) {
        sb.append(t.text());
      } else {
        sb.append(Values.toText(((Code) part).expr().eval(resolver)));
      }
    }
    return sb.toString();
  }

  /** Names the environment variable that will carry an expression's value when the shell runs. */
  @FunctionalInterface
  public interface Binding {
    /**
     * @param number the reference is inside {@code $(( ))}, where the shell evaluates the value as
     *     arithmetic: the binding must refuse anything but a number
     */
    String variable(Expr expr, boolean number) throws EvalException;
  }

  /**
   * The text as a POSIX shell script in which no value is code: each expression becomes a reference
   * to the environment variable {@code binding} names for it, quoted for the shell's quoting state
   * at that point ({@code "${V}"} outside quotes, {@code ${V}} inside double quotes, {@code
   * '"${V}"'} inside single quotes), so it expands to exactly the value, as one word, and the shell
   * never parses the value. The caller sets the variables.
   *
   * @throws EvalException where no reference can work (inside a quoted here-document, or right
   *     after a backslash), or when {@code binding} fails
   */
  public String renderShell(Binding binding) throws EvalException {
    ShellQuoting quoting = new ShellQuoting();
    StringBuilder sb = new StringBuilder();
    for (Part part : parts) {
      if (part instanceof Text t) {
        quoting.feed(t.text());
        sb.append(t.text());
      } else {
        String variable = binding.variable(((Code) part).expr(), quoting.arithmetic());
        sb.append(quoting.reference(variable));
      }
    }
    return sb.toString();
  }

  /** The literal texts (as String) and expressions (as {@link Expr}) in order. */
  public List<Object> segments() {
    List<Object> out = new ArrayList<>(parts.size());
    for (Part part : parts) {
      out.add(part instanceof Text t ? t.text() : ((Code) part).expr());
    }
    return out;
  }

  /**
   * The typed value when the text is exactly one expression ({@code "${{ params.n }}"} gives the
   * number itself), else the rendered string.
   */
  public Object evaluate(Resolver resolver) throws EvalException {
    if (parts.size() == 1 && parts.get(0) instanceof Code c) {
      return c.expr().eval(resolver);
    }
    return render(resolver);
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

  /** True when the text has no expression at all. */
  public boolean isConstant() {
    for (Part part : parts) {
      if (part instanceof Code) {
        return false;
      }
    }
    return true;
  }

  public String source() {
    return source;
  }

  static void collectRefs(Expr root, List<Expr.Ref> out) {
    // Iterative walk: the AST is shallow, but nothing here should depend on that.
    List<Expr> stack = new ArrayList<>();
    stack.add(root);
    while (!stack.isEmpty()) {
      Expr e = stack.remove(stack.size() - 1);
      if (e instanceof Expr.Ref r) {
        out.add(r);
      } else if (e instanceof Expr.Not n) {
        stack.add(n.operand());
      } else if (e instanceof Expr.Compare c) {
        stack.add(c.right());
        stack.add(c.left());
      } else if (e instanceof Expr.And a) {
        pushReversed(a.operands(), stack);
      } else if (e instanceof Expr.Or o) {
        pushReversed(o.operands(), stack);
      }
    }
  }

  private static void pushReversed(List<Expr> operands, List<Expr> stack) {
    for (int i = operands.size() - 1; i >= 0; i--) {
      stack.add(operands.get(i));
    }
  }

  @Override
  public String toString() {
    return source;
  }
}
