import { describe, expect, it } from 'vitest';
import { optionRows, typeText } from './schemaTable';

describe('typeText', () => {
  it('names plain, nullable, list and map types', () => {
    expect(typeText({ type: 'string' })).toBe('string');
    expect(typeText({ type: ['integer', 'null'] })).toBe('integer');
    expect(typeText({ type: 'array', items: { type: 'string' } })).toBe('list of string');
    expect(typeText({ type: 'object', additionalProperties: { type: 'string' } })).toBe('map of string');
    expect(typeText({})).toBe('any');
  });

  it('lists enum values, constants and variants', () => {
    expect(typeText({ type: 'string', enum: ['append', 'upsert'] })).toBe('"append" | "upsert"');
    expect(typeText({ oneOf: [{ type: 'string', enum: ['none', 'gzip'] }, { type: 'string', const: 'auto' }] }))
      .toBe('"none" | "gzip" | "auto"');
    expect(typeText({ anyOf: [{ type: 'integer' }, { type: 'string' }, { type: 'null' }] })).toBe('integer | string');
    expect(typeText({
      oneOf: [
        { type: 'object', properties: { type: { const: 'bearer' } } },
        { type: 'object', properties: { type: { const: 'basic' } } },
      ],
    })).toBe('{type: bearer} | {type: basic}');
    expect(typeText({ $ref: '#/$defs/Duration' })).toBe('Duration');
  });
});

describe('optionRows', () => {
  it('gives one row per option, nested objects flattened', () => {
    const rows = optionRows({
      type: 'object',
      required: ['path'],
      properties: {
        path: { type: 'string', description: 'Where.' },
        has_header: { type: 'boolean', default: true },
        password: { type: ['string', 'null'], writeOnly: true, default: null },
        storage: {
          type: 'object',
          properties: { endpoint: { type: 'string', description: 'S3 endpoint.' } },
        },
      },
    });
    expect(rows).toEqual([
      { name: 'path', type: 'string', required: true, defaultValue: '', description: 'Where.', secret: false },
      { name: 'has_header', type: 'boolean', required: false, defaultValue: 'true', description: '', secret: false },
      { name: 'password', type: 'string', required: false, defaultValue: '', description: '', secret: true },
      { name: 'storage', type: 'object', required: false, defaultValue: '', description: '', secret: false },
      { name: 'storage.endpoint', type: 'string', required: false, defaultValue: '', description: 'S3 endpoint.', secret: false },
    ]);
  });
});
