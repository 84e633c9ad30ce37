// A plugin's options JSON Schema (as schemars writes it) as rows of a readable table: name,
// type, required, default, description. Nested objects become `parent.child` rows.

/** The subset of JSON Schema the plugins' options use. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  $ref?: string;
  writeOnly?: boolean;
}

export interface OptionRow {
  /** `path`, or `storage.endpoint` for a nested option. */
  name: string;
  type: string;
  required: boolean;
  /** The default as JSON, or '' when there is none (or it is null). */
  defaultValue: string;
  description: string;
  /** A secret: the server never shows its value (`writeOnly`). */
  secret: boolean;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** A schema's type in words: `string`, `integer | string`, `list of string`, `"a" | "b"`, … */
export function typeText(schema: JsonSchema): string {
  if (schema.const !== undefined) {
    return JSON.stringify(schema.const);
  }
  if (schema.enum !== undefined) {
    return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  }
  if (schema.$ref !== undefined) {
    return schema.$ref.split('/').pop() ?? schema.$ref;
  }
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants !== undefined) {
    const texts = variants.filter((variant) => variant.type !== 'null').map(variantText);
    return unique(texts).join(' | ') || 'any';
  }
  const types = (Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type])
    .filter((type) => type !== 'null');
  if (types.length === 0) {
    return 'any';
  }
  return types
    .map((type) => {
      if (type === 'array' && schema.items !== undefined) {
        return `list of ${typeText(schema.items)}`;
      }
      if (type === 'object' && typeof schema.additionalProperties === 'object' && schema.properties === undefined) {
        return `map of ${typeText(schema.additionalProperties)}`;
      }
      return type;
    })
    .join(' | ');
}

/** One variant of a oneOf/anyOf: an object variant is named by its `type` constant. */
function variantText(schema: JsonSchema): string {
  const tag = schema.properties?.type?.const;
  if (typeof tag === 'string') {
    return `{type: ${tag}}`;
  }
  return typeText(schema);
}

function defaultText(value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  return JSON.stringify(value);
}

/** The rows of an options schema, nested objects (with `properties`) flattened. */
export function optionRows(schema: JsonSchema, prefix = ''): OptionRow[] {
  const rows: OptionRow[] = [];
  const required = new Set(schema.required ?? []);
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const name = prefix === '' ? key : `${prefix}.${key}`;
    rows.push({
      name,
      type: property.properties !== undefined ? 'object' : typeText(property),
      required: required.has(key),
      defaultValue: defaultText(property.default),
      description: property.description ?? '',
      secret: property.writeOnly === true,
    });
    if (property.properties !== undefined) {
      rows.push(...optionRows(property, name));
    }
  }
  return rows;
}
