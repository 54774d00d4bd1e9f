/**
 * A YAML file a user wrote (tailor.yaml, module.yaml) as plain JS values.
 * Syntax errors and YAML's warnings (an unknown !tag, a tag on the wrong kind
 * of node) are UsageErrors that name the file and line; warnings are not
 * printed and then ignored. Reading the file itself is the caller's job, so
 * that it can say what the file is for.
 */
import YAML from 'yaml';
import { UsageError } from '../errors.ts';

export function parseYamlFile(text: string, file: string): unknown {
  const doc = YAML.parseDocument(text);
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const line = problem.linePos?.[0]?.line;
    throw new UsageError(`${file}${line ? `:${line}` : ''}: not valid YAML: ${problem.message}`);
  }
  try {
    return doc.toJS();
  } catch (err) {
    // Only aliases fail here (one with no anchor before it, or more expansions than YAML allows):
    // name the line of the first alias.
    let offset: number | undefined;
    YAML.visit(doc, {
      Alias(_, node) {
        offset = node.range?.[0];
        return YAML.visit.BREAK;
      },
    });
    const line = offset === undefined ? '' : `:${text.slice(0, offset).split('\n').length}`;
    throw new UsageError(`${file}${line}: not valid YAML: ${(err as Error).message}`);
  }
}
