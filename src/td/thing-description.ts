/**
 * Types for the parts of a W3C Thing Description 1.1 that Flowchain reads and writes
 * (TD 1.1, sections 5.3 "Class Definitions"). Pure types, no code.
 */

/** A JSON value as it travels over the wire. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** TD 1.1 §5.3.2.1 DataSchema, restricted to the JSON Schema terms the servient checks. */
export interface DataSchema {
  readonly type?: 'boolean' | 'integer' | 'number' | 'string' | 'object' | 'array' | 'null';
  readonly title?: string;
  readonly description?: string;
  readonly unit?: string;
  readonly const?: Json;
  readonly default?: Json;
  readonly enum?: readonly Json[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly multipleOf?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly items?: DataSchema | readonly DataSchema[];
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly properties?: Readonly<Record<string, DataSchema>>;
  readonly required?: readonly string[];
  readonly oneOf?: readonly DataSchema[];
  readonly readOnly?: boolean;
  readonly writeOnly?: boolean;
}

/** TD 1.1 §5.3.4.2 Form. */
export interface Form {
  readonly href: string;
  readonly op?: string | readonly string[];
  readonly contentType?: string;
  readonly subprotocol?: string;
  readonly security?: string | readonly string[];
  readonly 'htv:methodName'?: string;
  readonly [extra: string]: unknown;
}

/** TD 1.1 §5.3.1.2 InteractionAffordance, common to all three kinds. */
export interface InteractionAffordance {
  readonly title?: string;
  readonly description?: string;
  readonly forms?: readonly Form[];
  readonly [extra: string]: unknown;
}

/** TD 1.1 §5.3.1.3 PropertyAffordance: a data schema that is also an interaction affordance. */
export interface PropertyAffordance extends InteractionAffordance, DataSchema {
  readonly observable?: boolean;
  /** Flowchain term: `false` keeps this property's changes out of the ledger. */
  readonly recorded?: boolean;
}

/** TD 1.1 §5.3.1.4 ActionAffordance. */
export interface ActionAffordance extends InteractionAffordance {
  readonly input?: DataSchema;
  readonly output?: DataSchema;
  readonly safe?: boolean;
  readonly idempotent?: boolean;
  /** Whether the invocation answers with the result (true) or with a status to query (false). */
  readonly synchronous?: boolean;
}

/** TD 1.1 §5.3.1.5 EventAffordance. */
export interface EventAffordance extends InteractionAffordance {
  readonly data?: DataSchema;
}

/** TD 1.1 §5.3.1.1 Thing. Everything Flowchain does not interpret passes through untouched. */
export interface ThingDescription {
  readonly '@context': Json;
  readonly '@type'?: string | readonly string[];
  readonly id?: string;
  /** TD 1.1 §5.3.1.1: the profiles the Thing follows (WoT Profile, "Profiling Mechanism"). */
  readonly profile?: string | readonly string[];
  readonly title: string;
  readonly description?: string;
  readonly base?: string;
  readonly properties?: Readonly<Record<string, PropertyAffordance>>;
  readonly actions?: Readonly<Record<string, ActionAffordance>>;
  readonly events?: Readonly<Record<string, EventAffordance>>;
  readonly forms?: readonly Form[];
  readonly links?: readonly Record<string, unknown>[];
  readonly securityDefinitions?: Readonly<Record<string, Record<string, unknown>>>;
  readonly security?: string | readonly string[];
  readonly [extra: string]: unknown;
}

/**
 * What an application produces a Thing from (W3C WoT Scripting API's ExposedThingInit): a TD
 * without forms or security, whose `@context` may be left out (it is then TD 1.1's).
 */
export type ThingFragment = Omit<ThingDescription, '@context'> & { readonly '@context'?: Json };
