/**
 * A small typed description of JSON objects (field names, types, required
 * fields, bounds) and a checker that lists every way a value breaks one.
 * Used to write down the parts of foreign APIs Tailor generates (Firecracker's
 * configuration file, KubeVirt's VirtualMachine) and test against them.
 */

export type FieldSchema =
  | { readonly type: 'string'; readonly required?: boolean; readonly enum?: readonly string[] }
  | { readonly type: 'integer'; readonly required?: boolean; readonly minimum?: number; readonly maximum?: number }
  | { readonly type: 'boolean'; readonly required?: boolean }
  /** An object of string values with any keys (labels, resource requests). */
  | { readonly type: 'map'; readonly required?: boolean }
  | { readonly type: 'object'; readonly required?: boolean; readonly fields: ObjectSchema }
  | { readonly type: 'array'; readonly required?: boolean; readonly items: ObjectSchema };

export type ObjectSchema = Readonly<Record<string, FieldSchema>>;

/** Every way `value` breaks `schema`, as `path: problem` lines; [] when it conforms. */
export function objectSchemaProblems(value: unknown, schema: ObjectSchema, path = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path || '(top)'}: not an object`];
  const obj = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(obj)) {
    if (!Object.hasOwn(schema, key)) problems.push(`${path}${key}: unknown field`);
  }
  for (const [key, field] of Object.entries(schema)) {
    const at = `${path}${key}`;
    const v = obj[key];
    if (v === undefined) {
      if (field.required) problems.push(`${at}: required field missing`);
      continue;
    }
    switch (field.type) {
      case 'string':
        if (typeof v !== 'string') problems.push(`${at}: not a string`);
        else if (field.enum && !field.enum.includes(v)) problems.push(`${at}: "${v}" is not one of ${field.enum.join(', ')}`);
        break;
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v)) problems.push(`${at}: not an integer`);
        else if ((field.minimum !== undefined && v < field.minimum) || (field.maximum !== undefined && v > field.maximum)) {
          problems.push(`${at}: ${v} is outside ${field.minimum ?? '-inf'}..${field.maximum ?? 'inf'}`);
        }
        break;
      case 'map':
        if (typeof v !== 'object' || v === null || Array.isArray(v)) problems.push(`${at}: not an object`);
        else for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') problems.push(`${at}.${k}: not a string`);
        break;
      case 'boolean':
        if (typeof v !== 'boolean') problems.push(`${at}: not a boolean`);
        break;
      case 'object':
        problems.push(...objectSchemaProblems(v, field.fields, `${at}.`));
        break;
      case 'array':
        if (!Array.isArray(v)) problems.push(`${at}: not an array`);
        else v.forEach((item, i) => problems.push(...objectSchemaProblems(item, field.items, `${at}[${i}].`)));
        break;
    }
  }
  return problems;
}
