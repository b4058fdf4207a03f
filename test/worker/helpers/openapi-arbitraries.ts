// fast-check arbitraries built from the service's own OpenAPI document: values that follow a
// schema (so requests get past validation and reach the services) and values that break it.
import fc from "fast-check";

export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  example?: unknown;
};

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface OpenApiOperation {
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { required?: boolean; content: Record<string, { schema?: JsonSchema }> };
}

/** Inputs that have broken parsers, queries and logs elsewhere: SQL, paths, markup, odd Unicode. */
export const HOSTILE_STRINGS = [
  "' OR 1=1--",
  "'; DROP TABLE users;--",
  "../../etc/passwd",
  "..%2F..%2F",
  "<script>alert(1)</script>",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text is the attack.
  "${jndi:ldap://x}",
  "{{7*7}}",
  "%00",
  "\u0000",
  "\uD800",
  "\u202Eevil",
  "a".repeat(5000),
  "🔐".repeat(300),
  "null",
  "[]",
  "{}",
  "__proto__",
  "constructor",
  "a@x.io,b@y.io",
  " ",
  "",
];

export const hostileString = fc.constantFrom(...HOSTILE_STRINGS);

function resolve(schema: JsonSchema, document: OpenApiDocument): JsonSchema {
  if (schema.$ref === undefined) return schema;
  const name = schema.$ref.split("/").at(-1) ?? "";
  return document.components?.schemas?.[name] ?? {};
}

function stringFor(schema: JsonSchema, fieldName: string): fc.Arbitrary<string> {
  if (schema.enum !== undefined) return fc.constantFrom(...(schema.enum as string[]));
  const choices: fc.Arbitrary<string>[] = [];
  if (typeof schema.example === "string") choices.push(fc.constant(schema.example));
  if (schema.pattern !== undefined) {
    try {
      choices.push(fc.stringMatching(new RegExp(schema.pattern)));
    } catch {
      // A pattern JavaScript cannot compile: fall back to plain strings.
    }
  }
  if (schema.format === "email" || /email|identifier|destination/.test(fieldName)) {
    choices.push(fc.stringMatching(/^[a-z][a-z0-9._-]{0,15}@example\.(com|org)$/), fc.emailAddress());
  }
  if (schema.format === "uuid" || /(^|_)id$/.test(fieldName)) choices.push(fc.uuid());
  if (schema.format === "uri" || /url|redirect/.test(fieldName)) choices.push(fc.webUrl());
  if (/password/.test(fieldName)) choices.push(fc.string({ minLength: 12, maxLength: 40 }));
  if (/code/.test(fieldName)) choices.push(fc.stringMatching(/^[0-9]{6}$/));
  choices.push(fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 80) }));
  return fc.oneof(...choices);
}

/** Values that satisfy `schema` as far as a generator can tell from the document. */
export function arbitraryFromSchema(
  schema: JsonSchema,
  document: OpenApiDocument,
  fieldName = "",
  depth = 0,
): fc.Arbitrary<unknown> {
  const resolved = resolve(schema, document);
  if (resolved.const !== undefined) return fc.constant(resolved.const);
  if (resolved.enum !== undefined) return fc.constantFrom(...resolved.enum);
  const variants = resolved.anyOf ?? resolved.oneOf;
  if (variants !== undefined && variants.length > 0) {
    return fc.oneof(...variants.map((variant) => arbitraryFromSchema(variant, document, fieldName, depth + 1)));
  }
  if (resolved.allOf !== undefined && resolved.allOf.length > 0) {
    return arbitraryFromSchema(resolved.allOf[0] as JsonSchema, document, fieldName, depth + 1);
  }

  const types = Array.isArray(resolved.type) ? resolved.type : [resolved.type ?? "object"];
  const arbitraries = types.map((type): fc.Arbitrary<unknown> => {
    switch (type) {
      case "null":
        return fc.constant(null);
      case "string":
        return stringFor(resolved, fieldName);
      case "integer":
        return fc.integer({ min: resolved.minimum ?? -1000, max: resolved.maximum ?? 1000 });
      case "number":
        return fc.double({ min: resolved.minimum ?? -1000, max: resolved.maximum ?? 1000, noNaN: true });
      case "boolean":
        return fc.boolean();
      case "array":
        if (depth > 4) return fc.constant([]);
        return fc.array(arbitraryFromSchema(resolved.items ?? {}, document, fieldName, depth + 1), {
          minLength: resolved.minItems ?? 0,
          maxLength: Math.min(resolved.maxItems ?? 3, 3),
        });
      default: {
        if (depth > 4 || resolved.properties === undefined)
          return fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 });
        const model = Object.fromEntries(
          Object.entries(resolved.properties).map(([name, property]) => [
            name,
            arbitraryFromSchema(property, document, name, depth + 1),
          ]),
        );
        return fc.record(model, { requiredKeys: resolved.required ?? [] });
      }
    }
  });
  return arbitraries.length === 1 ? (arbitraries[0] as fc.Arbitrary<unknown>) : fc.oneof(...arbitraries);
}

/** Generate bodies that break the schema: a field dropped, retyped or added, or another JSON value. */
export function invalidBody(schema: JsonSchema | undefined, document: OpenApiDocument): fc.Arbitrary<unknown> {
  const anyJson = fc.oneof(fc.jsonValue(), hostileString);
  if (schema === undefined) return anyJson;
  const valid = arbitraryFromSchema(schema, document);
  const serverOwnedField = fc.constantFrom("role", "status", "is_email_verified", "user_id", "id", "__proto__");
  return fc.oneof(
    anyJson,
    fc
      .tuple(valid, serverOwnedField, fc.jsonValue())
      .map(([body, field, value]) =>
        typeof body === "object" && body !== null && !Array.isArray(body) ? { ...body, [field]: value } : body,
      ),
    fc.tuple(valid, fc.nat(), fc.oneof(fc.jsonValue(), hostileString)).map(([body, index, value]) => {
      if (typeof body !== "object" || body === null || Array.isArray(body)) return value;
      const keys = Object.keys(body);
      if (keys.length === 0) return value;
      const key = keys[index % keys.length] as string;
      return index % 2 === 0
        ? { ...body, [key]: value }
        : Object.fromEntries(
            keys.filter((name) => name !== key).map((name) => [name, (body as Record<string, unknown>)[name]]),
          );
    }),
  );
}
