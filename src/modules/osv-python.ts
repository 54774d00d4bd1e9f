/**
 * A parser for the small part of Python that OSv module.py files use: imports,
 * `name = expression` and call statements, with strings (adjacent ones joined,
 * f-strings with {name}), numbers, lists, tuples, dicts, attribute access,
 * calls with keyword arguments, `+` and `%` formatting. Nothing is ever executed. A statement
 * outside this subset (if, for, def, other operators, subscripts) comes back
 * as `unsupported` with its lines, so the importer can list it.
 */

export type Expr =
  | { kind: 'str'; value: string; parts?: readonly (string | { name: string })[] }
  | { kind: 'num'; value: number }
  | { kind: 'const'; value: boolean | null }
  | { kind: 'name'; id: string }
  | { kind: 'attr'; object: Expr; name: string }
  | { kind: 'call'; fn: Expr; args: readonly Expr[]; kwargs: readonly (readonly [string, Expr])[] }
  | { kind: 'list'; items: readonly Expr[] }
  | { kind: 'dict'; entries: readonly (readonly [Expr, Expr])[] }
  | { kind: 'add'; left: Expr; right: Expr }
  | { kind: 'format'; left: Expr; right: Expr }; // 'text %s' % value

export type Statement =
  | { kind: 'import'; from?: string; names: readonly string[]; line: number; endLine: number }
  | { kind: 'assign'; target: string; value: Expr; line: number; endLine: number }
  | { kind: 'expr'; value: Expr; line: number; endLine: number }
  | { kind: 'unsupported'; reason: string; line: number; endLine: number };

interface Token {
  readonly type: 'name' | 'str' | 'fstr' | 'num' | 'op';
  readonly value: string;
  readonly line: number;
}

class ParseError extends Error {}

const compound = new Set(['if', 'elif', 'else', 'for', 'while', 'def', 'class', 'with', 'try', 'except', 'finally', 'return', 'global', 'del', 'assert', 'raise', 'lambda', 'pass']);

