/**
 * The official W3C files in ../shared/spec (see its README): tests validate against these
 * originals, not only against the copies bundled in schemas/ and contexts/.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SPEC = fileURLToPath(new URL('../../../shared/spec/', import.meta.url));

export const readSpecJson = (path: string): unknown => JSON.parse(readFileSync(SPEC + path, 'utf8'));
export const readSpecText = (path: string): string => readFileSync(SPEC + path, 'utf8');

/** The TD 1.1 Recommendation's JSON Schema, from shared/spec. */
export const W3C_TD_SCHEMA = (): object => readSpecJson('td-1.1/td-json-schema-validation.json') as object;