/** Split module.py into statements (logical lines), each parsed or marked unsupported. */
export function parseModulePy(text: string): Statement[] {
  const out: Statement[] = [];
  let tokens: Token[] = [];
  let depth = 0;
  let startLine = 1;
  let indented = false;
  let inBlock = false; // inside the indented body of an unsupported compound statement
  let line = 1;
  let atLineStart = true;
  let lexError: string | undefined;
  const flush = (endLine: number) => {
    if (tokens.length === 0 && !lexError) return;
    const first = tokens[0];
    let st: Statement;
    if (lexError) st = { kind: 'unsupported', reason: lexError, line: startLine, endLine };
    else if (indented && inBlock) st = { kind: 'unsupported', reason: 'inside the block above', line: startLine, endLine };
    else if (indented) st = { kind: 'unsupported', reason: 'an indented statement', line: startLine, endLine };
    else if (first?.type === 'name' && compound.has(first.value)) {
      st = { kind: 'unsupported', reason: `Python ${first.value} statements are not translated`, line: startLine, endLine };
      inBlock = tokens[tokens.length - 1]?.value === ':';
    } else {
      inBlock = false;
      st = parseStatement(tokens, startLine, endLine);
    }
    out.push(st);
    tokens = [];
    lexError = undefined;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (atLineStart && depth === 0 && tokens.length === 0) {
      // Measure indentation of a new logical line (blank and comment-only lines do not count).
      let j = i;
      while (text[j] === ' ' || text[j] === '\t') j++;
      if (text[j] !== '\n' && text[j] !== '#' && j < text.length) {
        indented = j > i;
        startLine = line;
      }
      atLineStart = false;
      i = j;
      continue;
    }
    if (c === '\n') {
      line++;
      atLineStart = true;
      if (depth === 0) flush(line - 1);
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    const str = /^([rRuUbBfF]{0,2})('''|"""|'|")/.exec(text.slice(i, i + 5));
    if (str) {
      const prefix = str[1]!.toLowerCase();
      const quote = str[2]!;
      let j = i + str[0].length;
      let value = '';
      const raw = prefix.includes('r');
      for (;;) {
        if (j >= text.length) {
          lexError = 'a string that never ends';
          break;
        }
        if (text.startsWith(quote, j)) {
          j += quote.length;
          break;
        }
        const ch = text[j]!;
        if (ch === '\n') {
          if (quote.length === 1) {
            lexError = 'a string that never ends';
            break;
          }
          line++;
        }
        if (ch === '\\' && !raw) {
          const next = text[j + 1] ?? '';
          const esc: Record<string, string> = { n: '\n', t: '\t', '\\': '\\', "'": "'", '"': '"', '\n': '' };
          if (next === '\n') line++;
          value += esc[next] ?? `\\${next}`;
          j += 2;
          continue;
        }
        value += ch;
        j++;
      }
      tokens.push({ type: prefix.includes('f') ? 'fstr' : 'str', value, line });
      i = j;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 200));
    if (word) {
      tokens.push({ type: 'name', value: word[0], line });
      i += word[0].length;
      continue;
    }
    const num = /^[0-9][0-9_.]*/.exec(text.slice(i, i + 50));
    if (num) {
      tokens.push({ type: 'num', value: num[0], line });
      i += num[0].length;
      continue;
    }
    const op = /^(\*\*=|\/\/=|==|!=|<=|>=|\+=|-=|\*=|\/=|%=|\*\*|\/\/|->|:=|[()[\]{},:.=+\-*/%<>@|&^~;!])/.exec(text.slice(i, i + 3));
    const value = op ? op[0] : c;
    if ('([{'.includes(value)) depth++;
    if (')]}'.includes(value)) depth = Math.max(0, depth - 1);
    tokens.push({ type: 'op', value, line });
    i += value.length;
  }
  flush(line);
  return out;
}

function parseStatement(tokens: readonly Token[], line: number, endLine: number): Statement {
  const first = tokens[0]!;
  if (first.type === 'name' && (first.value === 'import' || first.value === 'from')) {
    const words = tokens.map((t) => t.value).filter((w) => w !== '(' && w !== ')');
    // `a.b as c, d` → ['a.b as c', 'd']
    const names = (ws: string[]) => ws.join(' ').replace(/ ?\. ?/g, '.').split(',').map((n) => n.trim()).filter(Boolean);
    if (first.value === 'import') return { kind: 'import', names: names(words.slice(1)), line, endLine };
    const at = words.indexOf('import');
    return { kind: 'import', from: words.slice(1, at).join(''), names: names(words.slice(at + 1)), line, endLine };
  }
  try {
    const p = new Parser(tokens);
    if (tokens.length >= 2 && first.type === 'name' && tokens[1]!.value === '=') {
      p.pos = 2;
      const value = p.expr();
      p.end();
      return { kind: 'assign', target: first.value, value, line, endLine };
    }
    const value = p.expr();
    p.end();
    return { kind: 'expr', value, line, endLine };
  } catch (err) {
    if (err instanceof ParseError) return { kind: 'unsupported', reason: err.message, line, endLine };
    throw err;
  }
}

class Parser {
  pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private take(value?: string): Token {
    const t = this.tokens[this.pos];
    if (!t || (value !== undefined && t.value !== value)) throw new ParseError(t ? `unexpected "${t.value}"` : `expected "${value}"`);
    this.pos++;
    return t;
  }

  end(): void {
    const t = this.peek();
    if (t && t.value !== ';') throw new ParseError(`"${t.value}" is not translated (only names, strings, lists, calls and + are)`);
    if (t && this.pos + 1 < this.tokens.length) throw new ParseError('several statements on one line');
  }

  expr(): Expr {
    let left = this.term();
    while (this.peek()?.value === '+') {
      this.take('+');
      left = { kind: 'add', left, right: this.term() };
    }
    return left;
  }

  /** `%` binds tighter than `+`, as in Python. */
  private term(): Expr {
    let left = this.postfix();
    while (this.peek()?.value === '%') {
      this.take('%');
      left = { kind: 'format', left, right: this.postfix() };
    }
    return left;
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      const t = this.peek();
      if (t?.value === '.') {
        this.take('.');
        const name = this.take();
        if (name.type !== 'name') throw new ParseError(`unexpected "${name.value}" after .`);
        e = { kind: 'attr', object: e, name: name.value };
      } else if (t?.value === '(') {
        this.take('(');
        const args: Expr[] = [];
        const kwargs: [string, Expr][] = [];
        while (this.peek()?.value !== ')') {
          const a = this.peek();
          if (a?.value === '*' || a?.value === '**') throw new ParseError('*args and **kwargs are not translated');
          if (a?.type === 'name' && this.tokens[this.pos + 1]?.value === '=') {
            this.pos += 2;
            kwargs.push([a.value, this.expr()]);
          } else args.push(this.expr());
          if (this.peek()?.value !== ')') this.take(',');
        }
        this.take(')');
        e = { kind: 'call', fn: e, args, kwargs };
      } else if (t?.value === '[') {
        throw new ParseError('subscripts ([...]) are not translated');
      } else return e;
    }
  }

  private primary(): Expr {
    const t = this.take();
    if (t.type === 'str' || t.type === 'fstr') {
      // Adjacent string literals are one string.
      let e = stringExpr(t);
      while (this.peek()?.type === 'str' || this.peek()?.type === 'fstr') e = { kind: 'add', left: e, right: stringExpr(this.take()) };
      return e;
    }
    if (t.type === 'num') {
      const n = Number(t.value.replace(/_/g, ''));
      if (Number.isNaN(n)) throw new ParseError(`the number ${t.value} is not translated`);
      return { kind: 'num', value: n };
    }
    if (t.type === 'name') {
      if (t.value === 'True' || t.value === 'False') return { kind: 'const', value: t.value === 'True' };
      if (t.value === 'None') return { kind: 'const', value: null };
      if (compound.has(t.value) || ['and', 'or', 'not', 'in', 'is'].includes(t.value)) throw new ParseError(`"${t.value}" is not translated`);
      return { kind: 'name', id: t.value };
    }
    if (t.value === '[' || t.value === '(') {
      const close = t.value === '[' ? ']' : ')';
      const items: Expr[] = [];
      while (this.peek()?.value !== close) {
        items.push(this.expr());
        if (this.peek()?.value === 'for') throw new ParseError('comprehensions are not translated');
        if (this.peek()?.value !== close) this.take(',');
      }
      this.take(close);
      return items.length === 1 && t.value === '(' ? items[0]! : { kind: 'list', items };
    }
    if (t.value === '{') {
      const entries: [Expr, Expr][] = [];
      while (this.peek()?.value !== '}') {
        const k = this.expr();
        this.take(':');
        entries.push([k, this.expr()]);
        if (this.peek()?.value !== '}') this.take(',');
      }
      this.take('}');
      return { kind: 'dict', entries };
    }
    throw new ParseError(`"${t.value}" is not translated`);
  }
}

/** A string token; an f-string keeps its {name} fields (anything else in braces is unsupported). */
function stringExpr(t: Token): Expr {
  if (t.type === 'str') return { kind: 'str', value: t.value };
  const parts: (string | { name: string })[] = [];
  const re = /\{\{|\}\}|\{([^{}]*)\}|[^{}]+|[{}]/g;
  for (const m of t.value.matchAll(re)) {
    if (m[0] === '{{' || m[0] === '}}') parts.push(m[0][0]!);
    else if (m[1] !== undefined) {
      if (!/^\s*[A-Za-z_][A-Za-z0-9_]*\s*$/.test(m[1])) throw new ParseError(`the f-string field {${m[1]}} is not translated (only {name})`);
      parts.push({ name: m[1].trim() });
    } else if (m[0] === '{' || m[0] === '}') throw new ParseError('an unbalanced brace in an f-string');
    else parts.push(m[0]);
  }
  return { kind: 'str', value: t.value, parts };
}
